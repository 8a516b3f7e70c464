"""`python -m core bench`: warm query latency per backend and gallery size, indexing throughput,
peak memory and a concurrency check, as one JSON-ready dict.

Galleries are the real projected vectors of every indexed gallery plus synthetic unit vectors
beyond them. A query is a full SearchService.search (text encoding, search, calibration, legal
check). Building a pgvector HNSW graph of 1M rows on 2 cores takes long, so pgvector runs up to
``pg_max_size`` rows (100k by default) and larger sizes are reported as skipped.
"""

from __future__ import annotations

import gc
import math
import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from core.bundle import ModelBundle
from core.foundation.errors import Problem, WithSenseError
from core.foundation.settings import Settings, photo_runtime, torch_thread_count
from core.gallery.store import GalleryError, GalleryMissingError, list_galleries, read_gallery
from core.index.exact import ExactIndex, VectorIndex
from core.measure.bench_photos import photo_side, practicum_photos
from core.measure.reports import machine
from core.measure.russian import russian_latency
from core.search.service import Gallery, SearchService

DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
BACKENDS = ("exact", "exact-f16", "pgvector")
FILTERED = "-people min:0.3"  # filters a padded gallery can answer: it has no photo facts
DEFAULT_BACKENDS = BACKENDS
PG_MAX_SIZE = 100_000
FALLBACK_QUERIES = ("a dog runs on the grass", "two people on a beach", "a man riding a bicycle",
                    "a city street at night", "a boat on a lake", "a woman in a red dress")

Log = Callable[[str], None]


class BenchError(WithSenseError, ValueError):
    """Bad benchmark parameters (unknown backend, sizes out of range...)."""

    problem = Problem.BAD_REQUEST


def run_bench(settings: Settings, sizes: Sequence[int] | None = None, backends: Sequence[str] | None = None,
              *, queries: int = 200, threads: int = 8, queries_per_thread: int = 1000,
              index_photos: int = 256, pg_max_size: int = PG_MAX_SIZE, pg_url: str | None = None,
              concurrency_backends: Sequence[str] = ("exact", "pgvector"), log: Log | None = None,
              seed: int = 0, big_photos: int = 8, cli_runs: int = 3, runtimes: bool = True,
              ray: bool = True) -> dict[str, Any]:
    """Measure and return {"query_latency_ms", "indexing_photos_per_s", "indexing_stages",
    "big_photos" (24 megapixels), "indexing_by_runtime", "indexing_ray_local", "cli_cold_start",
    "peak_rss_mb", "concurrency", "machine", ...}.
    "concurrency" is the first backend's (each of ``concurrency_backends`` run is under
    "concurrency_by_backend"), on the smallest gallery. Tests run it tiny: sizes=[1000],
    queries=20, threads=2, queries_per_thread=10, big_photos=2, cli_runs=1, ray=False."""
    sizes = sorted({int(s) for s in (sizes or DEFAULT_SIZES)})
    backends = list(backends or DEFAULT_BACKENDS)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not sizes or sizes[0] < 1:
        raise BenchError(f"unknown backend(s) {unknown} (valid: {', '.join(BACKENDS)})" if unknown
                         else f"gallery sizes must be positive, got {sizes}")
    say = log or (lambda message: None)
    load_before = os.getloadavg()
    bundle = ModelBundle.load(settings.artifacts_dir)
    texts = _query_texts(settings, max(queries, 60))
    query_vectors = bundle.encode_queries(texts[:100])  # for pgvector's agreement with exact
    out: dict[str, Any] = {"query_latency_ms": {}, "build_s": {}, "rss_mb": {}, "index_mb": {}, "skipped": {}}
    services: dict[str, SearchService] = {}
    url = None
    for backend in backends:
        out["query_latency_ms"][backend] = {}
        for size in sizes:
            if backend == "pgvector" and size > pg_max_size:
                out["skipped"].setdefault(backend, {})[str(size)] = (
                    f"over pg_max_size={pg_max_size} (--pg-max-size): an HNSW build of this size on 2 "
                    "cores takes long")
                continue
            say(f"{backend} {size:,} photos")
            dtype = np.float16 if backend == "exact-f16" else np.float32
            ids, vectors, flags, real = _gallery_rows(settings, bundle.tower.dim, size, seed, dtype)
            out["real_photos"] = real
            started = time.perf_counter()
            if backend == "pgvector":
                url = url or pg_url or settings.index_url or _local_server()
                exact_top = ExactIndex.from_arrays(ids, vectors, flags).search_many(query_vectors, 10)
                index: VectorIndex = _pg_index(url, size, ids, vectors, flags)
                out.setdefault("agreement_at_10", {})[str(size)] = _agreement(index, exact_top,
                                                                              query_vectors)
            else:
                index = ExactIndex.from_arrays(ids, vectors, flags)
                out["index_mb"].setdefault(backend, {})[str(size)] = round(vectors.nbytes / 2**20, 1)
            del ids, vectors, flags  # held by the index (exact) or by PostgreSQL from here on
            out["build_s"].setdefault(backend, {})[str(size)] = round(time.perf_counter() - started, 2)
            service = SearchService(bundle, Gallery(f"bench-{size}", Path("."), index))
            out["query_latency_ms"][backend][str(size)] = _latency(service, texts, queries)
            out["rss_mb"].setdefault(backend, {})[str(size)] = _rss_mb()
            if size == sizes[0] and (backend in concurrency_backends or not services):
                services[backend] = service
            else:
                _close(index)
            del index, service
            gc.collect()
    # a Russian query (e5 + the student), and a query with an exclusion and a least score, which
    # fetch deeper when too few hits pass (#36), on the smallest gallery
    smallest = next(iter(services.values()))
    out["russian_query_latency_ms"] = russian_latency(smallest, queries, _latency)
    out["filtered_query"] = FILTERED
    out["filtered_query_latency_ms"] = _latency(smallest, [f"{t} {FILTERED}" for t in texts], queries)
    say(f"concurrency: {threads} threads x {queries_per_thread} queries")
    by_backend = {b: _concurrency(s, texts, threads, queries_per_thread) for b, s in services.items()}
    out["concurrency"] = next(iter(by_backend.values()), {})
    out["concurrency_by_backend"] = by_backend
    out["concurrency_gallery_size"] = sizes[0]
    for service in services.values():
        _close(service.gallery.index)
    out["recall_at_10_test"] = _recall(settings, bundle, backends, url)
    if url is not None:  # PostgreSQL's background work (autovacuum of a 1M table) would slow what follows
        _drop_bench_tables(url, sizes)
        if url != (pg_url or settings.index_url):
            from core.index.pgconnect import stop_local_server

            stop_local_server(url)
    say("indexing: throughput, stages, each runtime, Ray, 24-megapixel photos; a search from a cold shell")
    out.update(photo_side(settings, bundle, practicum_photos(settings, index_photos), big_photos, cli_runs,
                          runtimes, ray))
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["machine"] = machine()
    out["torch_threads"] = torch_thread_count()
    out["runtime"] = photo_runtime()  # what indexing_photos_per_s and the galleries ran
    out["load_average"] = {"before": [round(x, 2) for x in load_before],
                           "after": [round(x, 2) for x in os.getloadavg()]}
    return out


