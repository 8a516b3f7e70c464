"""The pgvector backend against a real PostgreSQL (pgserver in a temporary folder)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest
from conftest import require

from core.foundation.settings import Settings
from core.gallery.store import StoredGallery, read_gallery, write_gallery
from core.index import pgvector as pgindex
from core.index.exact import ExactIndex, IndexResult
from core.index.pgconnect import PgIndexError, redact, start_local_server, stop_local_server
from core.index.pgvector import PgVectorIndex, table_name
from core.search.service import open_gallery

ATOL = 1e-4  # float32 scores: results may differ from the exact ones only among scores this close
ATOL_F16 = 1e-3  # float16 storage rounds each score by up to about 5e-4


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require("pgserver")
    url = start_local_server(tmp_path_factory.mktemp("pg"))
    yield url
    stop_local_server(url)


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def synthetic(n: int, dim: int = 256, seed: int = 0) -> ExactIndex:
    """Photos-like vectors: a low-dimensional latent space mapped into dim, 5% flagged."""
    rng = np.random.default_rng(seed)
    vectors = unit(rng.standard_normal((n, 24)) @ rng.standard_normal((24, dim)))
    index = ExactIndex(dim)
    index.add([f"photo-{i:05d}.jpg" for i in range(n)], vectors, rng.random(n) < 0.05)
    return index


def practicum_gallery(request: pytest.FixtureRequest) -> tuple[ExactIndex, np.ndarray]:
    """The trained test gallery and 125 real query vectors (every 4th test query)."""
    from core.bundle import ModelBundle
    from core.data import dataset as data

    folder = Path(request.getfixturevalue("trained_artifacts"))
    practicum = Path(request.getfixturevalue("practicum_dir"))
    texts = data.load_test_queries(practicum, check_files=False)["query_text"]
    queries = ModelBundle.load(folder).encode_queries(texts.iloc[::4].tolist())
    return read_gallery(Settings(artifacts_dir=folder), "test").index(), queries


def ids(results: list[IndexResult]) -> list[list[str]]:
    return [[h.id for h in r.hits] for r in results]


def agreement(results: list[IndexResult], reference: ExactIndex, queries: np.ndarray, k: int,
              atol: float) -> tuple[float, float, float]:
    """Check results against float64 scores over the reference's vectors, up to ties within atol.

    Asserted for every query (any backend, exact or approximate): min(k, shown rows) distinct hits,
    none flagged, each similarity the true one (atol), best first (atol). Returned, as shares of
    the queries: recall@k up to ties (hits scoring at least the k-th best shown score - atol), the
    queries whose every rank scores as the exact ranking's (atol), and those whose withheld count
    is possible (flagged rows above the k-th best score, counting those within atol or not)."""
    flags, row = reference.flags(), {name: i for i, name in enumerate(reference.ids())}
    scores = np.asarray(queries, np.float64) @ reference.vectors().astype(np.float64).T
    assert len(results) == len(scores) > 0
    recall, ranks, withheld = [], [], []
    for result, s in zip(results, scores, strict=True):
        rows = [row[h.id] for h in result.hits]
        assert len(set(rows)) == len(rows) == min(k, int((~flags).sum())), result
        assert not flags[rows].any(), f"flagged photo returned: {result}"
        similarity = np.array([h.similarity for h in result.hits])
        np.testing.assert_allclose(similarity, s[rows], atol=atol)
        assert (np.diff(similarity) <= atol).all(), f"not best first: {similarity}"
        best_shown = np.sort(s[~flags])[::-1][:len(rows)]
        recall.append(np.mean(s[rows] >= best_shown[-1] - atol))
        ranks.append(np.allclose(s[rows], best_shown, atol=atol))
        kth = np.sort(s)[::-1][min(k, len(s)) - 1]
        above, near = np.sum(flags & (s > kth + atol)), np.sum(flags & (s >= kth - atol))
        withheld.append(above <= result.withheld <= near)
    return float(np.mean(recall)), float(np.mean(ranks)), float(np.mean(withheld))


def test_same_top10_as_exact_index(pg_url: str, request: pytest.FixtureRequest) -> None:
    """The exact index ranks exactly (up to ties); HNSW finds at least 99% of that top 10."""
    exact, queries = practicum_gallery(request)
    assert len(queries) >= 100 and exact.flags().any() and not exact.flags().all()
    pg = PgVectorIndex.from_index(pg_url, "compare", exact, replace=True)
    assert len(pg) == len(exact) and sorted(pg.ids()) == sorted(exact.ids())
    assert agreement(exact.search_many(queries, 10), exact, queries, 10, ATOL) == (1.0, 1.0, 1.0)
    recall, _, withheld = agreement(pg.search_many(queries, 10), exact, queries, 10, ATOL)
    assert recall >= 0.99 and withheld >= 0.99, (recall, withheld)
    pg.close()


def test_flagged_rows_are_withheld_not_returned(pg_url: str) -> None:
    vectors = unit(np.eye(4, 8) + 0.01)
    with PgVectorIndex.open(pg_url, "tiny", dim=8) as pg:
        pg.add(["a", "b", "c", "d"], vectors, np.array([True, False, True, False]))
        near_a = unit(vectors[:1] * 0.9 + vectors[1:2] * 0.1)
        pg.add(["a", "e"], np.vstack([vectors[1:2], near_a]), np.array([False, False]))  # "a" is kept
        assert len(pg) == 5 and dict(zip(pg.ids(), pg.flags(), strict=True))["a"]
        found = pg.search(vectors[0], 2)
        assert found.withheld == 1 and found.hits[0].id == "e" and len(found.hits) == 2
        assert all(h.id not in {"a", "c"} for h in pg.search(vectors[2], 5).hits)
        kept = pg.stored("a")  # the row add kept: first vector, flagged
        assert kept is not None and kept.flagged and kept.vector.dtype == np.float32
        np.testing.assert_allclose(kept.vector, vectors[0], atol=1e-6)
        assert pg.stored("missing") is None


def test_bulk_load_builds_indexes_and_threads_share_it(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgindex, "BULK_LOAD_ROWS", 100)
    exact = synthetic(600, dim=32, seed=3)
    pg = PgVectorIndex.from_index(pg_url, "bulk load", exact, replace=True)
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (pg.table,)).fetchall()
    names = {r[0] for r in rows}
    assert {f"{pg.table}_shown", f"{pg.table}_child"} <= names
    queries = unit(np.random.default_rng(4).standard_normal((16, 32)))
    single = ids(pg.search_many(queries, 10))
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda q: ids([pg.search(q, 10)])[0], list(queries) * 4))
    assert parallel == single * 4  # the same graph and query: the same answer, whichever thread asks
    many = unit(np.vstack([exact.vectors()[:60] + 0.2 * np.random.default_rng(5).standard_normal((60, 32)),
                           np.random.default_rng(6).standard_normal((60, 32))]))
    recall, _, withheld = agreement(pg.search_many(many, 80), exact, many, 80, ATOL)  # ef >= 2k
    assert recall >= 0.99 and withheld >= 0.99, (recall, withheld)
    pg.close()


def test_open_errors_and_names(pg_url: str) -> None:
    with pytest.raises(PgIndexError, match="no table"):
        PgVectorIndex.open(pg_url, "never indexed")
    PgVectorIndex.open(pg_url, "dims", dim=8).close()
    with pytest.raises(PgIndexError, match="8-dimensional"):
        PgVectorIndex.open(pg_url, "dims", dim=16)
    with pytest.raises(PgIndexError, match="cannot connect"):
        PgVectorIndex.open("postgresql://u:secret@127.0.0.1:1/none", "x")
    assert redact("postgresql://u:secret@host/db") == "postgresql://u:***@host/db"
    assert table_name('Robert"); DROP TABLE x;--').startswith("withsense_robert_drop_table_x_")
    assert table_name("a b") != table_name("a_b")


def test_open_gallery_uses_pgvector_when_configured(pg_url: str, tmp_path: Path) -> None:
    settings = replace(Settings(), artifacts_dir=tmp_path / "artifacts", index_url=pg_url)
    exact = synthetic(50, dim=16)
    write_gallery(settings, StoredGallery.empty("shared", tmp_path, 16, {}).with_rows(
        [], exact.ids(), [""] * 50, exact.vectors(), exact.flags(), np.zeros(50)))
    PgVectorIndex.from_index(pg_url, "shared", exact, replace=True).close()
    gallery = open_gallery(settings, "shared")
    assert isinstance(gallery.index, PgVectorIndex) and len(gallery.index) == 50
    query = exact.vectors()[7]
    assert agreement([gallery.index.search(query, 5)], exact, query[None, :], 5, ATOL) == (1.0, 1.0, 1.0)
    gallery.index.close()


def test_float16_storage_gives_the_same_top10() -> None:
    exact = synthetic(3000, dim=64, seed=5)
    loaded = ExactIndex.from_arrays(exact.ids(), exact.vectors().astype(np.float16), exact.flags())
    assert loaded.vectors().dtype == np.float16 and loaded.vectors().nbytes == exact.vectors().nbytes // 2
    noise = np.random.default_rng(6).standard_normal((20, 64))
    queries = unit(np.vstack([exact.vectors()[:10] + 0.1 * noise[:10], noise[10:]]))
    got = loaded.search_many(queries, 10)
    assert agreement(got, exact, queries, 10, ATOL_F16) == (1.0, 1.0, 1.0)  # float32's ranking up to ties
    assert loaded.search_many(queries[:0], 10) == []
