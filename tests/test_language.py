"""The pages in Russian (#39): the wording tables of both languages, how a visit's language is
chosen (switch, a link's lang=, the browser's language), and the Search page in Russian with
streamlit.testing (no browser; tests/test_browser.py has the screenshots).

Search tests need the trained test model (conftest's `trained_artifacts`).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.foundation.errors import Problem
from core.foundation.settings import PROJECT_ROOT
from core.legal.lexicon import DISCLAIMER
from pages import _language
from ui import lang, links, texts_en, texts_ru, wording, wording_ru

APP = PROJECT_ROOT / "app.py"
TIMEOUT = 90  # seconds: the first search run loads torch and the model
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
# Entries that are names in every language (the product, the switch's own labels, a command).
NAMES = {"With Sense", "English", "Русский", "python -m core train"}


# --------------------------------------------------------------------------------------------
# The tables
# --------------------------------------------------------------------------------------------


def _words(module: ModuleType) -> dict[str, Any]:
    """The public names a module defines itself (read from its source: imported ones are
    another module's)."""
    tree = ast.parse(inspect.getsource(module))
    names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    names += [target.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
              for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
              if isinstance(target, ast.Name)]
    return {name: getattr(module, name) for name in names if not name.startswith("_")}


def _strings(value: object) -> list[str]:
    """Every string inside a constant (dict values, tuples), keys that are codes left out."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, tuple | list):
        return [s for item in value for s in _strings(item) if not s.startswith(":material/")]
    return []


def test_both_languages_have_the_same_page_labels() -> None:
    assert texts_en.TEXT.keys() == texts_ru.TEXT.keys()
    for key, english in texts_en.TEXT.items():
        russian = texts_ru.TEXT[key]
        assert russian.strip(), key
        # the same values filled in, so a page formats either language alike
        assert sorted(re.findall(r"\{(\w+)", english)) == sorted(re.findall(r"\{(\w+)", russian)), key
        if english not in NAMES:
            assert CYRILLIC.search(russian) and russian != english, f"{key} is left in English: {russian!r}"


def test_russian_wording_answers_every_name_of_the_english_one() -> None:
    english, russian = _words(wording), vars(wording_ru)
    lacking = sorted(set(english) - set(russian))
    assert not lacking, f"ui.wording_ru lacks {lacking}"
    assert set(wording_ru.PROBLEM_HEADLINES) == set(Problem) == set(wording.PROBLEM_HEADLINES)
    for name, value in english.items():
        if callable(value):
            asks = inspect.signature(value).parameters.keys()
            assert asks == inspect.signature(russian[name]).parameters.keys(), name
            continue
        for text in _strings(russian[name]):
            if text not in NAMES:
                assert CYRILLIC.search(text), f"{name} is left in English: {text!r}"


def test_russian_sentences_built_by_code() -> None:
    assert wording_ru.took_note(76.4, 12, 6999) == "12 фотографий из 6\u00a0999 · поиск занял 76 мс"
    assert wording_ru.took_note(76.4, 1) == "1 фотография · поиск занял 76 мс"
    assert wording_ru.took_note(5, None) == "поиск занял 5 мс"
    assert wording_ru.withheld_note(0, 12) is None
    assert str(wording_ru.withheld_note(1, 12)).startswith("1 фотография из первых 12 скрыта: на ней")
    assert str(wording_ru.withheld_note(22, 24)).startswith("22 фотографии из первых 24 скрыты: на них")
    forms = [wording_ru.plural(n, "one", "few", "many") for n in (1, 2, 5, 11, 12, 21, 22, 25, 111)]
    assert forms == ["one", "few", "many", "many", "many", "one", "few", "many", "many"]
    assert wording_ru.match_place("top left") == "вверху слева"
    assert wording_ru.match_place("centre") == "в центре"
    assert wording_ru.gallery_label("all") == "Все фотографии"
    assert wording_ru.gallery_label("mine") == "Галерея «mine»"
    assert wording_ru.core_message(
        "Search works in English for now; please describe the scene in English.").startswith("Пока поиск")
    assert wording.DISCLAIMER_TEXT == DISCLAIMER  # English: core's words exactly


# --------------------------------------------------------------------------------------------
# Which language a visit speaks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "header", "expected"),
    [("ru-RU", None, "ru"), ("ru", "en-US", "ru"), ("en-GB", "ru-RU", "en"),
     (None, "de-DE,ru;q=0.9,en;q=0.8", "ru"), (None, "en;q=0.5, ru;q=0.7", "ru"), (None, "ru;q=0, en", "en"),
     ("de-DE", "fr", "en"), (None, None, "en"), (None, "garbage;q=x", "en")],
)
def test_browser_language(locale: str | None, header: str | None, expected: str) -> None:
    assert lang.browser_language(locale, header) == expected


def test_a_link_carries_russian_and_english_only_where_needed() -> None:
    assert lang.link_value("ru", "en") == "ru" and lang.link_value("ru", "ru") == "ru"
    assert lang.link_value("en", "en") is None and lang.link_value("en", "ru") == "en"
    link = links.SearchLink(links.TEXT, "dogs", "", "all", 12)
    assert links.share_url("http://h/search", link, "ru") == "http://h/search?q=dogs&gallery=all&k=12&lang=ru"
    assert links.share_url("http://h/search", link) == "http://h/search?q=dogs&gallery=all&k=12"
    _, problems = links.read_link({"k": "ten"}, ["all"], "all", 12, 100, texts_ru.TEXT)
    assert problems == ["Ссылка просит 'ten' результатов, а нужно целое число от 1 до 100, поэтому "
                        "показано 12."]


# --------------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------------


@pytest.fixture
def with_model(trained_artifacts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(trained_artifacts))
    monkeypatch.setenv("WITHSENSE_REPORTS", str(tmp_path))
    return trained_artifacts


def _search(params: dict[str, str] | None = None, locale: str | None = None) -> AppTest:
    """The Search page, opened with a link's ``params`` from a browser speaking ``locale``."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if locale:
        at.context["locale"] = locale
    at.query_params.update(params or {})
    at.run()
    at.switch_page("pages/search.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(elements: object) -> list[str]:
    return [str(e.value) for e in elements]  # type: ignore[attr-defined]


def test_the_search_page_with_lang_ru_speaks_russian(with_model: Path) -> None:
    at = _search({"lang": "ru"})
    assert _texts(at.title) == ["Поиск фотографий"]
    assert at.text_input(key="query").label == texts_ru.TEXT["search.query"]
    assert at.selectbox(key="gallery").label == "Галерея"
    assert at.button(key="search").label == "Найти"
    examples = [b.label for b in at.button if b.key and b.key.startswith("example_")]
    assert examples == list(wording_ru.EXAMPLE_QUERIES)
    assert at.session_state[_language.LANGUAGE] == "ru" and at.query_params["lang"] == "ru"


def test_a_russian_browser_gets_russian_and_an_english_one_english(with_model: Path) -> None:
    assert _texts(_search(locale="ru-RU").title) == ["Поиск фотографий"]
    english = _search(locale="en-US")
    assert _texts(english.title) == ["Search photos"] and "lang" not in english.query_params
    # a link's lang= outranks the browser
    assert _texts(_search({"lang": "en"}, locale="ru-RU").title) == ["Search photos"]


def test_a_russian_child_query_gets_the_russian_disclaimer_and_no_photos(with_model: Path) -> None:
    at = _search({"lang": "ru"})
    at.text_input(key="query").input("дети играют в парке").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _texts(at.warning) == [wording_ru.DISCLAIMER_TEXT]
    assert DISCLAIMER not in " ".join(_texts(at.warning) + _texts(at.text))
    assert not at.image
    assert any(text.startswith("поиск занял") for text in _texts(at.caption))


def test_the_link_of_a_russian_page_carries_lang_ru(with_model: Path) -> None:
    at = _search({"lang": "ru"})
    at.text_input(key="query").input("A dog runs through the water").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params == {"q": "A dog runs through the water", "gallery": "all", "k": "12", "lang": "ru"}
    assert "?q=A+dog+runs+through+the+water&gallery=all&k=12&lang=ru" in _texts(at.code)
    assert len(at.image) == 12
    assert any(p.text.startswith("**#1** · Оценка **") for p in at.get("progress"))
    assert "Результаты по запросу «A dog runs through the water»" in _texts(at.text)
    # the link opened by a colleague: the same search, in Russian
    opened = _search(dict(at.query_params))
    assert _texts(opened.title) == ["Поиск фотографий"]
    assert opened.text_input(key="query").value == "A dog runs through the water" and len(opened.image) == 12


def test_the_switch_changes_the_language(with_model: Path) -> None:
    """app.py draws the switch in the sidebar of every page; AppTest shows app.py's own elements
    only on a run of the default page (Home), so the switch is turned there."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert at.radio(key=_language.SWITCH).value == "en" and _texts(at.subheader)[0] == "How to use this demo"
    at.radio(key=_language.SWITCH).set_value("ru").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _texts(at.subheader)[0] == "Как пользоваться демо" and at.query_params == {"lang": "ru"}
    at.switch_page("pages/search.py").run()
    assert _texts(at.title) == ["Поиск фотографий"] and at.query_params["lang"] == "ru"
    at.switch_page("app.py").run()
    at.radio(key=_language.SWITCH).set_value("en").run()
    assert _texts(at.subheader)[0] == "How to use this demo" and "lang" not in at.query_params
    at.switch_page("pages/search.py").run()
    assert _texts(at.title) == ["Search photos"] and "lang" not in at.query_params


def test_a_new_language_keeps_the_search_shown(with_model: Path) -> None:
    """Turning the switch on the Search page reruns it in the other language: its widgets keep
    their values although their labels change (the session's language set as the switch sets it)."""
    at = _search()
    at.text_input(key="query").input("A man climbs a rock").run()
    expected = [p.text.split(" · ")[0] for p in at.get("progress")]
    assert len(expected) == 12
    at.session_state[_language.LANGUAGE] = "ru"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _texts(at.title) == ["Поиск фотографий"] and at.query_params["lang"] == "ru"
    assert at.text_input(key="query").value == "A man climbs a rock"
    assert "Результаты по запросу «A man climbs a rock»" in _texts(at.text)
    assert [p.text.split(" · ")[0] for p in at.get("progress")] == expected


def test_a_russian_page_names_problems_in_russian(with_model: Path) -> None:
    at = _search({"lang": "ru", "q": "δύο σκυλιά τρέχουν στο χιόνι"})  # neither English nor Russian
    headlines = _texts(at.warning)
    assert headlines == [wording_ru.PROBLEM_HEADLINES[Problem.BAD_QUERY][0]], headlines
    assert "Поиск понимает английский и русский: опишите сцену на одном из них." in _texts(at.text)


@pytest.mark.parametrize(("page", "title"),
                         [("compare", "Сравнение моделей"), ("explore", "Обзор данных"),
                          ("home", "With Sense")])
def test_the_other_pages_in_russian(page: str, title: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a model: the comparison page reads a metrics file, the explorer the practicum data
    (each says so in Russian where it is missing)."""
    from test_app import METRICS

    (tmp_path / "metrics.json").write_text(json.dumps(METRICS))
    monkeypatch.setenv("WITHSENSE_REPORTS", str(tmp_path))
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(tmp_path / "none"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["lang"] = "ru"
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _texts(at.title) == [title]
    shown = " ".join(_texts(at.subheader) + _texts(at.caption) + _texts(at.info) + _texts(at.markdown))
    assert CYRILLIC.search(shown)
    for english in ("Legal checks", "Votes and targets", "The dataset", "No trained model", "Search quality"):
        assert english not in shown, english


def test_english_labels_of_models_and_sets_are_cores() -> None:
    """ui.texts_en repeats core's labels so the English pages stay as they were."""
    from core.measure.reports import MODELS, SPLIT_LABELS

    assert {key: texts_en.TEXT[f"model.{key}"] for key in MODELS} == {k: m.label for k, m in MODELS.items()}
    assert {key: texts_en.TEXT[f"split.{key}"] for key in SPLIT_LABELS} == SPLIT_LABELS


@pytest.mark.parametrize("query", ["", "   ", "1234 !!", "a" * 600, "собака бежит по снегу", 42])
def test_cores_query_messages_read_russian_on_a_russian_page(query: object) -> None:
    """ui.wording_ru knows core's own messages for a query that cannot run (by their text: a
    change in core shows here, not as English on a Russian page)."""
    from core.text.query import QueryError, validate_query

    with pytest.raises(QueryError) as refused:
        validate_query(query)
    assert CYRILLIC.search(wording_ru.core_message(str(refused.value))), str(refused.value)
    assert wording.core_message(str(refused.value)) == str(refused.value)