def _query_texts(settings: Settings, need: int) -> list[str]:
    """Up to ``need`` practicum test queries that reach the index (child queries get the
    disclaimer without a search, so they would flatter the latency)."""
    from core.data import dataset as data
    from core.legal.lexicon import is_child_query

    try:
        texts = data.load_test_queries(settings.practicum_dir, check_files=False)["query_text"].tolist()
    except data.DataError:
        texts = list(FALLBACK_QUERIES)
    kept: list[str] = []
    for text in texts:
        if not is_child_query(text):
            kept.append(text)
            if len(kept) >= need:
                break
    return kept or list(FALLBACK_QUERIES)


def _gallery_rows(settings: Settings, dim: int, size: int, seed: int, dtype: Any = np.float32
                  ) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """Real rows of every indexed gallery, then synthetic unit vectors up to ``size`` rows
    (the same rows for a given seed, whatever the size or dtype)."""
    vectors = np.empty((size, dim), dtype=dtype)
    flags = np.zeros(size, dtype=bool)
    ids: list[str] = []
    for name in list_galleries(settings):
        if len(ids) >= size:
            break
        try:
            real = read_gallery(settings, name)
        except GalleryError:
            continue  # a damaged or older gallery: synthetic rows stand in for it
        if real.dim != dim:
            continue
        take = min(len(real.ids), size - len(ids))
        vectors[len(ids) : len(ids) + take] = real.vectors[:take]
        flags[len(ids) : len(ids) + take] = real.flags[:take]
        ids.extend(f"{name}/{i}" for i in real.ids[:take])
    n_real = len(ids)
    rng = np.random.default_rng(seed)
    for start in range(n_real, size, 65_536):  # in chunks: no second full-size array
        stop = min(start + 65_536, size)
        chunk = rng.standard_normal((stop - start, dim), dtype=np.float32)
        vectors[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
        flags[start:stop] = rng.random(stop - start) < 0.01
    ids.extend(f"synthetic/{i:07d}.jpg" for i in range(n_real, size))
    return ids, vectors, flags, n_real


def _local_server() -> str:
    from core.index.pgconnect import start_local_server

    return start_local_server(Path(tempfile.mkdtemp(prefix="withsense-bench-pg-")), cleanup_mode="delete")


def _pg_index(url: str, size: int, ids: list[str], vectors: np.ndarray, flags: np.ndarray) -> VectorIndex:
    from core.index.pgvector import PgVectorIndex

    PgVectorIndex.drop(url, f"bench-{size}")
    index = PgVectorIndex.open(url, f"bench-{size}", dim=vectors.shape[1])
    graph_mb = math.ceil(size * (vectors.shape[1] * 4 + 400) * 1.3 / 2**20)  # keep the HNSW build in memory
    index.add(ids[:size], vectors[:size], flags[:size], maintenance_work_mem=f"{max(1024, graph_mb)}MB")
    return index


def _agreement(index: VectorIndex, exact: list[Any], queries: np.ndarray) -> float:
    """Percent of exact search's top 10 that the index also returns (HNSW is approximate)."""
    found = index.search_many(queries, 10)
    shared = [len({h.id for h in a.hits} & {h.id for h in b.hits}) / max(1, len(b.hits))
              for a, b in zip(found, exact, strict=True)]
    return round(100 * float(np.mean(shared)), 2)


def _drop_bench_tables(url: str, sizes: Sequence[int]) -> None:
    from core.index.pgvector import PgVectorIndex

    for size in sizes:
        PgVectorIndex.drop(url, f"bench-{size}")


def _close(index: VectorIndex) -> None:
    close = getattr(index, "close", None)
    if close is not None:
        close()


def _latency(service: SearchService, texts: list[str], n: int) -> dict[str, float]:
    for text in texts[:10]:  # warm: weights loaded, caches filled, statements prepared
        service.search(text)
    took = []
    for i in range(n):
        started = time.perf_counter()
        service.search(texts[i % len(texts)])
        took.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(took, [50, 95])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "mean": round(float(np.mean(took)), 2),
            "queries": n}


