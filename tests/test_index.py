"""Exact index: top-k order, flagged rows held back and counted, updates published as whole
snapshots (a search never mixes the vectors of one with the flags of another)."""

from __future__ import annotations

import numpy as np
import pytest

from core.index.exact import ExactIndex, Snapshot, top_k


def _unit(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_top_k_matches_full_sort() -> None:
    scores = np.random.default_rng(1).normal(size=1000)
    np.testing.assert_array_equal(top_k(scores, 10), np.argsort(-scores)[:10])


def test_search_skips_flagged_rows_and_counts_them() -> None:
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


def test_add_keeps_known_ids_update_replaces_and_removes() -> None:
    index = ExactIndex(4)
    v = _unit(4, 4)
    index.add(["a", "b", "c"], v[:3], np.zeros(3, bool))
    index.add(["a", "d"], _unit(2, 4, seed=2), np.zeros(2, bool))
    assert index.ids() == ["a", "b", "c", "d"]
    np.testing.assert_allclose(index.vectors()[0], v[0], atol=1e-6)  # add kept a's first row
    index.update(["b"], v[3:4], np.array([True]), remove=["c"])
    assert sorted(index.ids()) == ["a", "b", "d"] and index.flags()[index.ids().index("b")]
    np.testing.assert_allclose(index.vectors()[index.ids().index("b")], v[3], atol=1e-6)
    index.remove(["a", "missing"])
    assert sorted(index.ids()) == ["b", "d"]
    with pytest.raises(ValueError, match="read-only"):
        index.snapshot().vectors[0, 0] = 1.0  # a published snapshot never changes


def test_snapshot_row_of_follows_each_published_state() -> None:
    index = ExactIndex(4)
    v = _unit(3, 4)
    index.add(["a", "b", "c"], v, np.array([False, True, False]))
    before = index.snapshot()
    assert [before.row_of(name) for name in ("a", "b", "c", "z")] == [0, 1, 2, None]
    index.remove(["a"])
    after = index.snapshot()
    assert before.row_of("a") == 0 and after.row_of("a") is None  # each snapshot keeps its own map
    row = after.row_of("c")
    assert row is not None and after.ids[row] == "c"
    np.testing.assert_allclose(after.vectors[row], v[2], atol=1e-6)
    kept = index.stored("b")
    assert kept is not None and kept.flagged and kept.vector.dtype == np.float32
    np.testing.assert_allclose(kept.vector, v[1], atol=1e-6)
    assert index.stored("a") is None


def test_an_add_carries_the_row_map_forward() -> None:
    """After a lookup built a snapshot's map, adding photos (dropping none) hands the next snapshot
    a map already built; it must agree with the rows a fresh build gives, new ids included, and
    the earlier snapshot must not see the new ids."""
    index = ExactIndex(4)
    index.add(["a", "b", "c"], _unit(3, 4), np.zeros(3, bool))
    before = index.snapshot()
    assert before.row_of("b") == 1  # builds before's map
    index.add(["d", "b", "e"], _unit(3, 4, seed=5), np.zeros(3, bool))  # "b" is kept as it was
    after = index.snapshot()
    assert "_rows" in after.__dict__  # carried forward, not left to the first reader
    fresh = Snapshot.of(after.ids, after.vectors, after.flags)
    names = [*after.ids, "z"]
    assert [after.row_of(name) for name in names] == [fresh.row_of(name) for name in names]
    assert after.ids == ("a", "b", "c", "d", "e") and before.row_of("d") is None
    index.update(["f"], _unit(1, 4), np.zeros(1, bool), remove=["a"])  # rows move: built lazily
    moved = index.snapshot()
    assert "_rows" not in moved.__dict__ and moved.row_of("f") == 4 and moved.row_of("a") is None


def test_searches_during_updates_see_whole_snapshots() -> None:
    """8 threads search while photos are added and removed; each id has one fixed vector and
    flag, so a result mixing two snapshots would return a flagged photo or a wrong score."""
    import threading

    dim, rounds = 16, 500
    rng = np.random.default_rng(7)
    pool = _unit(400, dim, seed=3)
    flagged = rng.random(400) < 0.5
    ids = [f"p{i}" for i in range(400)]
    index = ExactIndex(dim)
    index.add(ids[:100], pool[:100], flagged[:100])
    queries = _unit(32, dim, seed=11)
    stop, problems = threading.Event(), []

    def search() -> None:
        while not stop.is_set():
            for result in index.search_many(queries, 10):
                for hit in result.hits:
                    i = int(hit.id[1:])
                    if flagged[i]:
                        problems.append(f"flagged {hit.id} returned")
            q = queries[0]
            for hit in index.search(q, 5).hits:
                i = int(hit.id[1:])
                if abs(hit.similarity - float(pool[i] @ q)) > 1e-4:
                    problems.append(f"{hit.id} scored with another photo's vector")

    readers = [threading.Thread(target=search) for _ in range(8)]
    for reader in readers:
        reader.start()
    for _ in range(rounds):
        add = rng.choice(400, size=20, replace=False)
        drop = rng.choice(index.ids(), size=min(15, len(index)), replace=False)
        index.update([ids[i] for i in add], pool[add], flagged[add], remove=list(drop))
    stop.set()
    for reader in readers:
        reader.join()
    assert not problems, problems[:5]
    snap = index.snapshot()
    assert len(set(snap.ids)) == len(snap.ids) == len(snap.vectors) == len(snap.flags)
    for name, flag in zip(snap.ids, snap.flags, strict=True):
        assert flag == flagged[int(name[1:])]
