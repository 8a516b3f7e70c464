"""Which text side answers a query: English (Latin letters: today's path, unchanged) or the
multilingual one (Russian, or Russian mixed with English), told apart by script.

Script settles it for the languages the product reads: a query is English when at least 80% of
its letters are Latin (core.text.query.MIN_LATIN_SHARE, the rule English search always had), and
goes to the multilingual side when Cyrillic letters make up the rest. A statistical detector
would add nothing here: the multilingual encoder reads mixed Russian-English text as it is.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from core.text.query import MIN_LATIN_SHARE, QueryError

# Of the letters that are not Latin, the share that must be Cyrillic for the multilingual side:
# a query mostly in another script (Greek, Chinese) is neither language.
MIN_CYRILLIC_SHARE = 0.8
NEITHER = ("Search works in English and Russian; please describe the scene in one of them. "
           "Поиск понимает английский и русский: опишите сцену на одном из них.")


class Language(StrEnum):
    ENGLISH = "en"
    RUSSIAN = "ru"  # Cyrillic, possibly mixed with Latin words: the multilingual text side


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN"
    name = unicodedata.name(ch, "")
    return "LATIN" if name.startswith("LATIN") else "CYRILLIC" if name.startswith("CYRILLIC") else "OTHER"


def script_shares(text: str) -> dict[str, float]:
    """Shares of the text's letters by script (LATIN, CYRILLIC, OTHER); empty for no letters."""
    letters = [_script(ch) for ch in text if ch.isalpha()]
    return {s: letters.count(s) / len(letters) for s in ("LATIN", "CYRILLIC", "OTHER")} if letters else {}


def query_language(text: str) -> Language:
    """English when Latin letters make up >= 80% (exactly the queries English search took before);
    Russian when the remaining letters are mostly Cyrillic; QueryError otherwise."""
    shares = script_shares(text)
    if not shares:
        raise QueryError("Please describe the scene in words; the query has no letters.")
    if shares["LATIN"] >= MIN_LATIN_SHARE:
        return Language.ENGLISH
    if shares["CYRILLIC"] / (1 - shares["LATIN"]) >= MIN_CYRILLIC_SHARE:
        return Language.RUSSIAN
    raise QueryError(NEITHER)
