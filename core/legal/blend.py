"""A child-photo classifier for a photo vector that is part fine-tuned, part frozen.

A photo vector may join a network fine-tuned on the corpus captions (it learnt the child labels
of its training photos) and frozen ImageNet EfficientNet-Lite2 (it learnt none), as the default
did until 2026-11-28 (now both networks are fine-tuned, and "logistic" serves it). A head on
the whole vector may only learn, and be judged, on photos the fine-tune never saw; a head on the
frozen part may learn from every photo, three times as many. Blending the two scores withheld
fewer other photos at the same recall than the whole-vector head alone, out of fold on the 2,100
photos the fine-tune never saw: 0.496 against 0.547 on average over five fold seeds, lower for
each (selection figures; docs/experiments.md, "Legal", tells how the heads were measured).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.encoders.registry import REGISTRY
from core.legal.logistic import ChildPhotoClassifier, as_matrix, check_labels, check_params, unit_rows


class BlendedChildClassifier(ChildPhotoClassifier):
    """(1 - weight) * a / spread_a + weight * b / spread_b, where a is logistic regression on the
    whole unit vector fitted on the photos marked ``fresh`` in :meth:`fit`, and b logistic
    regression on the unit vector of columns ``frozen_columns`` fitted on every photo; each
    spread is the standard deviation of that head's out-of-fold scores. The threshold is chosen
    on out-of-fold blended scores of fresh photos only, where both heads are honest."""

    description = "logistic regression on the photo vector, blended with one on its frozen part"

    def __init__(self, frozen_columns: tuple[int, int] = (1280, 2560), weight: float = 0.3,
                 target_recall: float = 0.98, confidence: float = 0.95, C: float = 1.0,
                 folds: int = 10, seed: int = 42) -> None:
        super().__init__(target_recall, confidence, C, folds, seed)
        self.frozen_columns = frozen_columns
        self.weight = weight

    def _check_columns(self, width: int) -> tuple[int, int]:
        start, stop = (int(c) for c in self.frozen_columns)
        if not 0 <= start < stop <= width:
            raise ValueError(f"frozen_columns {self.frozen_columns} do not fit vectors of {width}")
        return start, stop

    def fit(self, X: Any, y: Any, fresh: Any = None) -> BlendedChildClassifier:
        """``fresh``: per photo, whether the whole vector never learnt its label (default: all)."""
        X = as_matrix(X)
        y = check_labels(y, len(X), self.folds)
        check_params(self.target_recall, self.confidence)
        if self.C <= 0 or not 0 <= self.weight <= 1:
            raise ValueError(f"need C > 0 and 0 <= weight <= 1, got C={self.C}, weight={self.weight}")
        start, stop = self._check_columns(X.shape[1])
        fresh = np.ones(len(y), bool) if fresh is None else np.asarray(fresh, dtype=bool)
        if fresh.shape != y.shape:
            raise ValueError(f"fresh must hold one value per photo ({len(y)}), got {fresh.shape}")
        rows = np.flatnonzero(fresh)
        check_labels(y[rows], len(rows), self.folds)  # both classes among the fresh photos
        whole, part = unit_rows(X), unit_rows(X[:, start:stop])
        oof_whole, oof_part = np.zeros(len(rows)), np.zeros(len(rows))
        for train, test in self._splits(y[rows]):
            seen = rows[train]
            oof_whole[test] = self._model().fit(whole[seen], y[seen]).decision_function(whole[rows[test]])
            others = np.ones(len(y), bool)
            others[rows[test]] = False  # the frozen head may learn from any photo but these
            oof_part[test] = self._model().fit(part[others], y[others]).decision_function(part[rows[test]])
        self.spreads_ = (max(float(oof_whole.std()), 1e-12), max(float(oof_part.std()), 1e-12))
        self._select_threshold(self._blend(oof_whole, oof_part), y[rows])
        whole_model = self._model().fit(whole[rows], y[rows])
        part_model = self._model().fit(part, y)
        self.coef_, self.intercept_ = whole_model.coef_[0].astype(float), float(whole_model.intercept_[0])
        self.part_coef_ = part_model.coef_[0].astype(float)
        self.part_intercept_ = float(part_model.intercept_[0])
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([False, True])
        return self

    def _blend(self, whole: np.ndarray, part: np.ndarray) -> np.ndarray:
        return (1 - self.weight) * whole / self.spreads_[0] + self.weight * part / self.spreads_[1]

    def decision_function(self, X: Any) -> np.ndarray:
        whole = super().decision_function(X)  # checks fitted and the width
        start, stop = self._check_columns(self.n_features_in_)
        part = unit_rows(as_matrix(X)[:, start:stop]) @ self.part_coef_ + self.part_intercept_
        return self._blend(whole, part)

    def to_state(self) -> dict[str, Any]:
        state = super().to_state()
        state["params"]["frozen_columns"] = list(self.frozen_columns)
        return {**state, "spreads": list(self.spreads_), "part_coef": self.part_coef_.tolist(),
                "part_intercept": self.part_intercept_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BlendedChildClassifier:
        try:
            params = {**state["params"], "frozen_columns": tuple(state["params"]["frozen_columns"])}
            clf = super().from_state({**state, "params": params})
            part = np.asarray(state["part_coef"], dtype=float)
            start, stop = clf._check_columns(clf.n_features_in_)
            if part.shape != (stop - start,) or not np.isfinite(part).all():
                raise ValueError(f"part_coef must hold {stop - start} finite numbers")
            clf.part_coef_, clf.part_intercept_ = part, float(state["part_intercept"])
            clf.spreads_ = tuple(float(s) for s in state["spreads"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed {cls.__name__} state: {exc!r}") from exc
        return clf  # type: ignore[return-value]


def member_columns(image_encoder: str) -> list[tuple[str, tuple[int, int]]]:
    """Each member of `image_encoder` (itself, when it has none) with the columns it fills in
    the joined vector, in order."""
    spec, start, columns = REGISTRY[image_encoder], 0, []
    for member in spec.members or (image_encoder,):
        columns.append((member, (start, start + REGISTRY[member].dim)))
        start += REGISTRY[member].dim
    return columns


def frozen_columns_of(image_encoder: str) -> tuple[int, int]:
    """The columns of `image_encoder`'s vectors that come from a member with no weights of the
    project's own (it learnt no child label): the last such member of a joined encoder, or the
    whole vector of a frozen one."""
    frozen = [cols for member, cols in member_columns(image_encoder) if REGISTRY[member].own_weights is None]
    if not frozen:
        raise ValueError(f"{image_encoder} has no frozen part for a blended child classifier")
    return frozen[-1]
