"""The pgvector backend against a real PostgreSQL (pgserver in a temporary folder)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest

from core import pgindex
from core.config import Settings
from core.index import ExactIndex, IndexResult
from core.pgindex import (
    PgIndexError,
    PgVectorIndex,
    redact,
    start_local_server,
    stop_local_server,
    table_name,
)
from core.search import gallery_paths, open_gallery, write_gallery_meta

pytest.importorskip("pgserver")


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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


def practicum_gallery(request: pytest.FixtureRequest) -> tuple[ExactIndex, np.ndarray | None]:
    """The trained test gallery and 20 real query vectors when they exist, else (synthetic, None)."""
    try:
        folder = Path(request.getfixturevalue("trained_artifacts"))
    except pytest.FixtureLookupError:
        folder = Settings().artifacts_dir
    index_file = folder / "galleries" / "test.npz"
    if not index_file.is_file() or not (folder / "model.pt").is_file():
        return synthetic(1000), None
    from core import data
    from core.bundle import ModelBundle

    practicum = Path(request.getfixturevalue("practicum_dir"))
    texts = data.load_test_queries(practicum, check_files=False)["query_text"]
    queries = ModelBundle.load(folder).encode_queries(texts.iloc[::25].tolist()[:20])
    return ExactIndex.load(index_file), queries


def ids(results: list[IndexResult]) -> list[list[str]]:
    return [[h.id for h in r.hits] for r in results]


def test_same_top10_as_exact_index(pg_url: str, request: pytest.FixtureRequest) -> None:
    exact, queries = practicum_gallery(request)
    if queries is None:
        rng = np.random.default_rng(1)
        rows = exact.vectors()[rng.choice(len(exact), 10, replace=False)]
        queries = unit(np.vstack([rows + 0.05 * rng.standard_normal(rows.shape),
                                  rng.standard_normal((10, 24)) @ rng.standard_normal((24, exact.dim))]))
    pg = PgVectorIndex.from_index(pg_url, "compare", exact, replace=True)
    assert len(pg) == len(exact) and sorted(pg.ids()) == sorted(exact.ids())
    want, got = exact.search_many(queries, 10), pg.search_many(queries, 10)
    assert ids(got) == ids(want)
    assert [r.withheld for r in got] == [r.withheld for r in want]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose([h.similarity for h in g.hits], [h.similarity for h in w.hits], atol=1e-4)
    flagged = {i for i, f in zip(exact.ids(), exact.flags(), strict=True) if f}
    assert not flagged & {h.id for r in got for h in r.hits}
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
    assert parallel == single * 4
    assert ids(pg.search_many(queries[:2], 80)) == ids(exact.search_many(queries[:2], 80))  # ef >= 2k
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
    exact.save(gallery_paths(settings, "shared")[0])
    write_gallery_meta(settings, "shared", tmp_path, {"photos": 50})
    PgVectorIndex.from_index(pg_url, "shared", exact, replace=True).close()
    gallery = open_gallery(settings, "shared")
    assert isinstance(gallery.index, PgVectorIndex) and len(gallery.index) == 50
    query = exact.vectors()[7]
    assert ids([gallery.index.search(query, 5)]) == ids([exact.search(query, 5)])
    gallery.index.close()


def test_float16_storage_gives_the_same_top10(tmp_path: Path) -> None:
    exact = synthetic(3000, dim=64, seed=5)
    half = ExactIndex.from_arrays(exact.ids(), exact.vectors().astype(np.float16), exact.flags())
    half.save(tmp_path / "half.npz")
    loaded = ExactIndex.load(tmp_path / "half.npz")
    assert loaded.vectors().dtype == np.float16 and loaded.vectors().nbytes == exact.vectors().nbytes // 2
    noise = np.random.default_rng(6).standard_normal((20, 64))
    queries = unit(np.vstack([exact.vectors()[:10] + 0.1 * noise[:10], noise[10:]]))
    want, got = exact.search_many(queries, 10), loaded.search_many(queries, 10)
    assert ids(got) == ids(want) and [r.withheld for r in got] == [r.withheld for r in want]
    assert loaded.search_many(queries[:0], 10) == []
