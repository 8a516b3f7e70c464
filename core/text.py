"""Query text: validation, cleaning and WordNet lemmatization (offline)."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

from core.config import nltk_data_dir

MAX_QUERY_CHARS = 500
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
_lock = threading.Lock()


class QueryError(ValueError):
    """A query the service cannot answer; the message is meant for the person who typed it."""


class WordNetMissingError(RuntimeError):
    """NLTK's WordNet is not laid out where NLTK can read it."""


def validate_query(query: object) -> str:
    """Return the stripped query or raise QueryError with a friendly reason."""
    if not isinstance(query, str):
        raise QueryError("Please type a search as text.")
    text = unicodedata.normalize("NFKC", query).strip()
    if not text:
        raise QueryError("Please type what you are looking for, e.g. “two dogs running on snow”.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"That query is {len(text)} characters long; please keep it under {MAX_QUERY_CHARS}."
        )
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        raise QueryError("Please describe the scene in words; the query has no letters.")
    latin = sum(1 for ch in letters if ch.isascii())
    if latin / len(letters) < 0.8:
        raise QueryError("Search works in English for now; please describe the scene in English.")
    return text


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def clean(text: str) -> str:
    """Lower-case words only, single-spaced: what the lemmatizer and lexicon checks see."""
    return " ".join(tokenize(text))


@lru_cache(maxsize=1)
def _lemmatizer():  # type: ignore[no-untyped-def]
    import nltk
    from nltk.stem import WordNetLemmatizer

    path = str(nltk_data_dir())
    if path not in nltk.data.path:
        nltk.data.path.insert(0, path)
    lemmatizer = WordNetLemmatizer()
    try:
        with _lock:  # NLTK's lazy corpus loader is not thread-safe on first use
            lemmatizer.lemmatize("dogs")
    except LookupError as exc:
        raise WordNetMissingError(
            f"WordNet not found under {path}: run scripts/setup.sh "
            "(it lays out Debian's wordnet-base as an nltk_data folder) or set NLTK_DATA."
        ) from exc
    return lemmatizer


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """Noun lemma, then verb lemma, so 'children' -> 'child' and 'running' -> 'run'."""
    lemmatizer = _lemmatizer()
    noun = lemmatizer.lemmatize(word, pos="n")
    if noun != word:
        return noun
    return lemmatizer.lemmatize(word, pos="v")


def lemmatize(text: str) -> str:
    return " ".join(lemma(tok) for tok in tokenize(text))
