"""WordNet, offline: lemmas, noun lemmas and word classes of the words people type, read from
the prebuilt table (core.text.word_table) and from WordNet itself for any other word."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.foundation.errors import Problem, WithSenseError
from core.foundation.settings import nltk_data_dir
from core.text import word_table
from core.text.query import tokenize

_lock = threading.Lock()


class WordNetMissingError(WithSenseError, RuntimeError):
    """NLTK's WordNet is not laid out where NLTK can read it."""

    problem = Problem.CANNOT_RUN


def _ensure_wordnet_path() -> str:
    import nltk

    path = str(nltk_data_dir())
    if path not in nltk.data.path:
        nltk.data.path.insert(0, path)
    return path


def _wordnet():  # type: ignore[no-untyped-def]
    """The one WordNet reader of the process, built once even when threads ask together (the
    app's warm-up thread and the first search do)."""
    with _lock:
        return _build_wordnet()


@lru_cache(maxsize=1)
def _build_wordnet():  # type: ignore[no-untyped-def]
    """NLTK's WordNet reader over our WordNet 3.0 files. NLTK would also map the files' version
    onto WordNet 3.0 for its multilingual data (~3 s at start-up, the bulk of the first search's
    wait); the files are 3.0 already, so that identity mapping is skipped."""
    import warnings

    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class _WordNet30(WordNetCorpusReader):  # type: ignore[misc]
        def map_wn(self, version: str = "wordnet") -> None:
            return None

    path = _ensure_wordnet_path()
    try:
        root = nltk.data.find("corpora/wordnet")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "multilingual functions are not available"
            return _WordNet30(root, None)
    except (LookupError, OSError) as exc:
        raise WordNetMissingError(
            f"WordNet not found under {path}: run scripts/setup.sh "
            "(it lays out Debian's wordnet-base as an nltk_data folder) or set NLTK_DATA."
        ) from exc


@lru_cache(maxsize=1)
def _lemmatizer():  # type: ignore[no-untyped-def]
    from nltk.stem import WordNetLemmatizer

    class _Lemmatizer(WordNetLemmatizer):  # type: ignore[misc]
        """NLTK's WordNetLemmatizer, reading the reader above instead of nltk.corpus.wordnet."""

        def _morphy(self, form: str, pos: str, check_exceptions: bool = True) -> list[str]:
            return _wordnet()._morphy(form, pos, check_exceptions)

    return _Lemmatizer()


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """Noun lemma, then verb lemma, so 'children' -> 'child' and 'running' -> 'run'."""
    known = word_table.facts(word)
    return known.lemma if known else live_lemma(word)


@lru_cache(maxsize=65536)
def noun_lemma(word: str) -> str:
    """Noun lemma only: 'kids' -> 'kid' but 'kidding' stays 'kidding' (not the verb 'kid')."""
    known = word_table.facts(word)
    return known.noun_lemma if known else live_noun_lemma(word)


def load_wordnet() -> None:
    """Load WordNet now (a server warming up): words missing from core.text.word_table need it."""
    _lemmatizer()
    _wordnet()


def lemmatize(text: str) -> str:
    return " ".join(lemma(tok) for tok in tokenize(text))


@lru_cache(maxsize=16384)
def is_animal_noun(word: str, main_sense: bool = False) -> bool:
    """True when a WordNet noun sense of the word is an animal ('seal', 'kid' the goat).

    ``main_sense`` looks at the first sense only: 'dog' yes, 'boxer' (first a fighter) no.
    """
    known = word_table.facts(word)
    if known:
        return known.animal_main if main_sense else known.animal
    return live_is_animal_noun(word, main_sense)


@lru_cache(maxsize=16384)
def is_person_noun(word: str) -> bool:
    """True when the word's main noun sense is a person ('skier', 'player', 'runner').

    The first sense only, because most nouns have some rare person sense ('dog', 'blond');
    and not when the second sense is an animal, because 'cub' and 'bunny' list a person first.
    """
    known = word_table.facts(word)
    return known.person if known else live_is_person_noun(word)


@lru_cache(maxsize=16384)
def word_classes(word: str) -> frozenset[str]:
    """WordNet parts of speech the word (any inflection) can be: subset of {'n', 'v', 'a', 'r'}.

    Satellite adjectives ('s') count as 'a'. An unknown word gives an empty set.
    """
    known = word_table.facts(word)
    return known.classes if known else live_word_classes(word)


# The same answers read from WordNet itself (core.text.word_table prebuilds them for known words).


def live_lemma(word: str) -> str:
    lemmatizer = _lemmatizer()
    noun = lemmatizer.lemmatize(word, pos="n")
    if noun != word:
        return str(noun)
    return str(lemmatizer.lemmatize(word, pos="v"))


def live_noun_lemma(word: str) -> str:
    return str(_lemmatizer().lemmatize(word, pos="n"))


def _noun_synsets(word: str) -> list[Any]:
    _lemmatizer()  # makes sure WordNet is on NLTK's path (or raises WordNetMissingError)
    return list(_wordnet().synsets(word, pos="n"))


def _is_a(synset: Any, ancestor: str) -> bool:
    names = {s.name() for s in synset.closure(lambda s: s.hypernyms() + s.instance_hypernyms())}
    return ancestor in names or synset.name() == ancestor


def live_is_animal_noun(word: str, main_sense: bool = False) -> bool:
    synsets = _noun_synsets(word)[:1] if main_sense else _noun_synsets(word)
    return any(_is_a(s, "animal.n.01") for s in synsets)


def live_is_person_noun(word: str) -> bool:
    synsets = _noun_synsets(word)
    if not synsets or not _is_a(synsets[0], "person.n.01"):
        return False
    return len(synsets) < 2 or not _is_a(synsets[1], "animal.n.01")


def live_word_classes(word: str) -> frozenset[str]:
    _lemmatizer()
    return frozenset("a" if s.pos() == "s" else s.pos() for s in _wordnet().synsets(word))


def build_word_table(words: Iterable[str], path: Path | None = None) -> int:
    """Write the table for `words` (and their noun lemmas) from WordNet; returns its size."""
    wanted = {w for w in words if w}
    wanted |= {live_noun_lemma(w) for w in wanted}
    rows = {word: [live_lemma(word), live_noun_lemma(word), live_is_animal_noun(word, False),
                   live_is_animal_noun(word, True), live_is_person_noun(word),
                   sorted(live_word_classes(word))]
            for word in sorted(wanted)}
    return word_table.write(rows, path)
