"""The baselines the two-tower is measured against (README, "The pages": Model comparison): the constant
mean, linear regression and a fully connected network on concatenated ``[text | image]`` vectors,
and an MLP over the two-tower's features. scikit-learn estimators like those in core.models.two_tower.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from torch import nn
from torch.nn import functional as F

from core.models.estimators import check_fitted
from core.models.two_tower import TwoTower, check_xy, seed_everything, take_step


class ConstantModel(RegressorMixin, BaseEstimator):
    """The baseline every model must beat: always the mean training target."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> ConstantModel:
        _, y = check_xy(X, y)
        self.mean_ = float(y.mean())  # type: ignore[union-attr]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "mean_")
        return np.full(len(X), self.mean_, dtype=np.float32)


class LinearConcat(RegressorMixin, BaseEstimator):
    """Linear regression (ridge-regularised: 1664 features, ~5k pairs) on concatenated vectors."""

    def __init__(self, alpha: float = 10.0) -> None:
        self.alpha = alpha

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearConcat:
        X, y = check_xy(X, y)
        self.model_ = Ridge(alpha=self.alpha).fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "model_")
        return np.clip(self.model_.predict(check_xy(X)[0]), 0, 1).astype(np.float32)


def _train_regressor(
    net: nn.Module, X: np.ndarray, y: np.ndarray, epochs: int, lr: float, weight_decay: float,
    batch_size: int, seed: int,
) -> nn.Module:
    gen = seed_everything(seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    optim = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            loss = F.mse_loss(torch.sigmoid(net(Xt[idx]).squeeze(-1)), yt[idx])
            take_step(loss, optim)
    return net.eval()


def _mlp(in_dim: int, hidden: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
    )


class MLPConcat(RegressorMixin, BaseEstimator):
    """A fully connected network (torch) on the concatenated vectors, sigmoid output."""

    def __init__(self, hidden: int = 256, epochs: int = 30, lr: float = 1e-3,
                 weight_decay: float = 1e-2, dropout: float = 0.3, seed: int = 42) -> None:
        self.hidden, self.epochs, self.lr = hidden, epochs, lr
        self.weight_decay, self.dropout, self.seed = weight_decay, dropout, seed

    def _features(self, X: np.ndarray) -> np.ndarray:
        return X

    def fit(self, X: np.ndarray, y: np.ndarray) -> MLPConcat:
        X, y = check_xy(X, y)
        features = self._features(X)
        seed_everything(self.seed)
        net = _mlp(features.shape[1], self.hidden, self.dropout)
        self.net_ = _train_regressor(net, features, y, self.epochs, self.lr, self.weight_decay,  # type: ignore[arg-type]
                                     64, self.seed)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "net_")
        features = self._features(check_xy(X)[0])
        with torch.inference_mode():
            return torch.sigmoid(self.net_(torch.from_numpy(features)).squeeze(-1)).numpy()


class TwoTowerMLP(MLPConcat):
    """An MLP head over two-tower features: the cosine and the element-wise product. `tower` is
    fitted elsewhere, as for :class:`TwoTowerRelevance`."""

    def __init__(self, tower: TwoTower, text_dim: int, hidden: int = 128, epochs: int = 40,
                 lr: float = 1e-3, weight_decay: float = 1e-2, dropout: float = 0.3,
                 seed: int = 42) -> None:
        super().__init__(hidden, epochs, lr, weight_decay, dropout, seed)
        self.tower = tower
        self.text_dim = text_dim

    def _features(self, X: np.ndarray) -> np.ndarray:
        t = self.tower.embed_text(X[:, : self.text_dim])
        i = self.tower.embed_image(X[:, self.text_dim :])
        cos = self.tower.centred_cosine((t * i).sum(1), t)[:, None]
        return np.hstack([cos * 10, t * i * 10]).astype(np.float32)
