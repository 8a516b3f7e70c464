"""Query text: validation, cleaning and WordNet lemmatization (offline)."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from core.foundation.settings import nltk_data_dir
from core.text.word_table import facts

MAX_QUERY_CHARS = 500
# Share of letters that must be Latin-script for a query to count as English.
MIN_LATIN_SHARE = 0.8
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Typographic apostrophes would otherwise split "boy’s" into "boy" and "s".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_lock = threading.Lock()


class QueryError(ValueError):
    """A query the service cannot answer; the message is meant for the person who typed it."""


class WordNetMissingError(RuntimeError):
    """NLTK's WordNet is not laid out where NLTK can read it."""


def _is_latin(ch: str) -> bool:
    # Accented letters (é, ñ) are Latin script too: "café" is still an English query.
    return ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")


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
    latin = sum(1 for ch in letters if _is_latin(ch))
    if latin / len(letters) < MIN_LATIN_SHARE:
        raise QueryError("Search works in English for now; please describe the scene in English.")
    return text


def tokenize(text: str) -> list[str]:
    """Lower-case ASCII words; accents are dropped first so 'café' -> 'cafe', not 'caf'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _TOKEN.findall(plain.lower())


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
    known = facts(word)
    return known.lemma if known else live_lemma(word)


@lru_cache(maxsize=65536)
def noun_lemma(word: str) -> str:
    """Noun lemma only: 'kids' -> 'kid' but 'kidding' stays 'kidding' (not the verb 'kid')."""
    known = facts(word)
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
    known = facts(word)
    if known:
        return known.animal_main if main_sense else known.animal
    return live_is_animal_noun(word, main_sense)


@lru_cache(maxsize=16384)
def is_person_noun(word: str) -> bool:
    """True when the word's main noun sense is a person ('skier', 'player', 'runner').

    The first sense only, because most nouns have some rare person sense ('dog', 'blond');
    and not when the second sense is an animal, because 'cub' and 'bunny' list a person first.
    """
    known = facts(word)
    return known.person if known else live_is_person_noun(word)


@lru_cache(maxsize=16384)
def word_classes(word: str) -> frozenset[str]:
    """WordNet parts of speech the word (any inflection) can be: subset of {'n', 'v', 'a', 'r'}.

    Satellite adjectives ('s') count as 'a'. An unknown word gives an empty set.
    """
    known = facts(word)
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


# Function words that end a noun phrase ("a young man and a dog").
PHRASE_STOP_WORDS = frozenset(
    "a an the and or with in on at of by to from for is are was be while near who that his her their "
    "its".split()
)


def head_noun(tokens: list[str], start: int, window: int = 3,
              continues: Callable[[str], bool] = lambda token: False) -> int:
    """Index of the head noun of the phrase that begins at ``start``, or -1 when there is none.

    Adjectives are skipped ("blond man"), nouns run on as a compound ("soccer player"), and a word
    that can be a verb ends the run ("skier jumps") unless ``continues`` accepts it ("soccer team").
    """
    head = -1
    for i in range(start, min(start + window, len(tokens))):
        if tokens[i] in PHRASE_STOP_WORDS:
            break
        classes = word_classes(tokens[i])
        if head >= 0:
            if "n" not in classes or ("v" in classes and not continues(tokens[i])):
                break
            head = i
        elif "n" in classes and "a" not in classes:
            head = i
        elif "a" not in classes:
            break  # neither noun nor adjective: the phrase is over
    return head


_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    " sixteen seventeen eighteen nineteen twenty".split())}
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_AGE = re.compile(
    rf"\b(?:({_TENS})[\s-]+)?(\d{{1,3}}|[a-z]+)[\s-]+(year|yr|month|week|day)s?[\s-]+old\b"
    r"(?:[\s-]+([a-z]+))?"
)
_UNIT_YEARS = {"year": 1.0, "yr": 1.0, "month": 1 / 12, "week": 7 / 365, "day": 1 / 365}


def stated_ages(text: str) -> list[tuple[str, float, str]]:
    """Ages written out, as (phrase, years, the word after): '5-year-old boy' -> 5.0, 'boy'.

    'a month old' counts as one month, 'twenty-five-year-old' as 25; a bare 'thirty' is skipped.
    """
    found = []
    for match in _AGE.finditer(text.lower()):
        tens, number, unit, after = match.groups()
        if number.isdigit():
            value = float(number)
        elif number in {"a", "an"}:
            value = 1.0
        elif number in _NUMBER_WORDS:
            value = float(_NUMBER_WORDS[number])
        else:
            continue  # "many years old"
        if tens:
            value += 10 * (_TENS.split("|").index(tens) + 2)
        found.append((match.group(0).removesuffix(after or "").strip(" -"), value * _UNIT_YEARS[unit],
                      after or ""))
    return found
