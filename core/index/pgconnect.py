"""Reaching PostgreSQL for core.index.pgvector: a local server with pgvector for tests and benchmarks
(pgserver), connection errors that never show a password, and a small thread-safe pool of
connections each set up once (pgvector types registered, hnsw.ef_search set).
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from core.index.exact import IndexFileError

DEFAULT_POOL_SIZE = 8
_servers: dict[str, Any] = {}  # pgserver handles kept alive for the life of the process


class PgIndexError(IndexFileError):
    """The database cannot be reached, lacks pgvector, or holds a table that does not fit."""


def redact(url: str) -> str:
    """The URL with any password masked, for error messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def start_local_server(folder: Path, cleanup_mode: str | None = "stop") -> str:
    """Start (or reuse) a local PostgreSQL with pgvector in ``folder``; returns its URL.

    The server stops when this process exits (cleanup_mode="stop"; None leaves it running).
    """
    try:
        import pgserver
    except ImportError as exc:
        raise PgIndexError("pgserver is not installed: pip install pgserver") from exc
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder, cleanup_mode=cleanup_mode)
    server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
    url = str(server.get_uri())
    _servers[url] = server
    return url


def stop_local_server(url: str) -> None:
    """Stop a server started by start_local_server now rather than at exit (no-op otherwise)."""
    server = _servers.pop(url, None)
    if server is not None:
        server.cleanup()


class ConnectionPool:
    """At most ``size`` autocommit connections, each set up once, reused LIFO across threads."""

    def __init__(self, url: str, size: int, ef_search: int) -> None:
        self.url = url
        self.ef_search = ef_search
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._all: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    def _connect(self) -> psycopg.Connection[Any]:
        from pgvector.psycopg.vector import register_vector_info
        from psycopg.types import TypeInfo

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise PgIndexError(f"cannot connect to {redact(self.url)}: {exc}") from exc
        info = TypeInfo.fetch(conn, "vector")
        if info is None:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.Error as exc:
                conn.close()
                raise PgIndexError(
                    f"{redact(self.url)} lacks the pgvector extension and it cannot be created "
                    f"({exc}); run CREATE EXTENSION vector as a superuser"
                ) from exc
            info = TypeInfo.fetch(conn, "vector")
        register_vector_info(conn, info)
        conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(self.ef_search)))
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def connection(self, timeout: float = 60.0) -> Iterator[psycopg.Connection[Any]]:
        if not self._slots.acquire(timeout=timeout):
            raise PgIndexError(f"no free database connection after {timeout:.0f} s")
        conn: psycopg.Connection[Any] | None = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            yield conn
        finally:
            if conn is not None:
                if conn.closed or conn.broken:
                    with self._lock:
                        self._all = [c for c in self._all if c is not conn]
                    conn.close()
                else:
                    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        conn.rollback()
                    self._idle.put(conn)
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        while not self._idle.empty():
            self._idle.get_nowait()
