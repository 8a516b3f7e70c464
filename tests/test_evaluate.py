"""The evaluation's building blocks compute what their names say."""

from __future__ import annotations

import numpy as np

from core.measure.evaluate import cross_validate, kendall_tau_c, retrieval_metrics
from core.models.baselines import ConstantModel, LinearConcat
from core.models.two_tower import TwoTower


class _Identity(TwoTower):
    """A 'tower' that leaves vectors as they are, to check ranks by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.text_tower_ = self.image_tower_ = True

    def embed_text(self, vectors: np.ndarray) -> np.ndarray:
        return vectors

    def embed_image(self, vectors: np.ndarray) -> np.ndarray:
        return vectors


def test_retrieval_metrics_count_ranks() -> None:
    images = np.eye(4, dtype=np.float32)
    # query 0 -> image 0 ranked first; query 1 -> image 1 ranked second; query 2 -> image 3 ranked 4th
    texts = np.array([[1, 0, 0, 0], [0.9, 0.5, 0, 0], [0.4, 0.3, 0.2, 0.1]], dtype=np.float32)
    m = retrieval_metrics(_Identity(), texts, images, np.array([0, 1, 3]))
    assert np.isclose(m["r1"], 100 / 3) and m["r5"] == 100.0
    assert np.isclose(m["mrr"], (1 + 1 / 2 + 1 / 4) / 3)
    assert m["queries"] == 3 and m["images"] == 4


def test_cross_validation_splits_by_group_and_beats_constant() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5)).astype(np.float32)
    y = np.clip(0.5 + 0.2 * X[:, 0], 0, 1).astype(np.float32)
    groups = np.repeat(np.arange(120), 5)
    seen: list[np.ndarray] = []

    def linear(train_idx: np.ndarray) -> LinearConcat:
        seen.append(train_idx)
        return LinearConcat()

    scores = cross_validate({"constant": lambda idx: ConstantModel(), "linear": linear}, X, y, groups)
    assert len(seen) == 5
    for train_idx in seen:  # a fold never holds part of a group back
        test_groups = set(groups) - set(groups[train_idx])
        assert len(test_groups) == 24 and not test_groups & set(groups[train_idx])
    assert scores["linear"]["rmse"] < scores["constant"]["rmse"] / 2
    assert scores["constant"]["kendall_tau_c"] == 0.0
    assert scores["linear"]["kendall_tau_c"] > 0.8
    assert set(scores["linear"]) == {"rmse", "rmse_std", "mae", "kendall_tau_c"}


def test_kendall_tau_c_sign() -> None:
    x = np.arange(10.0)
    assert kendall_tau_c(x, x) > 0.99 and kendall_tau_c(x, -x) < -0.99
