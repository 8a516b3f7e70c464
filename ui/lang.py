"""The visitor's language: which one a run speaks, and where its words come from.

Each language has one wording table in two parts: ``ui.wording`` (English) or ``ui.wording_ru``
(Russian) for the shared sentences and the functions that build them (same names in both), and
``ui.texts_en`` or ``ui.texts_ru`` for each page's own labels (same keys in both). The choice is
the visitor's switch, else a link's ``lang=``, else the browser's language, else English.

Nothing here imports torch or Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from ui import texts_en, texts_ru, wording, wording_ru

EN, RU = "en", "ru"
# The switch's labels, each in its own language (a reader of either finds theirs).
LANGUAGES: dict[str, str] = {EN: "English", RU: "Русский"}
PARAM = "lang"  # the URL parameter that carries the language in a link

_WORDING = {EN: wording, RU: wording_ru}
_TEXTS = {EN: texts_en.TEXT, RU: texts_ru.TEXT}


def parse(value: object) -> str | None:
    """A supported language code from a link's value or a browser's tag ('ru', 'ru-RU', 'EN_us');
    None for anything else."""
    if not isinstance(value, str):
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def from_accept_language(header: object) -> str | None:
    """The first supported language of an Accept-Language header, by its q weights
    ('de-DE,ru;q=0.9,en;q=0.8' -> 'ru'); None when it names none."""
    if not isinstance(header, str):
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, rest = part.strip().partition(";")
        weight = 1.0
        if rest.strip().startswith("q="):
            try:
                weight = float(rest.strip()[2:])
            except ValueError:
                weight = 0.0
        code = parse(tag)
        if code is not None and weight > 0:
            ranked.append((-weight, position, code))
    return min(ranked)[2] if ranked else None


def browser_language(locale: object, accept_language: object = None) -> str:
    """The browser's language (navigator.language, else its Accept-Language header) when it is
    one the pages speak, else English."""
    return parse(locale) or from_accept_language(accept_language) or EN


def link_value(chosen: str, browser: str) -> str | None:
    """The ``lang`` a link carries: Russian always (so a colleague opens the page as it was
    shared); English only where the browser would otherwise pick another language."""
    if chosen == EN and browser == EN:
        return None
    return chosen


def wording_for(language: str) -> ModuleType:
    """The shared sentences of a language: ``ui.wording`` or ``ui.wording_ru``."""
    return _WORDING.get(language, wording)


def texts_for(language: str) -> Mapping[str, str]:
    """The pages' own labels in a language, by key (see ui.texts_en)."""
    return _TEXTS.get(language, texts_en.TEXT)
