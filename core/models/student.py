"""The Russian student: a map from the multilingual encoder's query vectors (multilingual-e5-small)
onto the vectors the English text side gives the same caption, so a Russian query lands where
its English original does and galleries need no re-encoding (distillation, as Multilingual-CLIP).

A scikit-learn estimator: ``__init__`` stores parameters, ``fit`` returns self, learned
attributes end in ``_``, ``predict`` checks it is fitted. ``hidden=0`` is ridge regression in
closed form; ``hidden>0`` adds a residual MLP on top of that linear map, trained on cosine loss.
Rows out are L2-normalised float32, as an encoder's are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn
from torch.nn import functional as F

from core.models.estimators import check_fitted
from core.models.two_tower import check_xy, seed_everything, take_step


def ridge_map(X: np.ndarray, Y: np.ndarray, alpha: float, weight: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) minimising sum_i w_i |X_i W + b - Y_i|^2 + alpha |W|^2, in closed form."""
    w = np.ones(len(X)) if weight is None else np.asarray(weight, np.float64)
    w = w / w.sum()
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    mx, my = w @ X64, w @ Y64
    Xc, Yc = X64 - mx, Y64 - my
    gram = (Xc * w[:, None]).T @ Xc + alpha / len(X) * np.eye(X.shape[1])
    W = np.linalg.solve(gram, (Xc * w[:, None]).T @ Yc)
    return W.astype(np.float32), (my - mx @ W).astype(np.float32)


class QueryStudent(BaseEstimator):
    """Multilingual query vectors -> the English text side's vectors.

    ``fit(X, Y, language)``: X the multilingual vectors, Y the targets (the English side's vector
    of each row's English caption), language 1 for a translated row, 0 for an English one.
    ``russian_weight`` weighs the translated rows (fewer, and the ones that matter)."""

    def __init__(self, alpha: float = 1.0, hidden: int = 0, epochs: int = 40, lr: float = 1e-3,
                 weight_decay: float = 1e-4, dropout: float = 0.1, batch_size: int = 256,
                 russian_weight: float = 1.0, seed: int = 42) -> None:
        self.alpha, self.hidden, self.epochs, self.lr = alpha, hidden, epochs, lr
        self.weight_decay, self.dropout, self.batch_size = weight_decay, dropout, batch_size
        self.russian_weight, self.seed = russian_weight, seed

    def fit(self, X: np.ndarray, Y: np.ndarray, language: np.ndarray | None = None) -> QueryStudent:
        X, _ = check_xy(X)
        Y, _ = check_xy(Y)
        if len(X) != len(Y):
            raise ValueError(f"X has {len(X)} rows but Y has {len(Y)}")
        lang = np.zeros(len(X)) if language is None else np.asarray(language, np.float64)
        weight = np.where(lang > 0, self.russian_weight, 1.0)
        W, b = ridge_map(X, Y, self.alpha, weight)
        self.weight_, self.bias_ = W, b
        self.mlp_: nn.Module | None = None
        if self.hidden:
            self.mlp_ = self._fit_mlp(X, Y, weight)
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_mlp(self, X: np.ndarray, Y: np.ndarray, weight: np.ndarray) -> nn.Module:
        gen = seed_everything(self.seed)
        mlp = nn.Sequential(nn.Linear(X.shape[1], self.hidden), nn.GELU(), nn.Dropout(self.dropout),
                            nn.Linear(self.hidden, Y.shape[1]))
        nn.init.zeros_(mlp[-1].weight)  # starts as the ridge map exactly
        nn.init.zeros_(mlp[-1].bias)
        optim = torch.optim.AdamW(mlp.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        Wt, bt = torch.from_numpy(self.weight_), torch.from_numpy(self.bias_)
        wt = torch.from_numpy((weight / weight.mean()).astype(np.float32))
        mlp.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(Xt), generator=gen)
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                out = Xt[idx] @ Wt + bt + mlp(Xt[idx])
                loss = ((1 - F.cosine_similarity(out, Yt[idx], dim=-1)) * wt[idx]).mean()
                take_step(loss, optim)
        return mlp.eval()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """L2-normalised float32 rows in the targets' space."""
        check_fitted(self, "weight_")
        X, _ = check_xy(X)
        out = X @ self.weight_ + self.bias_
        if self.mlp_ is not None:
            with torch.inference_mode():
                out = out + self.mlp_(torch.from_numpy(X)).numpy()
        return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def state(self) -> dict[str, Any]:
        """Plain tensors (float16, as the project's weights are kept) and the parameters."""
        check_fitted(self, "weight_")
        weights = {"weight": torch.from_numpy(self.weight_).half(),
                   "bias": torch.from_numpy(self.bias_).half()}
        if self.mlp_ is not None:
            weights.update({f"mlp.{k}": v.half() for k, v in self.mlp_.state_dict().items()})
        return {"params": self.get_params(), "weights": weights}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> QueryStudent:
        student = cls(**state["params"])
        weights = {k: v.float() for k, v in state["weights"].items()}
        student.weight_ = weights["weight"].numpy()
        student.bias_ = weights["bias"].numpy()
        student.n_features_in_ = student.weight_.shape[0]
        student.mlp_ = None
        if student.hidden:
            dim_out = student.weight_.shape[1]
            mlp = nn.Sequential(nn.Linear(student.n_features_in_, student.hidden), nn.GELU(),
                                nn.Dropout(student.dropout), nn.Linear(student.hidden, dim_out))
            mlp.load_state_dict({k[4:]: v for k, v in weights.items() if k.startswith("mlp.")})
            student.mlp_ = mlp.eval()
        return student


def language_shift(english: np.ndarray, russian: np.ndarray) -> np.ndarray:
    """The baseline to beat ("language centring"): what moves Russian vectors' mean onto the
    English ones', mean(English) - mean(Russian), from training rows."""
    return (np.mean(english, axis=0) - np.mean(russian, axis=0)).astype(np.float32)
