"""WordNet's answers for the words people type, prebuilt at setup: a command-line search then
needs neither NLTK's import nor its WordNet index (about 1.2 s of a cold start).

The table holds, per word, what `core.text.wordnet` would compute from WordNet: its lemma and noun
lemma, whether a noun sense is an animal (any sense, the main one), whether the main sense is a
person, and its parts of speech. A word not in it is looked up in WordNet as before, so the table
changes speed, never answers (tests compare the two).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.foundation.settings import nltk_data_dir

TABLE_FILE = "withsense-words.json"
FORMAT = 1  # raise when core.text.wordnet changes what it computes: older tables are then ignored
_lock = threading.Lock()
Row = list[Any]  # lemma, noun lemma, animal, animal (main sense), person, word classes


@dataclass(frozen=True)
class WordFacts:
    lemma: str
    noun_lemma: str
    animal: bool  # some noun sense is an animal
    animal_main: bool  # the first noun sense is
    person: bool  # core.text.wordnet.is_person_noun
    classes: frozenset[str]  # core.text.wordnet.word_classes


def table_path() -> Path:
    return nltk_data_dir() / TABLE_FILE


def facts(word: str) -> WordFacts | None:
    """The table's facts about `word`, or None when it is not in the table (or there is none)."""
    row = _table().get(word)
    return None if row is None else _facts(row)


def read(path: Path) -> dict[str, WordFacts]:
    """The whole table at `path` (empty when absent or unreadable)."""
    return {word: _facts(row) for word, row in _rows(path).items()}


def _facts(row: Row) -> WordFacts:
    return WordFacts(row[0], row[1], bool(row[2]), bool(row[3]), bool(row[4]), frozenset(row[5]))


def _table() -> dict[str, Row]:
    with _lock:  # the app's warm-up thread and a first search may ask together
        return _rows(table_path())


@lru_cache(maxsize=1)
def _rows(path: Path) -> dict[str, Row]:
    # Rows stay as JSON gave them; a word's facts are made when it is asked for: a cold start
    # reads ~25k words and needs a handful.
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no table (or a damaged one): every word is looked up in WordNet
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return {}
    words = payload.get("words", {})
    return words if isinstance(words, dict) else {}


def write(rows: dict[str, Row], path: Path | None = None) -> int:
    """Write `rows` (word -> its facts as core.text.wordnet.build_word_table computes them) as
    the table, atomically; returns its size."""
    target = path or table_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps({"format": FORMAT, "words": rows}, separators=(",", ":")),
                       encoding="utf-8")
    partial.replace(target)
    _rows.cache_clear()
    return len(rows)
