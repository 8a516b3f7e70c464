"""Hybrid search measured, SIMULATED (#36): no photo in our data carries a photographer's
description, so each photo's first caption stands in for one and its other captions are the
queries. R@1 and R@10 for vision only, description only and hybrid (core.search.hybrid), with
descriptions on every photo and on a fixed seeded 30% of them.

Two sets: ``selection_figures`` on the 100 practicum test photos (which the trained model never
learnt): it chose WORDS_WEIGHT; ``holdout_figures`` on holdout, read once after the weight was
fixed. Both use the trained model (artifacts/model.pt) and its calibration.
Ranks are exact over the whole set (the service considers the vision top k plus its
WORD_CANDIDATES best description matches, which holds the same photos at the top in practice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.build.train import (
    ProgressFactory,
    image_vectors,
    no_progress,
)
from core.bundle import ModelBundle
from core.data import dataset as data
from core.encoders.cache import embed_texts
from core.foundation.settings import ArtifactsMissingError, Settings
from core.models.two_tower import TwoTower
from core.search.descriptions import DescriptionIndex
from core.search.hybrid import WORDS_WEIGHT, fuse_scores

SIMULATED = ("simulated: each photo's first caption stands in for its photographer's description, "
             "its other captions are the queries")
COVERAGES = (1.0, 0.3)
WEIGHTS = tuple(round(w, 2) for w in np.arange(0.0, 1.01, 0.1))
KINDS = ("vision", "description", "hybrid")

# (cosines queries x photos, query vectors) -> calibrated 0..1 vision scores
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class CaptionedSet:
    """Photos with a stand-in description each, and the queries that describe them."""

    photos: list[str]
    image_vectors: np.ndarray  # in the two-tower space, one row per photo
    descriptions: list[str]  # the stand-in description of each photo
    queries: list[str]
    query_vectors: np.ndarray  # in the two-tower space, one row per query
    truth: np.ndarray  # the row of the photo each query describes


def split_captions(captions: pd.DataFrame) -> tuple[list[str], list[str], list[str], list[str]]:
    """(photos, their first captions, other captions, the photo of each): captions ordered by
    caption_id within a photo ('x.jpg#0' first)."""
    ordered = captions.sort_values(["image", "caption_id"], kind="stable")
    first = ordered.groupby("image", sort=True).head(1)
    rest = ordered.drop(first.index)
    return (first["image"].tolist(), first["caption"].tolist(), rest["caption"].tolist(),
            rest["image"].tolist())


def calibrated(bundle: ModelBundle, tower: TwoTower) -> Scorer:
    """Cosines of ``tower`` through ``bundle``'s calibration, centred as the service does."""
    return lambda cos, q: bundle.score(tower.centred_cosine(cos.T, q).T).astype(np.float64)


def _ranks(scores: np.ndarray, truth: np.ndarray, tiebreak: np.ndarray | None = None) -> np.ndarray:
    rows = np.arange(len(truth))
    own = scores[rows, truth][:, None]
    ranks = (scores > own).sum(1) + 1
    if tiebreak is not None:
        ranks += ((scores == own) & (tiebreak > tiebreak[rows, truth][:, None])).sum(1)
    return ranks


def _recalls(ranks: np.ndarray) -> dict[str, float]:
    return {"r1": float(np.mean(ranks <= 1) * 100), "r10": float(np.mean(ranks <= 10) * 100)}


def described(count: int, share: float, seed: int) -> np.ndarray:
    """Which of ``count`` photos have a description: all, or a fixed seeded share."""
    mask = np.zeros(count, dtype=bool)
    if share >= 1.0:
        mask[:] = True
    else:
        mask[np.random.default_rng(seed).choice(count, size=round(count * share), replace=False)] = True
    return mask


def word_matches(index: DescriptionIndex, rows: Sequence[int], queries: list[str], photos: int) -> np.ndarray:
    """Each query's word match with each photo (0 where a photo has no description)."""
    matches = np.zeros((len(queries), photos), dtype=np.float64)
    for q, text in enumerate(queries):
        matches[q, rows] = index.matches(text)
    return matches


