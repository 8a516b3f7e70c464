"""The default child-photo classifier: the image encoder's last layers, fine-tuned.

It reads the encoder's trunk output (192 x 7 x 7 for EfficientNet-Lite0), which the same
forward pass that makes a photo's search vector also yields, so checking new photos costs only
the small tail. Out-of-fold scores set the threshold, then the network is refitted on every
photo with the same settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from core.encoders.registry import JOINED_BOTH_TUNED, get_encoder
from core.legal.logistic import (
    ChildPhotoClassifier,
    EncoderChildHead,
    _RecallThreshold,
    check_labels,
    check_params,
)
from core.models.two_tower import take_step

Progress = Callable[[int], None]
_BUILD_LOCK = threading.Lock()  # searches and uploads may share one bundle across threads


def relearns_whole_network(image_encoder: str) -> bool:
    """Whether ChildPhotoNet on `image_encoder` would fine-tune its whole CNN from the pixels (the
    child member was fine-tuned whole, so its trunk passes pixels through): a fit per fold that
    did not finish in 35 minutes on 2 cores (2026-11-28)."""
    return bool(get_encoder(image_encoder, "image").tail_is_whole_network())


class ChildPhotoNet(_RecallThreshold, ClassifierMixin, BaseEstimator):
    """scikit-learn style: ``fit(trunks, y)``, ``predict_proba(trunks)``, ``predict(trunks)``."""

    description = "fine-tuned last CNN block"

    def __init__(self, image_encoder: str = JOINED_BOTH_TUNED, target_recall: float = 0.98,
                 confidence: float = 0.95, epochs: int = 4, lr: float = 1e-3,
                 batch_size: int = 64, dropout: float = 0.3, weight_decay: float = 0.05,
                 folds: int = 10, seed: int = 42) -> None:
        self.image_encoder = image_encoder
        self.target_recall = target_recall
        self.confidence = confidence
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.folds = folds
        self.seed = seed

    def _network(self) -> nn.Module:
        encoder = get_encoder(self.image_encoder, "image")
        return nn.Sequential(encoder.tail_copy(), nn.Dropout(self.dropout), nn.Linear(encoder.tail_dim, 1))

    def fit(self, trunks: Any, y: Any, progress: Progress | None = None) -> ChildPhotoNet:
        """`trunks`: (photos, channels, height, width) trunk outputs; `progress` counts epochs."""
        trunks = _as_trunks(trunks)
        y = check_labels(y, len(trunks), self.folds)
        check_params(self.target_recall, self.confidence)
        if self.epochs < 1 or self.batch_size < 2 or self.lr <= 0:
            raise ValueError("epochs must be >= 1, batch_size >= 2 and lr > 0")
        oof = np.zeros(len(y))
        for train, test in self._splits(y):
            net = self._train(trunks[train], y[train], progress)
            oof[test] = _logits(net, trunks[test])
        self.net_ = self._train(trunks, y, progress)
        self.trunk_shape_ = tuple(int(d) for d in trunks.shape[1:])
        self.classes_ = np.array([False, True])
        self._select_threshold(oof, y)  # last: threshold_ marks the classifier as fitted
        return self

    def _train(self, trunks: torch.Tensor, y: np.ndarray, progress: Progress | None) -> nn.Module:
        torch.manual_seed(self.seed)
        order = torch.Generator().manual_seed(self.seed)
        net = self._network().train()
        optimiser = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        per_epoch = max(len(y) // self.batch_size, 1)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, self.lr,
                                                       total_steps=self.epochs * per_epoch)
        target = torch.from_numpy(y.astype(np.float32))
        # Balanced classes, as in the logistic baseline: recall is what the law asks for.
        weight = torch.tensor(float((~y).sum()) / float(y.sum()))
        for _ in range(self.epochs):
            batches = torch.randperm(len(y), generator=order)[: per_epoch * self.batch_size]
            for rows in batches.view(per_epoch, -1):
                x = trunks[rows].float()
                flip = torch.rand(len(rows), generator=order) < 0.5
                x[flip] = x[flip].flip(3)  # mirrored photos show the same people
                loss = nn.functional.binary_cross_entropy_with_logits(
                    net(x).squeeze(1), target[rows], pos_weight=weight)
                take_step(loss, optimiser, schedule)
            if progress is not None:
                progress(1)
        return net.eval()

    def decision_function(self, trunks: Any) -> np.ndarray:
        self._check_fitted()
        trunks = _as_trunks(trunks)
        if tuple(trunks.shape[1:]) != self.trunk_shape_:
            raise ValueError(f"trunk outputs of shape {tuple(trunks.shape[1:])}; the classifier "
                             f"was fitted on {self.trunk_shape_}")
        return _logits(self._net(), trunks)

    def _net(self) -> nn.Module:
        """The fitted network; one read from a saved state is built on first use (building it
        loads the image encoder, which a search that never checks a photo does not need)."""
        with _BUILD_LOCK:
            if not hasattr(self, "net_"):
                net = self._network()
                try:
                    net.load_state_dict(self.weights_)
                except RuntimeError as exc:
                    raise ValueError(f"ChildPhotoNet weights do not fit {self.image_encoder}: {exc}") from exc
                self.net_ = net.eval()
        return self.net_

    def to_state(self) -> dict[str, Any]:
        """Tensors and plain values only, so the bundle loads with ``weights_only=True``."""
        self._check_fitted()
        return {"kind": "ChildPhotoNet", "params": self.get_params(), **self._fitted_state(),
                "trunk_shape": list(self.trunk_shape_), "weights": self._net().state_dict()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ChildPhotoNet:
        try:
            if state.get("kind") != "ChildPhotoNet":
                raise ValueError(f"not a ChildPhotoNet state (kind={state.get('kind')!r})")
            clf = cls(**state["params"])
            weights = state["weights"]
            if not weights or not all(isinstance(w, torch.Tensor) for w in weights.values()):
                raise ValueError("weights must be a non-empty mapping of tensors")
            clf.weights_ = weights
            clf.trunk_shape_ = tuple(int(d) for d in state["trunk_shape"])
            clf._restore(state)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed ChildPhotoNet state: {exc!r}") from exc
        clf.classes_ = np.array([False, True])
        return clf


def load_child_classifier(state: dict[str, Any]) -> ChildPhotoNet | ChildPhotoClassifier:
    """Either kind from its saved state."""
    from core.legal.blend import BlendedChildClassifier

    kinds = {c.__name__: c for c in (ChildPhotoNet, ChildPhotoClassifier, EncoderChildHead,
                                     BlendedChildClassifier)}
    kind = state.get("kind") if isinstance(state, dict) else None
    if kind not in kinds:
        raise ValueError(f"unknown child classifier {kind!r}; valid: {', '.join(kinds)}")
    return kinds[kind].from_state(state)


def _as_trunks(trunks: Any) -> torch.Tensor:
    tensor = trunks if isinstance(trunks, torch.Tensor) else torch.from_numpy(np.asarray(trunks))
    if tensor.ndim != 4:
        raise ValueError(f"expected trunk outputs (photos, channels, height, width), got shape "
                         f"{tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError("trunk outputs contain NaN or infinite values")
    return tensor


def _logits(net: nn.Module, trunks: torch.Tensor, batch: int = 256) -> np.ndarray:
    """Mean logit of each photo and its mirror image."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(trunks), batch):
            x = trunks[start : start + batch].float()
            out.append(((net(x) + net(x.flip(3))) / 2).squeeze(1).numpy())
    return np.concatenate(out) if out else np.zeros(0)
