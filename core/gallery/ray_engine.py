"""Whole libraries encoded on Ray (``python -m core index FOLDER --engine ray``).

Ray Data runs the forward passes on a pool of actors (:class:`PhotoEncoder`), each loading the
model once, from the very model.pt bytes the driver loaded (shared through Ray's object store),
so the workers' vectors and child flags carry the gallery's fingerprint. Everything else stays in
the driver, this process, as core.gallery.ingest does it for the in-process engine: what is new
is planned there (unreadable files skipped with their reasons, copies and unchanged photos passed
over), and each batch that comes back, vectors with child flags, is published as one new version
of the gallery. An interrupted run keeps its finished batches and a rerun encodes the rest.

Ray is imported only when this engine starts, so the product runs without it. With no address
Ray starts on this machine for the run and stops after it; with one it joins that cluster (whose
nodes must see the photos at the same paths and run this project's code). A missing Ray or an
unreachable address is a :class:`RayEngineError` raised before the gallery is touched.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import math
import os
import re
import socket
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.bundle import BUNDLE_FILE, ModelBundle
from core.foundation.errors import Problem, WithSenseError
from core.foundation.memory import keep_freed_memory
from core.foundation.settings import RUNTIME_ENV, TORCH_THREADS_ENV, Settings, photo_runtime
from core.gallery.engines import EncodeBatches, Encoded, Item
from core.gallery.inputs import IngestError

RAY_REQUIREMENT = "ray[data]==2.60.0"
LOCAL_CPUS = min(2, os.cpu_count() or 1)  # Ray started here takes this many cores unless told
LOCAL_STORE_BYTES = 256 * 2**20  # object store of a Ray started here: the model and a few batches
CONNECT_TIMEOUT_S = 5.0  # Ray itself retries an unreachable address for minutes
KEPT = "the batches finished before are kept: run the command again to index the rest"
CALLS_PER_WORKER = 4  # a run's photos are cut into about this many actor calls per worker


class RayEngineError(WithSenseError, RuntimeError):
    """Ray is not installed, its cluster cannot be reached, or its workers failed mid-run."""

    problem = Problem.ENGINE


class PhotoEncoder:
    """A Ray Data actor: loads the model once, then gives each batch of photos its vectors,
    child flags and probabilities, and the reason each unusable file failed ("" for none)."""

    def __init__(self, model: Any, dim: int) -> None:
        import ray

        keep_freed_memory()  # a worker encodes batch after batch, as the in-process engine does
        raw = ray.get(model) if isinstance(model, ray.ObjectRef) else model
        self.dim = dim  # of the driver's model, for rows this worker could not encode
        self.bundle: ModelBundle | None = None
        self.problem = ""
        try:
            self.bundle = ModelBundle.from_bytes(raw, Path(BUNDLE_FILE))
        except WithSenseError as exc:  # told with the first batch (see __call__)
            self.problem = str(exc)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        paths = [Path(str(p)) for p in batch["path"]]
        problem = self.problem
        if self.bundle is not None and not problem:
            try:
                vectors, flags, probability, failures = self.bundle.embed_photos(paths)
                return {"id": batch["id"], "vector": vectors, "flag": flags, "probability": probability,
                        "failure": np.array([failures.get(i, "") for i in range(len(paths))], dtype=object),
                        "problem": np.full(len(paths), "", dtype=object)}
            except WithSenseError as exc:  # the encoder's weights missing on this node...
                problem = str(exc)
        # Told as data: Ray hands the driver a worker's exception as text within its traceback.
        return {"id": batch["id"], "vector": np.zeros((len(paths), self.dim), np.float32),
                "flag": np.ones(len(paths), bool), "probability": np.ones(len(paths), np.float32),
                "failure": np.full(len(paths), "", dtype=object),
                "problem": np.full(len(paths), problem, dtype=object)}


@dataclass(frozen=True)
class RayEngine:
    """An engine (core.gallery.engines) on Ray: ``address`` of a running cluster, or None to
    start Ray here; ``workers``, the actors encoding at once (default: one per CPU Ray has)."""

    address: str | None = None
    workers: int | None = None

    @contextmanager
    def __call__(self, settings: Settings, bundle: ModelBundle) -> Iterator[EncodeBatches]:
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"--ray-workers must be at least 1, got {self.workers}")
        ray = _import_ray()
        raw = _model_bytes(settings, bundle)
        started = _connect(ray, self.address, self.workers)
        running: list[Generator[Encoded, None, None]] = []
        try:
            workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            model = ray.put(raw)

            def encode(todo: list[Item], size: int) -> Iterator[Encoded]:
                running.append(_encode(ray, model, bundle.tower.dim, todo, size, workers))
                return running[-1]

            yield encode
        finally:
            for batches in running:  # an interrupted run's Ray Data execution ends before Ray does
                batches.close()
            if started:
                ray.shutdown()


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # Ray Data needs the [data] extra's packages (pandas, pyarrow)
    except ImportError as exc:
        raise RayEngineError(f"--engine ray needs Ray, which is not installed here ({exc}): install it "
                             f"with: pip install '{RAY_REQUIREMENT}' (or index with --engine local)") from exc
    return ray


def _model_bytes(settings: Settings, bundle: ModelBundle) -> bytes:
    """The model file the run loaded, for the workers: the same bytes, or the run stops."""
    path = settings.artifacts_dir / BUNDLE_FILE
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read the model file {path} for the Ray workers ({exc})") from exc
    if hashlib.sha256(raw).hexdigest() != bundle.sha256:
        raise IngestError(f"{path} is not the model this run loaded (was it trained again meanwhile?): "
                          "run the command again")
    return raw


def _check_reachable(address: str) -> None:
    """Fail fast on an address nothing listens at (Ray would wait for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", "local": Ray resolves these itself, quickly
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise RayEngineError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}): start it "
                             "(ray start --head) or check --ray-address; nothing was indexed") from exc


