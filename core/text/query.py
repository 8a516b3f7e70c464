"""Query text: the checks a typed query must pass, and its words as tokens."""

from __future__ import annotations

import re
import unicodedata

from core.foundation.errors import Problem, WithSenseError

MAX_QUERY_CHARS = 500
# Share of letters that must be Latin-script for a query to count as English.
MIN_LATIN_SHARE = 0.8
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Typographic apostrophes would otherwise split "boy’s" into "boy" and "s".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


class QueryError(WithSenseError, ValueError):
    """A query the service cannot answer; the message is meant for the person who typed it."""

    problem = Problem.BAD_QUERY


def _is_latin(ch: str) -> bool:
    # Accented letters (é, ñ) are Latin script too: "café" is still an English query.
    return ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")


def validate_query(query: object) -> str:
    """Return the stripped query or raise QueryError with a friendly reason."""
    return require_english(clean_query(query))


def clean_query(query: object) -> str:
    """The stripped query, checked for everything but its language (the law is checked in any
    language the lexicon reads before a query is refused as not English)."""
    if not isinstance(query, str):
        raise QueryError("Please type a search as text.")
    text = unicodedata.normalize("NFKC", query).strip()
    if not text:
        raise QueryError("Please type what you are looking for, e.g. “two dogs running on snow”.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"That query is {len(text)} characters long; please keep it under {MAX_QUERY_CHARS}."
        )
    if not any(ch.isalpha() for ch in text):
        raise QueryError("Please describe the scene in words; the query has no letters.")
    return text


def require_english(text: str) -> str:
    """The text, when enough of its letters are Latin script for an English search."""
    letters = [ch for ch in text if ch.isalpha()]
    latin = sum(1 for ch in letters if _is_latin(ch))
    if not letters or latin / len(letters) < MIN_LATIN_SHARE:
        raise QueryError("Search works in English for now; please describe the scene in English.")
    return text


def tokenize(text: str) -> list[str]:
    """Lower-case ASCII words; accents are dropped first so 'café' -> 'cafe', not 'caf'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _TOKEN.findall(plain.lower())