def figures(data_set: CaptionedSet, score: Scorer, weights: Sequence[float] = (WORDS_WEIGHT,),
            seed: int = 42) -> dict[str, Any]:
    """R@1/R@10 (%) of vision, description and hybrid at each coverage; hybrid once per weight."""
    cos = data_set.query_vectors @ data_set.image_vectors.T
    vision = score(cos, data_set.query_vectors)
    truth = data_set.truth
    vision_recall = _recalls(_ranks(cos, truth))
    out: dict[str, Any] = {"simulated": True, "how": SIMULATED, "photos": len(data_set.photos),
                           "queries": len(data_set.queries), "seed": seed, "coverage": {}}
    for share in COVERAGES:
        mask = described(len(data_set.photos), share, seed)
        rows = np.flatnonzero(mask)
        ids = [str(i) for i in rows]  # row numbers as ids: DescriptionIndex sorts them as text
        index = DescriptionIndex(dict(zip(ids, (data_set.descriptions[i] for i in rows), strict=True)))
        order = np.array([int(i) for i in index.ids], dtype=np.int64)
        words = word_matches(index, order, data_set.queries, len(data_set.photos))
        word_ranks = _ranks(words, truth)
        word_ranks[words[np.arange(len(truth)), truth] <= 0] = len(data_set.photos) + 1  # not found
        hybrid = {f"{w:g}": _recalls(_ranks(fuse_scores(vision, words, w), truth, tiebreak=cos))
                  for w in weights}
        out["coverage"][f"{round(share * 100)}%"] = {
            "described_photos": int(mask.sum()), "vision": vision_recall,
            "description": _recalls(word_ranks),
            "hybrid": hybrid[f"{weights[0]:g}"] if len(weights) == 1 else hybrid}
    return out


def choose_weight(by_weight: dict[str, Any]) -> float:
    """The weight whose smallest gain over vision (R@1 and R@10, at every coverage) is largest,
    ties to the best mean: words must not cost the undescribed photos of a partly described
    gallery their place. Selection data only."""
    figures = [(c["hybrid"], c["vision"], k) for c in by_weight["coverage"].values() for k in ("r1", "r10")]

    def merit(w: str) -> tuple[float, float]:
        gains = [hybrid[w][k] - vision[k] for hybrid, vision, k in figures]
        return round(min(gains), 6), float(np.mean(gains))

    return float(max(figures[0][0], key=merit))


def _text_vectors(settings: Settings, bundle: ModelBundle, tower: TwoTower, texts: list[str],
                  progress: ProgressFactory) -> np.ndarray:
    raw = embed_texts(texts, bundle.text_encoder, settings.cache_dir, lemmatized=bundle.lemmatize,
                      progress=progress("queries", len(texts)))
    return tower.embed_text(raw)


def captioned_set(settings: Settings, bundle: ModelBundle, captions: pd.DataFrame, folder: Path,
                  progress: ProgressFactory = no_progress) -> CaptionedSet:
    """Photos of ``folder`` with their captions (image, caption_id, caption) as a simulated
    described gallery, in ``bundle``'s two-tower space."""
    settings = replace(settings, text_encoder=bundle.text_encoder, image_encoder=bundle.image_encoder)
    photos, firsts, queries, owners = split_captions(captions)
    by_name = image_vectors(settings, folder, photos, progress)
    images = bundle.tower.embed_image(np.stack([by_name[p] for p in photos]))
    position = {p: i for i, p in enumerate(photos)}
    return CaptionedSet(photos, images, firsts, queries,
                        _text_vectors(settings, bundle, bundle.tower, queries, progress),
                        np.array([position[o] for o in owners]))


def holdout_figures(settings: Settings, bundle: ModelBundle,
                    progress: ProgressFactory = no_progress) -> dict[str, Any]:
    """The clean simulated figures at the shipped WORDS_WEIGHT, with the trained model."""
    holdout = captioned_set(settings, bundle, data.load_holdout(settings.holdout_dir),
                            settings.holdout_dir / "images", progress)  # FINAL EVALUATION ONLY
    return {**figures(holdout, calibrated(bundle, bundle.tower), seed=settings.seed),
            "words_weight": WORDS_WEIGHT}


def selection_figures(settings: Settings, bundle: ModelBundle,
                      progress: ProgressFactory = no_progress) -> dict[str, Any]:
    """Every weight of WEIGHTS on the practicum test photos (100 photos, their first caption as
    description, the other four as queries; the trained model never learnt them), and the
    weight chosen there."""
    captions = data.load_test_queries(settings.practicum_dir).rename(
        columns={"query_id": "caption_id", "query_text": "caption"})
    test = captioned_set(settings, bundle, captions, settings.practicum_dir / "test_images", progress)
    result = figures(test, calibrated(bundle, bundle.tower), WEIGHTS, settings.seed)
    return {**result, "chosen_weight": choose_weight(result), "weights": list(WEIGHTS)}


def evaluate_hybrid(settings: Settings, progress: ProgressFactory = no_progress) -> dict[str, Any]:
    """metrics.json's "hybrid_simulated": selection first, then holdout once, with the trained
    model (artifacts/model.pt); without one, the reason instead of figures."""
    try:
        bundle = ModelBundle.load(settings.artifacts_dir)
    except ArtifactsMissingError as exc:
        return {"simulated": True, "not_measured": str(exc)}
    return {"simulated": True, "model_sha256": bundle.sha256,
            "selection": selection_figures(settings, bundle, progress),
            "holdout": holdout_figures(settings, bundle, progress)}
