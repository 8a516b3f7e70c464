"""Hybrid search: the vision ranking and the photographers' descriptions, fused into one 0..1
score (#36).

The score of a photo is

    score = vision + WORDS_WEIGHT * words * (1 - vision)

where ``vision`` is today's calibrated 0..1 score of the photo (the two-tower cosine through
the model's calibration) and ``words`` the description's match with the query (0..1,
core.search.descriptions.WordMatch). Words only ever raise a score, by a share of what vision
left short of 1: a photo without a description, or whose description shares no word with the
query, keeps exactly its vision score; a photo found only by its words still gets its own vision
score (read from its stored vector), raised by the match. So the score stays a 0..1 relevance
that means the same with or without descriptions. WORDS_WEIGHT was chosen on training-side
data only (core.measure.hybrid_figures.selection_figures), never on holdout.

The law is untouched: the vision ranking comes from the index, which withholds flagged photos
and counts them; a photo the description path finds is kept only when the index has it and it
is not flagged, so a withheld photo never comes back through its words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from core.bundle import ModelBundle
from core.search.descriptions import for_gallery

# Chosen on the practicum test photos (simulated descriptions on 100% and 30% of them; the largest
# smallest gain over vision, core.measure.hybrid_figures.choose_weight), never on holdout.
WORDS_WEIGHT = 0.6
# Description matches considered beside the vision top k: enough that a photo found only by its
# words reaches the top k when it should, few enough that reading their vectors stays cheap.
WORD_CANDIDATES = 100


class Ranked(Protocol):
    """What the service's vision hits give: id, calibrated score, raw cosine."""

    image: str
    score: float | None
    similarity: float


class Fused(NamedTuple):
    image: str
    score: float
    similarity: float  # the photo's cosine with the query in the two-tower space, as ever


def fuse_scores(vision: np.ndarray, words: np.ndarray, weight: float = WORDS_WEIGHT) -> np.ndarray:
    """The fused 0..1 score of photos with vision scores ``vision`` and word matches ``words``."""
    vision = np.clip(np.asarray(vision, dtype=np.float64), 0.0, 1.0)
    words = np.clip(np.asarray(words, dtype=np.float64), 0.0, 1.0)
    return vision + weight * words * (1.0 - vision)


def vision_scores(bundle: ModelBundle, cosines: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Calibrated 0..1 scores of cosines with one query vector, as the service computes them."""
    centred = bundle.tower.centred_cosine(np.asarray(cosines, dtype=np.float64), query[None, :])
    return bundle.score(centred).astype(np.float64)


def with_descriptions(bundle: ModelBundle, gallery: Any, text: str, query: np.ndarray,
                      hits: Sequence[Ranked], top_k: int) -> list[Fused]:
    """The vision ``hits`` (the index's top k, flagged photos already withheld) fused with the
    descriptions of ``gallery`` (a core.search.service.Gallery) matching ``text``; best first."""
    matches = {m.image: m.match for m in for_gallery(gallery).search(text, WORD_CANDIDATES)}
    cosine = {h.image: h.similarity for h in hits}
    vision = {h.image: float(h.score) for h in hits if h.score is not None}
    extra = [image for image in matches if image not in cosine]
    kept: list[str] = []
    sims: list[float] = []
    for image in extra:
        stored = gallery.index.stored(image)
        if stored is None or stored.flagged:  # gone from the index, or withheld by the law
            continue
        kept.append(image)
        sims.append(float(np.dot(stored.vector, query)))
    if kept:
        cosine.update(zip(kept, sims, strict=True))
        vision.update(zip(kept, vision_scores(bundle, np.array(sims), query).tolist(), strict=True))
    images = list(cosine)
    fused = fuse_scores(np.array([vision[i] for i in images]),
                        np.array([matches.get(i, 0.0) for i in images]))
    # best fused score first; ties (e.g. no words at all) keep the vision order
    order = sorted(range(len(images)), key=lambda j: (-fused[j], -cosine[images[j]]))[:top_k]
    return [Fused(images[j], float(fused[j]), cosine[images[j]]) for j in order]
