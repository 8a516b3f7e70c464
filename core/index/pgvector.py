"""The PostgreSQL + pgvector backend of :class:`core.index.exact.VectorIndex`.

One table per gallery (id text primary key, embedding vector(dim), child boolean) with two
partial HNSW indexes (cosine ops): one over the photos that may be shown, one over the flagged
ones. A search asks both for their top k in one round trip, so the hits are the exact top k
among shown rows (up to HNSW recall) and ``withheld`` counts the flagged rows that would have
ranked in the unfiltered top k. Connections come from core.index.pgconnect's thread-safe pool.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from core.index.exact import Hit, IndexResult, StoredPhoto
from core.index.pgconnect import DEFAULT_POOL_SIZE, ConnectionPool, PgIndexError, redact

DEFAULT_EF_SEARCH = 100
BULK_LOAD_ROWS = 1000  # a first load at least this big builds the HNSW indexes after COPY


def table_name(gallery: str) -> str:
    """A safe, stable table name for a gallery name (any text)."""
    slug = re.sub(r"[^a-z0-9]+", "_", gallery.lower()).strip("_")[:32] or "gallery"
    return f"withsense_{slug}_{hashlib.sha1(gallery.encode('utf-8'), usedforsecurity=False).hexdigest()[:8]}"


class PgVectorIndex:
    """A gallery's vectors in PostgreSQL; safe to share between threads (pooled connections)."""

    def __init__(self, url: str, gallery: str, dim: int, ef_search: int = DEFAULT_EF_SEARCH,
                 pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.gallery = gallery
        self.dim = dim
        self.ef_search = ef_search
        self.table = table_name(gallery)
        self._pool = ConnectionPool(url, pool_size, ef_search)
        self._query: sql.Composed | None = None

    # ---- opening and creating -------------------------------------------------------------
    @classmethod
    def open(cls, url: str, gallery_name: str, dim: int | None = None,
             ef_search: int = DEFAULT_EF_SEARCH, pool_size: int = DEFAULT_POOL_SIZE) -> PgVectorIndex:
        """The gallery's table; created (with its indexes) when missing and ``dim`` is given."""
        probe = cls(url, gallery_name, dim or 0, ef_search, pool_size)
        found = probe._table_dim()
        if found is None:
            if dim is None:
                probe.close()
                raise PgIndexError(
                    f"gallery {gallery_name!r} has no table {probe.table} in {redact(url)}; fill it "
                    f"with WITHSENSE_INDEX_URL set: python -m core index FOLDER --name {gallery_name}"
                )
            probe._create()
        elif dim is not None and found != dim:
            probe.close()
            raise PgIndexError(
                f"table {probe.table} holds {found}-dimensional vectors, the model makes {dim}; "
                f"drop it (PgVectorIndex.drop) and index the gallery again"
            )
        probe.dim = found or probe.dim
        return probe

    @classmethod
    def from_index(cls, url: str, gallery_name: str, source: Any, replace: bool = False,
                   **options: Any) -> PgVectorIndex:
        """Copy an ExactIndex (ids, vectors, flags) into the gallery's table."""
        if replace:
            cls.drop(url, gallery_name)
        index = cls.open(url, gallery_name, dim=source.dim, **options)
        index.sync_from(source)
        return index

    def sync_from(self, source: Any) -> int:
        """Make the table hold the ids of an ExactIndex: rows it lacks are added, rows the source
        no longer has are deleted (one transaction); returns how many rows changed."""
        present, wanted = set(self.ids()), source.ids()
        missing = [i for i, image_id in enumerate(wanted) if image_id not in present]
        extra = present - set(wanted)
        if missing or extra:
            self.update([wanted[i] for i in missing], np.asarray(source.vectors()[missing], np.float32),
                        source.flags()[missing], remove=extra, replace=False)
        return len(missing) + len(extra)

    @classmethod
    def drop(cls, url: str, gallery_name: str) -> None:
        table = sql.Identifier(table_name(gallery_name))
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        except psycopg.OperationalError as exc:
            raise PgIndexError(f"cannot connect to {redact(url)}: {exc}") from exc

    def _table_dim(self) -> int | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                "AND attname = 'embedding' AND NOT attisdropped", (self.table,)
            ).fetchone()
        return None if row is None else int(row[0])

    def _create(self) -> None:
        if not 1 <= self.dim <= 2000:
            raise ValueError(f"pgvector's HNSW indexes take 1..2000 dimensions, got {self.dim}")
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id text PRIMARY KEY, embedding vector({}) "
                                 "NOT NULL, child boolean NOT NULL DEFAULT false)").format(
                sql.Identifier(self.table), sql.Literal(self.dim)))
            self._indexes(conn, create=True)

    def _indexes(self, conn: psycopg.Connection[Any], create: bool) -> None:
        for suffix, where in (("shown", "NOT child"), ("child", "child")):
            name = sql.Identifier(f"{self.table}_{suffix}")
            conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw "
                                 "(embedding vector_cosine_ops) WHERE {}").format(
                name, sql.Identifier(self.table), sql.SQL(where)) if create
                else sql.SQL("DROP INDEX IF EXISTS {}").format(name))

    # ---- the VectorIndex protocol ---------------------------------------------------------
    def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._pool.connection() as conn:
            query_sql = sql.SQL(query).format(t=sql.Identifier(self.table))
            return conn.execute(query_sql, params or None).fetchall()

    def __len__(self) -> int:
        return int(self._rows("SELECT count(*) FROM {t}")[0][0])

    def ids(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM {t} ORDER BY id")]

    def flags(self) -> np.ndarray:
        """Child flags in the order of ids()."""
        return np.array([bool(r[0]) for r in self._rows("SELECT child FROM {t} ORDER BY id")], dtype=bool)

    def stored(self, image_id: str) -> StoredPhoto | None:
        """One row by its primary key (vector and flag read together)."""
        rows = self._rows("SELECT embedding, child FROM {t} WHERE id = %s", (image_id,))
        if not rows:
            return None
        embedding, child = rows[0]  # embedding: a pgvector Vector
        return StoredPhoto(embedding.to_numpy().astype(np.float32), bool(child))

    def add(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray,
            maintenance_work_mem: str = "1GB") -> None:
        """Insert rows in one transaction; ids already present are kept as they are."""
        self.update(ids, vectors, flags, replace=False, maintenance_work_mem=maintenance_work_mem)

    def remove(self, ids: Iterable[str]) -> None:
        self.update([], np.zeros((0, self.dim), np.float32), np.zeros(0, bool), remove=ids)

    def update(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray, remove: Iterable[str] = (),
               replace: bool = True, maintenance_work_mem: str = "1GB") -> None:
        """One transaction: rows of ``remove`` deleted, then ``ids`` inserted (re-written when
        present and ``replace``), so a concurrent search sees the table before or after it."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(vectors) != len(ids):
            raise ValueError(f"expected {len(ids)} vectors of dimension {self.dim}, got {vectors.shape}")
        if len(flags) != len(ids):
            raise ValueError("one child flag per id is required")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors hold NaN or infinite values")
        flags = np.asarray(flags, dtype=bool)
        first: dict[str, int] = {}
        for i, name in enumerate(ids):
            first.setdefault(name, i)  # the first row of each id, like ExactIndex
        rows = list(first.values())
        table = sql.Identifier(self.table)
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(table))
            drop = sorted(set(remove) | (set(first) if replace else set()))
            if drop:
                conn.execute(sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(table), (drop,))
            if not rows:
                return
            empty = conn.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(table)).fetchone()
            bulk = bool(empty and empty[0]) and len(rows) >= BULK_LOAD_ROWS
            if bulk:  # building the graph once is far faster than inserting into it row by row
                self._indexes(conn, create=False)
                self._copy(conn, table, ids, vectors, flags, rows)
                conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(
                    sql.Literal(maintenance_work_mem)))
                self._indexes(conn, create=True)
                conn.execute(sql.SQL("ANALYZE {}").format(table))
                return
            conn.execute("CREATE TEMP TABLE withsense_incoming (id text, embedding vector, child boolean) "
                         "ON COMMIT DROP")
            self._copy(conn, sql.Identifier("withsense_incoming"), ids, vectors, flags, rows)
            conn.execute(sql.SQL("INSERT INTO {} (id, embedding, child) SELECT id, embedding, child "
                                 "FROM withsense_incoming ON CONFLICT (id) DO NOTHING").format(table))

    @staticmethod
    def _copy(conn: psycopg.Connection[Any], table: sql.Identifier, ids: list[str], vectors: np.ndarray,
              flags: np.ndarray, rows: list[int]) -> None:
        from pgvector import Vector

        with conn.cursor().copy(sql.SQL("COPY {} (id, embedding, child) FROM STDIN WITH (FORMAT BINARY)")
                                .format(table)) as copy:
            copy.set_types(["text", "vector", "bool"])
            for i in rows:
                copy.write_row((ids[i], Vector(vectors[i]), bool(flags[i])))

    def _search_sql(self) -> sql.Composed:
        if self._query is None:
            part = ("(SELECT id, child, embedding <=> %(q)s FROM {t} WHERE {w} "
                    "ORDER BY embedding <=> %(q)s LIMIT %(k)s)")
            table = sql.Identifier(self.table)
            self._query = sql.SQL(" UNION ALL ").join([
                sql.SQL(part).format(t=table, w=sql.SQL("NOT child")),
                sql.SQL(part).format(t=table, w=sql.SQL("child")),
            ])
        return self._query

    def search(self, query: np.ndarray, k: int) -> IndexResult:
        return self.search_many(np.asarray(query, dtype=np.float32)[None, :], k)[0]

    def search_many(self, queries: np.ndarray, k: int) -> list[IndexResult]:
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"expected queries of dimension {self.dim}, got shape {queries.shape}")
        if k <= 0:
            return [IndexResult([], 0) for _ in queries]
        ef = max(self.ef_search, 2 * k)  # HNSW returns at most ef_search rows per index scan
        out = []
        with self._pool.connection() as conn, conn.transaction() if ef != self.ef_search else nullcontext():
            if ef != self.ef_search:
                conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(ef)))
            try:
                for q in queries:
                    out.append(_merge(conn.execute(self._search_sql(), {"q": q, "k": k}).fetchall(), k))
            except psycopg.errors.UndefinedTable as exc:
                raise PgIndexError(f"table {self.table} of gallery {self.gallery!r} is gone") from exc
        return out

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PgVectorIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _merge(rows: list[tuple[str, bool, float]], k: int) -> IndexResult:
    ranked = sorted(rows, key=lambda r: (r[2], r[0]))
    withheld = sum(1 for r in ranked[:k] if r[1])
    return IndexResult([Hit(r[0], 1.0 - float(r[2])) for r in ranked if not r[1]][:k], withheld)
