"""The photographers' descriptions as a word index: BM25 over the lemmas the rest of the project
reads text with (core.text.query.tokenize, then core.text.wordnet.lemma: "dogs running" and
"a dog runs" share "dog" and "run").

Built once per gallery, on the first search that needs it, and kept on the Gallery object
(``for_gallery``), so a query costs one pass over the postings of its own words.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.text.query import tokenize
from core.text.wordnet import lemma

# Okapi BM25's usual constants: term frequency saturates by k1, length normalisation by b.
K1 = 1.2
B = 0.75
_CACHE_ATTR = "_description_index"
_lock = threading.Lock()


def lemmas(text: str) -> list[str]:
    """The words of a text as the project's lemmas ('Dogs ran' -> ['dog', 'run'])."""
    return [lemma(word) for word in tokenize(text)]


@dataclass(frozen=True)
class WordMatch:
    image: str
    # BM25 of the description over the BM25 an average-length description holding each query
    # word once would get, capped at 1: 1 = every word of the query, 0.5 = about half of the
    # query's weight (rare words weigh more than "a" or "the"). Comparable across queries.
    match: float


class DescriptionIndex:
    """BM25 over one gallery's descriptions (image id -> text). Read-only once built."""

    def __init__(self, descriptions: Mapping[str, str]) -> None:
        self.ids: tuple[str, ...] = tuple(sorted(descriptions))
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(self.ids), dtype=np.float64)
        for row, image in enumerate(self.ids):
            counts = Counter(lemmas(descriptions[image]))
            lengths[row] = sum(counts.values())
            for word, tf in counts.items():
                docs, tfs = postings.setdefault(word, ([], []))
                docs.append(row)
                tfs.append(tf)
        self._postings = {w: (np.array(d, dtype=np.int64), np.array(t, dtype=np.float64))
                          for w, (d, t) in postings.items()}
        average = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        self._norm = K1 * (1 - B + B * lengths / average)  # the length term of each description

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, word: str) -> float:
        """BM25's idf, never negative; a word no description holds weighs most."""
        held = len(self._postings[word][0]) if word in self._postings else 0
        return math.log(1 + (len(self.ids) - held + 0.5) / (held + 0.5))

    def matches(self, query: str) -> np.ndarray:
        """Every description's match with ``query`` (0..1, see WordMatch), in ``ids`` order."""
        words = set(lemmas(query))
        scores = np.zeros(len(self.ids), dtype=np.float64)
        ceiling = sum(self.idf(w) for w in words)
        if not words or ceiling <= 0:
            return scores
        for word in words & self._postings.keys():
            docs, tfs = self._postings[word]
            scores[docs] += self.idf(word) * tfs * (K1 + 1) / (tfs + self._norm[docs])
        return np.minimum(scores / ceiling, 1.0)

    def search(self, query: str, limit: int) -> list[WordMatch]:
        """The ``limit`` best-matching descriptions, best first; those matching no word left out."""
        scores = self.matches(query)
        found = np.flatnonzero(scores > 0)
        best = found[np.argsort(-scores[found], kind="stable")][:limit]
        return [WordMatch(self.ids[i], float(scores[i])) for i in best]


def for_gallery(gallery: Any) -> DescriptionIndex:
    """The description index of ``gallery`` (a core.search.service.Gallery), built on first use
    and kept on it. Rebuilt when the gallery is given another mapping or its count changes (an
    upload adding a described photo). The Gallery is a frozen dataclass: the index is a cache,
    not a field, so it is stored past the freeze."""
    descriptions: Mapping[str, str] = gallery.descriptions
    key = (id(descriptions), len(descriptions))
    cached = gallery.__dict__.get(_CACHE_ATTR)
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:  # two first searches at once build it once
        cached = gallery.__dict__.get(_CACHE_ATTR)
        if cached is None or cached[0] != key:
            cached = (key, DescriptionIndex(descriptions))
            object.__setattr__(gallery, _CACHE_ATTR, cached)
    return cached[1]
