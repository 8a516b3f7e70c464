"""Phrases in captions and queries: the head noun of a phrase and ages written out."""

from __future__ import annotations

import re
from collections.abc import Callable

from core.text.wordnet import word_classes

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
