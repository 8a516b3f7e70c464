"""Exact index: top-k order, flagged rows held back and counted, atomic persistence."""

from __future__ import annotations

import numpy as np
import pytest

from core.index import ExactIndex, IndexFileError, top_k


def _unit(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_top_k_matches_full_sort() -> None:
    scores = np.random.default_rng(1).normal(size=1000)
    np.testing.assert_array_equal(top_k(scores, 10), np.argsort(-scores)[:10])


def test_search_skips_flagged_rows_and_counts_them(tmp_path) -> None:
    vectors = _unit(50, 8)
    ids = [f"p{i}.jpg" for i in range(50)]
    flags = np.zeros(50, bool)
    query = vectors[3]
    best = np.argsort(-(vectors @ query))[:5]
    flags[best[:2]] = True  # the two best matches show a child
    index = ExactIndex(8)
    index.add(ids, vectors, flags)
    result = index.search(query, 5)
    assert result.withheld == 2
    returned = [h.id for h in result.hits]
    assert len(returned) == 5 and not {ids[i] for i in best[:2]} & set(returned)
    sims = [h.similarity for h in result.hits]
    assert sims == sorted(sims, reverse=True)

    index.save(tmp_path / "g.npz")
    loaded = ExactIndex.load(tmp_path / "g.npz")
    assert [h.id for h in loaded.search(query, 5).hits] == returned
    assert not list(tmp_path.glob("*.tmp"))


def test_add_ignores_known_ids_and_load_reports_damage(tmp_path) -> None:
    index = ExactIndex(4)
    v = _unit(3, 4)
    index.add(["a", "b", "c"], v, np.zeros(3, bool))
    index.add(["a", "d"], _unit(2, 4, seed=2), np.zeros(2, bool))
    assert index.ids() == ["a", "b", "c", "d"]
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(IndexFileError, match="damaged"):
        ExactIndex.load(broken)
    with pytest.raises(IndexFileError, match="not found"):
        ExactIndex.load(tmp_path / "missing.npz")