def _connect(ray: Any, address: str | None, workers: int | None) -> bool:
    """Join the cluster at ``address``, or start Ray here; True when this run started or joined
    it (and so shuts it down). A Ray this process already runs (a notebook's, a test's) is used
    as it is."""
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address:
            _check_reachable(address)
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=workers or LOCAL_CPUS, include_dashboard=False,
                     object_store_memory=LOCAL_STORE_BYTES, **quiet)
    except RayEngineError:
        raise
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError...
        ray.shutdown()  # whatever it started before failing
        where = f"join the Ray cluster at {address}" if address else "start Ray on this machine"
        raise RayEngineError(f"cannot {where} ({exc}); nothing was indexed") from exc
    return True


def _encode(ray: Any, model: Any, dim: int, todo: list[Item], size: int, workers: int
            ) -> Generator[Encoded, None, None]:
    """The photos through a pool of ``workers`` PhotoEncoder actors (one CPU and one torch thread
    each), yielded ``size`` at a time (the last fewer) in whatever order they finish. Each actor
    call gets a few photos, so every worker stays busy to the end; the driver joins them into
    batches of ``size``, so the gallery is saved as often as the in-process engine saves it."""
    if not todo:
        return
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the command line draws its own
    context.print_on_execution_start = False
    by_id = {image_id: (image_id, path, key) for image_id, path, key in todo}
    per_call = max(1, min(size, math.ceil(len(todo) / (workers * CALLS_PER_WORKER))))
    dataset = ray.data.from_items([{"id": i, "path": str(p)} for i, p, _ in todo]).map_batches(
        PhotoEncoder, fn_constructor_args=(model, dim), batch_size=per_call, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
        runtime_env={"env_vars": {TORCH_THREADS_ENV: "1", RUNTIME_ENV: photo_runtime()}})
    done: list[Encoded] = []
    failed: RayEngineError | None = None
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            if not len(batch["id"]):
                continue
            if batch["problem"][0]:
                failed = RayEngineError(f"a Ray worker cannot encode photos: {batch['problem'][0]} ({KEPT})")
                break
            done.append(([by_id[str(i)] for i in batch["id"]], np.asarray(batch["vector"], np.float32),
                         np.asarray(batch["flag"], bool), np.asarray(batch["probability"], np.float32),
                         {j: str(reason) for j, reason in enumerate(batch["failure"]) if reason}))
            if sum(len(d[0]) for d in done) >= size:
                yield _joined(done)
                done = []
    except (ray.exceptions.RayError, ray.data.exceptions.ExecutionTimeoutError) as exc:
        failed = _worker_error(exc)  # its text only: Ray's error holds the execution, actors and all
    # A failed execution's actors keep their CPUs while anything refers to it: not this frame
    # (the error's traceback keeps it), nor a reference cycle waiting for a collection.
    del dataset
    if failed is not None:
        gc.collect()
    if done:  # what came back before a failure is kept too
        yield _joined(done)
    if failed is not None:
        raise failed


def _joined(parts: list[Encoded]) -> Encoded:
    """Encoded batches as one (failures renumbered by position in the whole)."""
    chunk: list[Item] = []
    failures: dict[int, str] = {}
    for items, *_, failed in parts:
        failures.update({len(chunk) + j: reason for j, reason in failed.items()})
        chunk += items
    return (chunk, np.vstack([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]), failures)


def _worker_error(exc: BaseException) -> RayEngineError:
    """A worker's crash (a bug, a lost node) or a stalled run in one line: the worker's own error
    where Ray's text names one ("ZeroDivisionError: ..."), else the first line of Ray's."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    raised = [line for line in lines if re.match(r"[A-Za-z_][\w.]*(Error|Exception)\w*: ", line)
              and not line.startswith("ray.")]
    said = (raised or [line for line in lines if line] or [type(exc).__name__])[0]
    return RayEngineError(f"the Ray workers failed ({said}); {KEPT}")
