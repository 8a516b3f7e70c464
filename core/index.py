"""Vector indexes behind one interface: exact in-process search, or PostgreSQL + pgvector.

Rows carry an id (the photo's file name), an L2-normalised float32 vector and a child flag;
flagged rows are never returned, and each search says how many of them it held back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from core.embeddings import atomic_save_npz


class IndexFileError(RuntimeError):
    """An index file is missing, damaged or does not match the model."""


@dataclass(frozen=True)
class Hit:
    id: str
    similarity: float  # cosine similarity in the two-tower space, -1..1


@dataclass(frozen=True)
class IndexResult:
    hits: list[Hit]
    withheld: int  # flagged rows that would have ranked in the top k


class VectorIndex(Protocol):
    dim: int

    def __len__(self) -> int: ...

    def ids(self) -> list[str]: ...

    def add(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray) -> None: ...

    def search(self, query: np.ndarray, k: int) -> IndexResult: ...

    def search_many(self, queries: np.ndarray, k: int) -> list[IndexResult]: ...


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first (partial sort: O(n) plus k log k)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _half_scores(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """queries @ vectors.T over float16 storage (half the memory): numpy has no fast float16
    product, torch's half matrix-vector kernel is as fast as float32 BLAS."""
    import torch

    matrix = torch.from_numpy(vectors)
    rows = [torch.mv(matrix, torch.from_numpy(q).half()).float().numpy() for q in queries]
    return np.stack(rows) if rows else np.zeros((0, len(vectors)), dtype=np.float32)


class ExactIndex:
    """Exact search: one matrix product and a partial sort. Readers never see a half update:
    add() builds new arrays and swaps them in under a lock."""

    def __init__(self, dim: int, dtype: str = "float32") -> None:
        self.dim = dim
        self.dtype = np.dtype(dtype)
        self._ids: list[str] = []
        self._vectors = np.zeros((0, dim), dtype=self.dtype)
        self._flags = np.zeros(0, dtype=bool)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> list[str]:
        return list(self._ids)

    def flags(self) -> np.ndarray:
        return self._flags.copy()

    def vectors(self) -> np.ndarray:
        return self._vectors

    def add(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(vectors) != len(ids):
            raise ValueError(f"expected {len(ids)} vectors of dimension {self.dim}, got {vectors.shape}")
        if len(flags) != len(ids):
            raise ValueError("one child flag per id is required")
        with self._lock:
            known = set(self._ids)
            keep = [i for i, name in enumerate(ids) if name not in known]
            self._vectors = np.vstack([self._vectors, vectors[keep].astype(self.dtype)])
            self._flags = np.concatenate([self._flags, np.asarray(flags, dtype=bool)[keep]])
            self._ids = self._ids + [ids[i] for i in keep]

    def _result(self, scores: np.ndarray, flags: np.ndarray, ids: list[str], k: int) -> IndexResult:
        best = top_k(scores, k)
        withheld = int(flags[best].sum())
        if withheld:
            scores = np.where(flags, -np.inf, scores)
            best = top_k(scores, k)
            best = best[np.isfinite(scores[best])]
        return IndexResult([Hit(ids[i], float(scores[i])) for i in best], withheld)

    def search(self, query: np.ndarray, k: int) -> IndexResult:
        return self.search_many(np.asarray(query, dtype=np.float32)[None, :], k)[0]

    def search_many(self, queries: np.ndarray, k: int) -> list[IndexResult]:
        vectors, flags, ids = self._vectors, self._flags, self._ids  # one consistent snapshot
        if vectors.dtype == np.float16:
            scores = _half_scores(np.asarray(queries, dtype=np.float32), vectors)
        else:
            scores = np.asarray(queries, dtype=self.dtype) @ vectors.T
        return [self._result(row.astype(np.float32), flags, ids, k) for row in scores]

    def save(self, path: Path, extra: dict[str, np.ndarray] | None = None) -> None:
        """Write atomically; ``extra`` arrays (e.g. content hashes) are stored beside and ignored by load."""
        extra = {k: v for k, v in (extra or {}).items() if k not in ("ids", "vectors", "flags")}
        atomic_save_npz(Path(path), ids=np.array(self._ids, dtype=str), vectors=self._vectors,
                        flags=self._flags, **extra)

    @classmethod
    def from_arrays(cls, ids: list[str], vectors: np.ndarray, flags: np.ndarray) -> ExactIndex:
        """An index over existing arrays, used as they are (no copy; their dtype is kept)."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or len(vectors) != len(ids) or len(flags) != len(ids):
            raise ValueError(f"expected {len(ids)} vectors and flags, got {vectors.shape} and {len(flags)}")
        index = cls(vectors.shape[1], dtype=str(vectors.dtype))
        index._ids, index._vectors, index._flags = list(ids), vectors, np.asarray(flags, dtype=bool)
        return index

    @classmethod
    def load(cls, path: Path) -> ExactIndex:
        path = Path(path)
        if not path.is_file():
            raise IndexFileError(f"index file not found: {path} (run `python -m core train`)")
        try:
            with np.load(path) as data:
                ids, vectors, flags = data["ids"].tolist(), data["vectors"], data["flags"]
        except (OSError, ValueError, KeyError) as exc:
            raise IndexFileError(f"index file {path} is damaged ({exc}); rebuild it") from exc
        index = cls(vectors.shape[1], dtype=str(vectors.dtype))
        index._ids, index._vectors, index._flags = ids, vectors, flags.astype(bool)
        return index
