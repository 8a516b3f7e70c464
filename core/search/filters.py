"""The search box's syntax, shared by the Search page, its links and ``python -m core search``:

    dog on the beach -people camera:"EOS 5D" lens:50mm taken:2019..2021 place:Norway sort:date min:0.6

Words are searched; ``-word`` (or ``-"two words"``) excludes; ``key:value`` (a value with spaces in
quotes) filters on a photo's facts (core.gallery.facts) or sets the order or the least score. A
photo that lacks the fact a filter asks about is dropped. :func:`parse_query` gives a typed
:class:`ParsedQuery`, and :func:`keeps` says whether a photo's facts pass its filters; bad syntax
raises :class:`FilterSyntaxError`, whose message names the valid forms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

from core.foundation.errors import Problem
from core.index.exact import Hit, VectorIndex
from core.text.query import QueryError, tokenize
from core.text.wordnet import lemma

KEYS = ("camera", "lens", "taken", "place", "sort", "min")
FORMS = ('camera:"EOS 5D" (maker or model, quoted when it has spaces)', "lens:50mm",
         "taken:2019, taken:2019-07, taken:2019-07-14 or a range taken:2019..2021 (either end may "
         "be left open)", "place:Norway (city or country)", "sort:relevance or sort:date",
         "min:0.6 (a score from 0 to 1)", "-word to exclude a word")
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'})
# key:"quoted value" | key:value | -"quoted" | -word | "quoted words" | word
_TOKEN = re.compile(r'(?P<key>[A-Za-z]+):(?:"(?P<qv>[^"]*)"|(?P<v>[^\s"]+))'
                    r'|(?<!\S)-(?:"(?P<qx>[^"]*)"|(?P<x>[^\s":]+))|"(?P<phrase>[^"]*)"|(?P<word>\S+)')
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


class FilterSyntaxError(QueryError):
    """A filter written in a form the search box does not read; the message lists the forms."""

    problem = Problem.BAD_FILTER

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}. Filters are written as: " + "; ".join(FORMS) + ".")


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the words to search for, filters and exclusions taken out
    exclude: tuple[str, ...] = ()
    camera: str | None = None
    lens: str | None = None
    taken: tuple[date, date] | None = None  # first and last day, both included
    place: str | None = None
    sort: Literal["relevance", "date"] = "relevance"
    min_score: float | None = None

    @property
    def filters_facts(self) -> bool:
        return any(v is not None for v in (self.camera, self.lens, self.taken, self.place))

    @property
    def plain(self) -> bool:
        """Nothing but words: the search runs as it always did."""
        return not (self.exclude or self.filters_facts or self.sort != "relevance"
                    or self.min_score is not None)


def _day(text: str, end: bool) -> date:
    """The first (or, with ``end``, the last) day of a year, month or day written YYYY[-MM[-DD]];
    ValueError for anything else (month 13, February 30)."""
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day = int(match[1]), match[2], match[3]
    if month is None:
        return date(year, 12, 31) if end else date(year, 1, 1)
    first = date(year, int(month), 1)
    if day is not None:
        return date(year, int(month), int(day))
    if not end:
        return first
    return date(year + (first.month == 12), first.month % 12 + 1, 1) - timedelta(days=1)


def _taken(value: str) -> tuple[date, date]:
    first, dots, last = value.partition("..")
    try:
        if not dots:
            return _day(value, False), _day(value, True)
        if not first and not last:
            raise ValueError(value)
        low = _day(first, False) if first else date.min
        high = _day(last, True) if last else date.max
    except ValueError:
        raise FilterSyntaxError(f"taken:{value} is not a date or a range of dates") from None
    if low > high:
        raise FilterSyntaxError(f"taken:{value} ends before it starts")
    return low, high


def parse_query(query: str) -> ParsedQuery:
    """The query's words, exclusions, filters, order and least score. Raises FilterSyntaxError
    for a key it does not know or a value in the wrong form, and QueryError when only filters are
    left (there is nothing to search for)."""
    words: list[str] = []
    exclude: list[str] = []
    found: dict[str, Any] = {}
    for match in _TOKEN.finditer(query.translate(_QUOTES)):
        if match["key"] is not None:
            key = match["key"].lower()
            value = (match["qv"] if match["qv"] is not None else match["v"]).strip()
            if key not in KEYS:
                raise FilterSyntaxError(f"{match['key']}: is not a filter (known: "
                                        + ", ".join(f"{k}:" for k in KEYS) + ")")
            if not value:
                raise FilterSyntaxError(f"{key}: needs a value")
            found[key] = _value(key, value)
        elif match["qx"] is not None or match["x"] is not None:
            term = (match["qx"] if match["qx"] is not None else match["x"]).strip()
            exclude.extend([term] if term else [])
        else:
            words.append(match["phrase"] if match["phrase"] is not None else match["word"])
    text = " ".join(w for w in words if w.strip())
    if not any(ch.isalpha() for ch in text):
        raise QueryError("Please say what to look for as well as the filters, e.g. "
                         "“dog on the beach camera:EOS”.")
    return ParsedQuery(text, tuple(dict.fromkeys(exclude)), found.get("camera"), found.get("lens"),
                       found.get("taken"), found.get("place"), found.get("sort", "relevance"),
                       found.get("min"))


def _value(key: str, value: str) -> Any:
    if key == "taken":
        return _taken(value)
    if key == "sort":
        if value.lower() not in ("relevance", "date"):
            raise FilterSyntaxError(f"sort:{value} is not an order")
        return value.lower()
    if key == "min":
        try:
            score = float(value)
        except ValueError:
            score = -1.0
        if not 0 <= score <= 1:
            raise FilterSyntaxError(f"min:{value} is not a score from 0 to 1")
        return score
    return value


def _squeeze(text: object) -> str:
    """Case and spaces do not matter: 'EF 50 mm' matches '50mm'."""
    return re.sub(r"\s+", "", str(text)).casefold()


def keeps(parsed: ParsedQuery, facts: Mapping[str, Any]) -> bool:
    """Whether a photo with these facts passes the query's fact filters (a photo lacking the
    fact asked about does not)."""
    if parsed.camera is not None:
        camera = f"{facts.get('make', '')} {facts.get('model', '')}"
        if not camera.strip() or _squeeze(parsed.camera) not in _squeeze(camera):
            return False
    if parsed.lens is not None:
        focal = f"{facts['focal_length']:g}mm" if "focal_length" in facts else ""
        lens = f"{facts.get('lens_make', '')} {facts.get('lens', '')} {focal}"
        if not lens.strip() or _squeeze(parsed.lens) not in _squeeze(lens):
            return False
    if parsed.place is not None:
        places = [_squeeze(facts[k]) for k in ("city", "country") if facts.get(k)]
        if not any(_squeeze(parsed.place) in place for place in places):
            return False
    if parsed.taken is not None:
        day = taken_day(facts)
        if day is None or not parsed.taken[0] <= day <= parsed.taken[1]:
            return False
    return True


def taken_day(facts: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(facts["taken"])[:10])
    except (KeyError, ValueError):
        return None


def exclusion_lemmas(text: str) -> frozenset[str]:
    """The lemmas of a text's words, as the project's text code reads them ('dogs' -> 'dog'):
    an excluded word drops a photo whose description has all of its lemmas."""
    return frozenset(lemma(word) for word in tokenize(text))


Ranked = list[tuple[Hit, float]]  # hits, best first, with their calibrated 0..1 scores


def refine(parsed: ParsedQuery, ranked: Ranked, top_k: int, index: VectorIndex, vector: np.ndarray,
           facts: Mapping[str, Mapping[str, Any]], descriptions: Mapping[str, str],
           scores: Callable[[list[Hit]], np.ndarray], excluded: Callable[[np.ndarray], np.ndarray]) -> Ranked:
    """The best ``top_k`` of the query's hits that pass its filters, exclusions and least score,
    in its order. ``ranked`` is the plain search's top k for ``vector``; deeper hits are fetched
    (8 times as many each round) until enough pass or the gallery is exhausted; scores fall with
    rank, so a least score ends the search early. ``scores`` gives hits' scores for the query, ``excluded`` a
    photo vector's scores for each excluded word.

    An excluded word drops a photo whose description has it, and a photo that matches the word
    better than the query on the calibrated scale (which makes scores comparable across queries):
    the photo's side of an exclusion is a drop, not a subtraction, so the scores shown stay
    the calibrated scores of the query."""
    size, k = len(index), top_k
    words = [w for w in (exclusion_lemmas(word) for word in parsed.exclude) if w]

    def passes(image_id: str, score: float) -> bool:
        if parsed.min_score is not None and score < parsed.min_score:
            return False
        if parsed.filters_facts and not keeps(parsed, facts.get(image_id, {})):
            return False
        if not parsed.exclude:
            return True
        described = exclusion_lemmas(descriptions.get(image_id, ""))
        if any(word <= described for word in words):
            return False
        stored = index.stored(image_id)
        return stored is not None and bool((excluded(stored.vector) <= score).all())

    while True:
        kept = [(h, s) for h, s in ranked if passes(h.id, s)]
        low = parsed.min_score is not None and bool(ranked) and ranked[-1][1] < parsed.min_score
        if len(kept) >= top_k or low or k >= size or len(ranked) < k:
            break
        k = min(size, max(k * 8, 64))
        hits = index.search(vector, k).hits
        ranked = list(zip(hits, (float(s) for s in scores(hits)), strict=True))
    kept = kept[:top_k]
    if parsed.sort == "date":  # the best matches, newest first; undated ones last
        kept.sort(key=lambda pair: taken_day(facts.get(pair[0].id, {})) or date.min, reverse=True)
    return kept
