"""Vector indexes behind one interface: exact in-process search, or PostgreSQL + pgvector.

Rows carry an id (the photo's file name), an L2-normalised float32 vector and a child flag;
flagged rows are never returned, and each search says how many of them it held back.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from core.foundation.errors import Problem, WithSenseError


class IndexFileError(WithSenseError, RuntimeError):
    """A gallery's index cannot be used: missing, damaged, unreachable or made by another model."""

    problem = Problem.GALLERY_UNUSABLE


@dataclass(frozen=True)
class Hit:
    id: str
    similarity: float  # cosine similarity in the two-tower space, -1..1


@dataclass(frozen=True)
class IndexResult:
    hits: list[Hit]
    withheld: int  # flagged rows that would have ranked in the top k


@dataclass(frozen=True)
class StoredPhoto:
    """What an index keeps for one photo: its vector (float32, as indexing computed it) and its
    child flag."""

    vector: np.ndarray
    flagged: bool


class VectorIndex(Protocol):
    dim: int

    def __len__(self) -> int: ...

    def ids(self) -> list[str]: ...

    def stored(self, image_id: str) -> StoredPhoto | None: ...

    def add(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray) -> None: ...

    def update(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray,
               remove: Iterable[str] = (), replace: bool = True) -> None: ...

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

    with warnings.catch_warnings():  # a snapshot's arrays are read-only on purpose; torch only reads
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        matrix = torch.from_numpy(vectors)
    rows = [torch.mv(matrix, torch.from_numpy(q).half()).float().numpy() for q in queries]
    return np.stack(rows) if rows else np.zeros((0, len(vectors)), dtype=np.float32)


@dataclass(frozen=True)
class Snapshot:
    """One published state of an index: ids, vectors and child flags that belong together.
    Its arrays are read-only; an update publishes a new snapshot instead of changing one."""

    ids: tuple[str, ...]
    vectors: np.ndarray
    flags: np.ndarray

    @classmethod
    def of(cls, ids: Sequence[str], vectors: np.ndarray, flags: np.ndarray,
           rows: dict[str, int] | None = None) -> Snapshot:
        """`rows`: the id -> row map when the caller already knows it (the first row of an id)."""
        # Views, so that freezing them leaves the caller's arrays writable.
        vectors, flags = np.asarray(vectors).view(), np.asarray(flags, dtype=bool).view()
        if vectors.ndim != 2 or len(vectors) != len(ids) or len(flags) != len(ids):
            raise ValueError(f"expected {len(ids)} vectors and flags, got {vectors.shape} and {len(flags)}")
        vectors.setflags(write=False)
        flags.setflags(write=False)
        snapshot = cls(tuple(ids), vectors, flags)
        if rows is not None:
            snapshot.__dict__["_rows"] = rows  # what cached_property would have built
        return snapshot

    @cached_property
    def _rows(self) -> dict[str, int]:
        # Built on the first lookup of this snapshot (0.3 s at 1M photos), then O(1); two threads
        # racing build equal maps. An update that drops nothing carries its old map forward.
        rows: dict[str, int] = {}
        for i, name in enumerate(self.ids):
            rows.setdefault(name, i)
        return rows

    def rows_after_adding(self, added: Sequence[str]) -> dict[str, int] | None:
        """The row map of this snapshot with `added` (ids it lacks) appended, when this snapshot's
        own map is built already (a copy: ~20 ms at 1M photos); None otherwise, left to be built
        lazily. Each snapshot keeps its own map: readers of this one never see the new rows."""
        built = self.__dict__.get("_rows")
        if built is None:
            return None
        rows = dict(built)
        rows.update((name, len(self.ids) + j) for j, name in enumerate(added))
        return rows

    def row_of(self, image_id: str) -> int | None:
        """The row holding ``image_id``, or None when this snapshot has no such photo."""
        return self._rows.get(image_id)


class ExactIndex:
    """Exact search: one matrix product and a partial sort. Writers build a new snapshot and
    publish it with one assignment, so a search sees the gallery before or after an update,
    never vectors of one with the child flags of the other."""

    def __init__(self, dim: int, dtype: str = "float32") -> None:
        self.dim = dim
        self.dtype = np.dtype(dtype)
        self._snapshot = Snapshot.of([], np.zeros((0, dim), dtype=self.dtype), np.zeros(0, dtype=bool))
        self._write_lock = threading.Lock()  # one writer at a time; readers never wait

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def __len__(self) -> int:
        return len(self._snapshot.ids)

    def ids(self) -> list[str]:
        return list(self._snapshot.ids)

    def flags(self) -> np.ndarray:
        return self._snapshot.flags.copy()

    def stored(self, image_id: str) -> StoredPhoto | None:
        state = self._snapshot  # vector and flag from one published state
        row = state.row_of(image_id)
        if row is None:
            return None
        return StoredPhoto(np.asarray(state.vectors[row], dtype=np.float32), bool(state.flags[row]))

    def vectors(self) -> np.ndarray:
        return self._snapshot.vectors

    def add(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray) -> None:
        """Add rows; ids already present keep their row."""
        self.update(ids, vectors, flags, replace=False)

    def remove(self, ids: Iterable[str]) -> None:
        self.update([], np.zeros((0, self.dim), np.float32), np.zeros(0, bool), remove=ids)

    def update(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray,
               remove: Iterable[str] = (), replace: bool = True) -> None:
        """Publish one new snapshot: rows of ``remove`` dropped, then ``ids`` added (an id already
        present is re-written when ``replace``, else kept as it is)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(vectors) != len(ids):
            raise ValueError(f"expected {len(ids)} vectors of dimension {self.dim}, got {vectors.shape}")
        if len(flags) != len(ids):
            raise ValueError("one child flag per id is required")
        with self._write_lock:
            old = self._snapshot
            drop = set(remove) | (set(ids) if replace else set())
            first: dict[str, int] = {}
            for i, name in enumerate(ids):
                first.setdefault(name, i)
            kept = [i for i, name in enumerate(old.ids) if name not in drop]
            present = {old.ids[i] for i in kept}
            new = [i for name, i in first.items() if name not in present]
            added = [ids[i] for i in new]
            # Nothing dropped: every old row stays where it was, so its map carries forward.
            rows = old.rows_after_adding(added) if len(kept) == len(old.ids) else None
            self._snapshot = Snapshot.of(
                [old.ids[i] for i in kept] + added,
                np.vstack([old.vectors[kept], vectors[new].astype(self.dtype)]),
                np.concatenate([old.flags[kept], np.asarray(flags, dtype=bool)[new]]), rows)

    def _result(self, scores: np.ndarray, flags: np.ndarray, ids: Sequence[str], k: int) -> IndexResult:
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
        snap = self._snapshot  # one read: every row below comes from the same snapshot
        if snap.vectors.dtype == np.float16:
            scores = _half_scores(np.asarray(queries, dtype=np.float32), snap.vectors)
        else:
            scores = np.asarray(queries, dtype=self.dtype) @ snap.vectors.T
        return [self._result(row.astype(np.float32), snap.flags, snap.ids, k) for row in scores]

    @classmethod
    def from_arrays(cls, ids: Sequence[str], vectors: np.ndarray, flags: np.ndarray) -> ExactIndex:
        """An index over existing arrays, used as they are (no copy; their dtype is kept)."""
        snapshot = Snapshot.of(ids, vectors, flags)
        index = cls(snapshot.vectors.shape[1], dtype=str(snapshot.vectors.dtype))
        index._snapshot = snapshot
        return index
