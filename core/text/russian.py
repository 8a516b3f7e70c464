"""Russian words, offline: Cyrillic tokens, their lemmas (pymorphy3 with its Russian dictionary,
loaded once, on first use), stated ages ("пятилетний", "5-летняя") and a plain Latin→Cyrillic
transliteration for Russian typed in Latin letters ("deti na plyazhe", "rebenok")."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.foundation.errors import Problem, WithSenseError

_lock = threading.Lock()
_CYRILLIC = re.compile(r"[а-яё]+")
_LATIN = re.compile(r"[a-z']+")
# Longest first: "shch" before "sh" before "s". "ts" is handled apart ("detskiy" is д-е-т-с-к,
# "mladenets" ends in ц), as is "y" (й after a vowel, ы elsewhere).
_MULTI = (("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"),
          ("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("ye", "е"), ("ja", "я"), ("ju", "ю"), ("jo", "ё"))
_SINGLE = {**dict(zip("abcdefghijklmnopqrstuvwz'", "абцдефгхийклмнопкрстуввзь", strict=True)), "x": "кс"}
_VOWELS = frozenset("aeiouy")
_CYRILLIC_VOWELS = frozenset("аеёиоуыэюя")
# Number words as they begin a compound age ("пяти" in "пятилетний"), by the years they give.
# The text is read with ё written е ("трёхлетний" as "трехлетний").
_AGE_ROOTS = {"двух": 2, "трех": 3, "четырех": 4, "пяти": 5, "шести": 6,
              "семи": 7, "восьми": 8, "девяти": 9, "десяти": 10, "одиннадцати": 11,
              "двенадцати": 12, "тринадцати": 13, "четырнадцати": 14, "пятнадцати": 15,
              "шестнадцати": 16, "семнадцати": 17, "восемнадцати": 18, "двадцати": 20,
              "тридцати": 30, "сорока": 40, "пятидесяти": 50, "шестидесяти": 60, "семидесяти": 70,
              "восьмидесяти": 80, "девяноста": 90, "ста": 100, "полутора": 1}
_ROOTS = "|".join(sorted(_AGE_ROOTS, key=len, reverse=True))
# "пятилетний", "двухмесячная", "5-летний", "5-ти летняя", "7 летние"; "годовалый" is one year.
# "однолетний" (an annual plant) and a bare "летний" (summer's) are no ages.
_AGE = re.compile(rf"(?<![а-яё\d])(?:(?P<root>{_ROOTS})|(?P<num>\d{{1,3}})\s*-?\s*(?:ти|х|ми|и)?\s*-?\s*)"
                  rf"(?P<unit>летн|месячн|недельн)[а-яё]*|(?<![а-яё])(?P<one>годовал)[а-яё]*")


class RussianMorphologyMissingError(WithSenseError, RuntimeError):
    """pymorphy3 or its Russian dictionary is not installed."""

    problem = Problem.CANNOT_RUN


@dataclass(frozen=True)
class Parse:
    """One reading of a word: its lemma (ё written е), and whether it is then a living noun
    ("футболист", "собака"; not "мяч")."""

    lemma: str
    animate_noun: bool


def plain(word: str) -> str:
    """Lower case, ё written е: "Ребёнок" and "ребенок" are one word."""
    return word.lower().replace("ё", "е")


def has_cyrillic(text: str) -> bool:
    return any("CYRILLIC" in unicodedata.name(ch, "") for ch in text if ch.isalpha())


def cyrillic_words(text: str) -> list[str]:
    """The Cyrillic words of the text, lower case, ё kept (pymorphy3 reads it)."""
    return _CYRILLIC.findall(unicodedata.normalize("NFC", text).lower())


def _analyzer() -> Any:
    """The one MorphAnalyzer of the process, built once even when threads ask together."""
    with _lock:
        return _build_analyzer()


@lru_cache(maxsize=1)
def _build_analyzer() -> Any:
    try:
        import pymorphy3

        return pymorphy3.MorphAnalyzer(lang="ru")
    except (ImportError, ValueError, OSError) as exc:  # no package, or no Russian dictionary
        raise RussianMorphologyMissingError(
            "Russian morphology is not installed, so Russian queries cannot be checked: run "
            f"`pip install pymorphy3 pymorphy3-dicts-ru` ({exc})") from exc


@lru_cache(maxsize=65536)
def parses(word: str) -> tuple[Parse, ...]:
    """The readings pymorphy3 gives a lower-case Cyrillic word, without repeats, most likely
    first: "детей" -> ребенок; "крохи" -> кроха (crumbs, and a little one)."""
    found: dict[Parse, None] = {}
    for reading in _analyzer().parse(word):
        animate = "NOUN" in reading.tag and reading.tag.animacy == "anim"
        found.setdefault(Parse(plain(reading.normal_form), animate), None)
    return tuple(found)


def lemmas(word: str) -> frozenset[str]:
    """The word itself (ё written е) and every lemma pymorphy3 reads in it."""
    return frozenset({plain(word), *(p.lemma for p in parses(word))})


def stated_ages(text: str) -> list[tuple[str, float]]:
    """(phrase, years) for each compound age in the text: "пятилетний" 5, "двухмесячная" 2/12,
    "5-ти летний" 5, "годовалый" 1."""
    found = []
    for match in _AGE.finditer(plain(unicodedata.normalize("NFC", text))):
        if match["one"]:
            found.append((match.group(0), 1.0))
            continue
        number = _AGE_ROOTS[match["root"]] if match["root"] else int(match["num"])
        scale = {"летн": 1, "месячн": 1 / 12, "недельн": 1 / 52}[match["unit"]]
        found.append((match.group(0), number * scale))
    return found


def transliterate(word: str) -> str:
    """A Latin-letter word read as transliterated Russian: "rebyonok" -> "ребёнок", "detskiy" ->
    "детский", "mladenets" -> "младенец", "malchik" -> "малчик" (no soft sign: see strip_soft)."""
    word, out, i = word.lower(), [], 0
    while i < len(word):
        for latin, cyrillic in _MULTI:
            if word.startswith(latin, i):
                out.append(cyrillic)
                i += len(latin)
                break
        else:
            ch = word[i]
            if word.startswith("ts", i):  # т-с before a consonant ("detskiy"), ц otherwise
                following = word[i + 2 : i + 3]
                out.append("тс" if following and following not in _VOWELS else "ц")
                i += 2
                continue
            if ch == "y":
                out.append("й" if out and out[-1][-1] in _CYRILLIC_VOWELS else "ы")
            elif ch in _SINGLE:
                out.append(_SINGLE[ch])
            i += 1
    return "".join(out)


def _latin_text(text: str) -> str:
    """Lower case, accents dropped from Latin letters ("café" -> "cafe"; "й" stays), typographic
    apostrophes made plain."""
    def bare(ch: str) -> str:
        if not unicodedata.name(ch, "").startswith("LATIN"):
            return ch
        return "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))

    return "".join(bare(ch) for ch in text.replace("\u2019", "'")).lower()


def latin_words(text: str) -> list[str]:
    """The Latin-letter words of the text, lower case, accents dropped, apostrophes kept (a soft
    sign in "mal'chik")."""
    return [w.strip("'") for w in _LATIN.findall(_latin_text(text)) if w.strip("'")]


def transliterate_text(text: str) -> str:
    """The text with each Latin-letter word transliterated, all else kept: "10-letniy" ->
    "10-летний"."""
    return _LATIN.sub(lambda m: transliterate(m.group(0).strip("'")), _latin_text(text))


def strip_soft(word: str) -> str:
    """The word without soft and hard signs, which transliteration mostly drops."""
    return word.replace("ь", "").replace("ъ", "")
