"""core.text.wordnet: friendly query validation and offline WordNet lemmatization."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.text import query, words
from core.text import wordnet as text
from core.text.query import QueryError, validate_query
from core.text.wordnet import lemmatize


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Please type what you are looking for"),
        ("   \n\t ", "Please type what you are looking for"),
        ("a" * 501, "501 characters long; please keep it under 500"),
        ("Дети играют в парке", "Search works in English"),
        ("两只狗在雪地里奔跑", "Search works in English"),
        ("12345 !!! ???", "the query has no letters"),
        ("🐶🐶", "the query has no letters"),
        (None, "Please type a search as text"),
        (42, "Please type a search as text"),
    ],
)
def test_validate_query_messages(query: object, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        validate_query(query)


def test_validate_query_accepts_and_strips() -> None:
    assert validate_query("  two dogs running on snow \n") == "two dogs running on snow"
    assert validate_query("a" * 500) == "a" * 500
    assert validate_query("café terrace at night") == "café terrace at night"  # accents are Latin
    assert validate_query("ＤＯＧ") == "DOG"  # full-width letters are normalised (NFKC)


def test_query_error_is_a_value_error() -> None:
    assert issubclass(QueryError, ValueError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("children playing", "child play"),
        ("Two DOGS are running!", "two dog be run"),
        ("women, men and geese", "woman men and goose"),
        ("", ""),
    ],
)
def test_lemmatize(raw: str, expected: str) -> None:
    assert lemmatize(raw) == expected


def test_tokenize_handles_case_accents_and_apostrophes() -> None:
    assert query.tokenize("The Boy’s CAFÉ, 3 dogs") == ["the", "boy's", "cafe", "dogs"]


def test_noun_lemma_ignores_verb_readings() -> None:
    assert text.noun_lemma("kids") == "kid"
    assert text.noun_lemma("kidding") == "kidding"  # the lemma() fallback would say "kid"
    assert text.lemma("kidding") == "kid"


def test_wordnet_helpers() -> None:
    assert text.is_person_noun("skier") and text.is_person_noun("player")
    assert not text.is_person_noun("dog") and not text.is_person_noun("bunny")  # rabbit second
    assert text.is_animal_noun("puppy") and text.is_animal_noun("boxer")
    assert not text.is_animal_noun("boxer", main_sense=True)
    assert "n" in text.word_classes("dogs") and "a" in text.word_classes("blond")
    tokens = query.tokenize("a young soccer player jumps")
    assert words.head_noun(tokens, 2) == 3
    tokens = query.tokenize("young blond man and a dog")
    assert words.head_noun(tokens, 1) == 2


def test_stated_ages() -> None:
    assert words.stated_ages("a 5-year-old boy") == [("5-year-old", 5.0, "boy")]
    assert words.stated_ages("twenty-five-year-old man")[0][1] == 25.0
    assert words.stated_ages("six month old")[0][1] == pytest.approx(0.5)
    assert words.stated_ages("many years old") == []


def test_works_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("core.text.wordnet tried to use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert lemmatize("geese flying over lakes") == "goose fly over lake"
    assert text.is_person_noun("swimmer")


def test_missing_wordnet_says_how_to_fix(tmp_path: Path) -> None:
    """A fresh process pointed at an empty NLTK_DATA gets WordNetMissingError, not LookupError."""
    code = (
        "import nltk\n"
        "from core.text import wordnet as text\n"
        "nltk.data.path[:] = []\n"  # only the project's folder (NLTK_DATA) is searched
        "try:\n"
        "    text.lemmatize('dogs')\n"
        "except text.WordNetMissingError as exc:\n"
        "    print('MISSING', exc)\n"
    )
    env = {**os.environ, "NLTK_DATA": str(tmp_path)}
    done = subprocess.run(  # noqa: S603 - fixed argv: this Python runs the constant script above
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "MISSING" in done.stdout, done.stderr
    assert str(tmp_path) in done.stdout and "scripts/setup.sh" in done.stdout