def _concurrency(service: SearchService, texts: list[str], threads: int, per_thread: int) -> dict[str, Any]:
    """threads x per_thread searches on one shared service; a wrong answer counts as an error."""
    pool = texts[: max(1, min(50, threads * per_thread))]
    expected = {t: [h.image for h in service.search(t).results] for t in pool}
    failures: list[str] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        for i in range(per_thread):
            text = pool[(offset + i) % len(pool)]
            try:
                got = [h.image for h in service.search(text).results]
                problem = None if got == expected[text] else f"different results for {text!r}"
            except Exception as exc:  # counting every failure is the point of this check
                problem = f"{type(exc).__name__}: {exc}"
            if problem is not None:
                with lock:
                    failures.append(problem)

    workers = [threading.Thread(target=worker, args=(t * 7,)) for t in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    total = threads * per_thread
    return {"threads": threads, "queries": total, "errors": len(failures), "qps": round(total / wall, 1),
            "first_errors": sorted(set(failures))[:5]}


def _recall(settings: Settings, bundle: ModelBundle, backends: Sequence[str], url: str | None
            ) -> dict[str, float | None]:
    """R@10 of every backend on the practicum test gallery through the index (flagged photos
    are withheld, so it sits below the raw R@10 of `evaluate`); equal values = nothing lost."""
    from core.data import dataset as data

    try:
        frame = data.load_test_queries(settings.practicum_dir, check_files=False)
        exact = read_gallery(settings, "test").index()
    except (data.DataError, GalleryError, GalleryMissingError):
        return {b: None for b in backends}
    queries = bundle.encode_queries(frame["query_text"].tolist())
    own = frame["query_id"].str.split("#").str[0].tolist()
    result: dict[str, float | None] = {}
    for backend in backends:
        if backend == "pgvector":
            from core.index.pgvector import PgVectorIndex

            index: VectorIndex = PgVectorIndex.from_index(url or _local_server(), "bench-recall", exact,
                                                          replace=True)
        else:
            dtype = np.float16 if backend == "exact-f16" else np.float32
            index = ExactIndex.from_arrays(exact.ids(), exact.vectors().astype(dtype), exact.flags())
        found = index.search_many(queries, 10)
        if backend == "pgvector":
            _close(index)
            PgVectorIndex.drop(index.url, "bench-recall")  # type: ignore[attr-defined]
        result[backend] = round(100 * float(np.mean([o in {h.id for h in r.hits} for o, r in
                                                     zip(own, found, strict=True)])), 2)
        _close(index)
    return result


def _rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / 2**20, 1)
