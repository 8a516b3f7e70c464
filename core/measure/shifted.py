"""The child check on photos unlike the training ones: recall and other photos withheld on
holdout as it is and under each shift of core.legal.shifts, with the worst case. Clean figures:
nothing is chosen on them (the threshold rule is chosen on training photos only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.foundation.settings import Settings
from core.legal.network import ChildPhotoNet
from core.legal.training import shifted_vectors

ProgressFactory = Callable[[str, int], Callable[[int], None]]


def shares(flagged: np.ndarray, child: np.ndarray) -> dict[str, float]:
    """Child photos flagged (recall) and other photos withheld."""
    return {"recall": float(flagged[child].mean()), "withheld": float(flagged[~child].mean())}


def shift_figures(settings: Settings, classifier: Any, paths: list[Path], child: np.ndarray,
                  plain_flagged: np.ndarray, progress: ProgressFactory) -> dict[str, Any]:
    """Per shift and worst case, beside the plain figures; empty for a classifier that reads the
    network's trunk (its shifted trunks are not kept: the shipped check reads the vector)."""
    if isinstance(classifier, ChildPhotoNet):
        return {}
    per_shift = {"plain": shares(plain_flagged, child)}
    for name, vectors in shifted_vectors(settings, paths, progress).items():
        per_shift[name] = shares(classifier.predict(vectors), child)
    worst_recall = min(per_shift, key=lambda n: per_shift[n]["recall"])
    most_withheld = max(per_shift, key=lambda n: per_shift[n]["withheld"])
    return {
        "image_shifts_holdout": per_shift,
        "image_recall_holdout_worst_shift": per_shift[worst_recall]["recall"],
        "image_recall_holdout_worst_shift_name": worst_recall,
        "image_withheld_nonchild_holdout_worst_shift": per_shift[most_withheld]["withheld"],
        "image_withheld_nonchild_holdout_worst_shift_name": most_withheld,
    }
