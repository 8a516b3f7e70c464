"""Child-photo classifiers: which photos may never be shown, whatever the query.

They learn from photos labelled by their captions (:func:`core.legal.lexicon.caption_child_labels`) and
pick their threshold on out-of-fold scores so that recall holds on photos they never saw.
:class:`ChildPhotoClassifier`, logistic regression on the photo's search vector, is the
product's check (a dot product on the vector indexing makes anyway); :class:`EncoderChildHead`
is the head a fine-tuned encoder learnt with it. The others live beside: core.legal.network (a
network's last block, fine-tuned on its trunk) and core.legal.blend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

from core.models.estimators import check_fitted


def threshold_for_recall(scores: np.ndarray, target_recall: float, confidence: float = 0.95) -> float:
    """The highest threshold at which recall on new photos is at least ``target_recall`` with the
    given confidence (one-sided Clopper-Pearson bound on the positives' out-of-fold scores).

    A threshold that merely reaches the target on the training scores falls short on about half
    of new samples; the bound keeps a margin that shrinks as more positives are seen.
    ``confidence=0`` gives the plain point estimate.
    """
    positives = np.sort(np.asarray(scores, dtype=float))[::-1]
    n = len(positives)
    if not n:
        raise ValueError("no positive scores to choose a threshold from")
    from scipy.stats import beta  # fitting only: a search process never pays for scipy.stats

    for kept in range(1, n + 1):
        bound = kept / n if confidence <= 0 else beta.ppf(1 - confidence, kept, n - kept + 1)
        if bound >= target_recall - 1e-12:
            return float(positives[kept - 1])
    return float(positives[-1])  # the target cannot be proven: keep every positive's score


def check_params(target_recall: float, confidence: float) -> None:
    if not 0 < target_recall <= 1:
        raise ValueError(f"target_recall must be in (0, 1], got {target_recall}")
    if not 0 <= confidence < 1:
        raise ValueError(f"confidence must be in [0, 1), got {confidence}")


def check_labels(y: Any, rows: int, folds: int) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or len(labels) != rows:
        raise ValueError(f"y must be 1-D with one label per photo ({rows}), got {labels.shape}")
    if not set(np.unique(labels).tolist()) <= {0, 1}:
        raise ValueError("y must hold booleans or 0/1 (1 = shows a child)")
    labels = labels.astype(bool)
    fewest = min(int(labels.sum()), int((~labels).sum()))
    if fewest < folds:
        raise ValueError(f"need at least {folds} photos of each class for {folds}-fold selection, "
                         f"got {fewest}")
    return labels


def as_matrix(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D array of image vectors, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("image vectors contain NaN or infinite values")
    return X


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1, as the encoders return them: C then means the same for any input
    scale (standardising 1280 features instead left C=1 nearly unregularised and over-confident)."""
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


class _RecallThreshold:
    """Shared by both classifiers: out-of-fold scores -> threshold_, cv_recall_, cv_false_positive_rate_."""

    target_recall: float
    confidence: float
    folds: int
    seed: int
    description: str  # what the app's model facts call it

    def _select_threshold(self, oof_logits: np.ndarray, y: np.ndarray,
                          shifted_logits: np.ndarray | None = None, hold_shifted: bool = True) -> None:
        """The threshold from out-of-fold logits of the photos as they are and, when given,
        (shifts, photos) logits of the same photos under each shift: with `hold_shifted`, the
        lowest of the per-view thresholds, so the recall bound holds for every view, not only
        the plain one; the shifted views are always reported."""
        probability = expit(oof_logits)
        views = [probability] + ([] if shifted_logits is None else list(expit(shifted_logits)))
        self.threshold_ = min(threshold_for_recall(view[y], self.target_recall, self.confidence)
                              for view in (views if hold_shifted else views[:1]))
        flagged = probability >= self.threshold_
        self.cv_recall_ = float(flagged[y].mean())
        self.cv_false_positive_rate_ = float(flagged[~y].mean())
        # Each view's out-of-fold shares; the worst recall and the most withheld over views.
        recall = [float((view[y] >= self.threshold_).mean()) for view in views]
        withheld = [float((view[~y] >= self.threshold_).mean()) for view in views]
        self.cv_recall_worst_shift_ = min(recall)
        self.cv_false_positive_rate_worst_shift_ = max(withheld)

    def _splits(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        from sklearn.model_selection import StratifiedKFold

        folds = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        return list(folds.split(np.zeros(len(y)), y))

    def _check_fitted(self) -> None:
        check_fitted(self, "threshold_")  # what fit and from_state both set

    def decision_function(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        """sklearn's two columns, in the order of ``classes_``: [no child, child]."""
        child = np.asarray(expit(self.decision_function(X)), dtype=np.float64)
        return np.column_stack([1 - child, child])

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X)[:, 1] >= self.threshold_

    def _fitted_state(self) -> dict[str, float]:
        return {"threshold": float(self.threshold_), "cv_recall": float(self.cv_recall_),
                "cv_false_positive_rate": float(self.cv_false_positive_rate_),
                "cv_recall_worst_shift": float(getattr(self, "cv_recall_worst_shift_", self.cv_recall_)),
                "cv_false_positive_rate_worst_shift": float(getattr(
                    self, "cv_false_positive_rate_worst_shift_", self.cv_false_positive_rate_))}

    def _restore(self, state: dict[str, Any]) -> None:
        nan = float("nan")
        self.threshold_ = float(state["threshold"])
        self.cv_recall_ = float(state.get("cv_recall", nan))
        self.cv_false_positive_rate_ = float(state.get("cv_false_positive_rate", nan))
        self.cv_recall_worst_shift_ = float(state.get("cv_recall_worst_shift", self.cv_recall_))
        self.cv_false_positive_rate_worst_shift_ = float(
            state.get("cv_false_positive_rate_worst_shift", self.cv_false_positive_rate_))


class ChildPhotoClassifier(_RecallThreshold, ClassifierMixin, BaseEstimator):
    """Logistic regression on pooled image vectors.

    ``fit(X, y, shifted=[...])`` also takes the vectors of the same photos under shifts
    (core.legal.shifts, rows aligned with X): the threshold then holds for each shift's
    out-of-fold scores too, and with ``augment`` the regression also learns from the shifted
    copies (a photo's copies stay in its fold). Checking a photo still reads one vector."""

    description = "logistic regression"

    def __init__(self, target_recall: float = 0.98, confidence: float = 0.95, C: float = 1.0,
                 folds: int = 10, seed: int = 42, augment: bool = True,
                 shift_threshold: bool = True) -> None:
        self.target_recall = target_recall
        self.confidence = confidence
        self.C = C
        self.folds = folds
        self.seed = seed
        self.augment = augment
        self.shift_threshold = shift_threshold

    def _model(self) -> Any:  # sklearn's LogisticRegression, imported when fitting only
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)

    def _fit_rows(self, views: list[np.ndarray], y: np.ndarray, rows: np.ndarray) -> Any:
        used = views if self.augment else views[:1]
        return self._model().fit(np.vstack([v[rows] for v in used]), np.tile(y[rows], len(used)))

    def fit(self, X: Any, y: Any, shifted: Any = ()) -> ChildPhotoClassifier:
        X = as_matrix(X)
        y = check_labels(y, len(X), self.folds)
        check_params(self.target_recall, self.confidence)
        if self.C <= 0:
            raise ValueError(f"C must be > 0, got {self.C}")
        views = [unit_rows(X)] + [unit_rows(as_matrix(v)) for v in shifted]
        if any(v.shape != X.shape for v in views):
            raise ValueError(f"each shifted view must have the shape of X {X.shape}")
        oof = np.zeros((len(views), len(y)))
        for train, test in self._splits(y):
            fold_model = self._fit_rows(views, y, train)
            for k, view in enumerate(views):
                oof[k, test] = fold_model.decision_function(view[test])
        self._select_threshold(oof[0], y, oof[1:] if len(views) > 1 else None, self.shift_threshold)
        self.oof_logits_ = oof  # (views, photos): what the threshold was chosen on; not saved
        model = self._fit_rows(views, y, np.arange(len(y)))
        self.coef_ = model.coef_[0].astype(float)
        self.intercept_ = float(model.intercept_[0])
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([False, True])
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features; the classifier was fitted on "
                             f"{self.n_features_in_}")
        return unit_rows(X) @ self.coef_ + self.intercept_

    def to_state(self) -> dict[str, Any]:
        """Plain numbers and lists (no pickle)."""
        self._check_fitted()
        return {"kind": type(self).__name__, "params": self.get_params(), **self._fitted_state(),
                "intercept": float(self.intercept_), "coef": self.coef_.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ChildPhotoClassifier:
        try:
            if state.get("kind") != cls.__name__:
                raise ValueError(f"not a {cls.__name__} state (kind={state.get('kind')!r})")
            clf = cls(**state["params"])
            coef = np.asarray(state["coef"], dtype=float)
            if coef.ndim != 1 or not len(coef) or not np.isfinite(coef).all():
                raise ValueError("coef must be a non-empty list of finite numbers")
            clf.coef_, clf.intercept_ = coef, float(state["intercept"])
            clf._restore(state)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed {cls.__name__} state: {exc!r}") from exc
        clf.n_features_in_ = len(coef)
        clf.classes_ = np.array([False, True])
        return clf


class EncoderChildHead(ChildPhotoClassifier):
    """The child head trained with the fine-tuned photo encoder (`python -m lab finetune`): a
    logistic read of the same unit-length vector the search uses, so checking a photo costs a
    dot product. Its threshold was chosen there, on scores of photos each model never saw."""

    description = "child head trained with the photo encoder"

    def fit(self, X: Any, y: Any) -> EncoderChildHead:
        raise NotImplementedError("the head is trained with the encoder: python -m lab finetune")

    @classmethod
    def from_encoder(cls, name: str) -> EncoderChildHead:
        from core.encoders.own_weights import load_own_weights, read_manifest

        weights = load_own_weights(name)
        manifest = read_manifest(name) or {}
        figures, chosen = manifest.get("figures", {}), manifest.get("settings", {})
        params = {k: chosen[k] for k in ("target_recall", "confidence", "seed") if k in chosen}
        return cls.from_state({
            "kind": cls.__name__, "params": params, "threshold": float(weights["child_threshold"]),
            "cv_recall": figures.get("child_flagged_out_of_sample", float("nan")),
            "cv_false_positive_rate": figures.get("other_withheld_out_of_sample", float("nan")),
            "coef": weights["child_weight"].double().tolist(), "intercept": float(weights["child_bias"])})
