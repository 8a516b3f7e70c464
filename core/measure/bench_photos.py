"""The photo side of `python -m core bench`: where indexing time goes (each stage of it, one at a
time), what a photographer's 24-megapixel originals cost, and how long a search takes from a
cold shell. Part of the same JSON as the search benchmark (core/measure/bench.py).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from PIL import Image

from core.bundle import ModelBundle
from core.encoders.base import normalise
from core.encoders.image import DRAFT_SIDE
from core.encoders.registry import get_encoder
from core.foundation.errors import WithSenseError
from core.foundation.images import load_image
from core.foundation.settings import PROJECT_ROOT, RUNTIMES, Settings, child_process_env, using_runtime

BIG_SIZE = (6000, 4000)  # 24 megapixels, a common full-frame camera's original
CLI_QUERY = "a dog runs on the beach"


def practicum_photos(settings: Settings, n: int) -> list[Path]:
    """Up to `n` practicum photos (train, then test): real Flickr-sized photos to index."""
    from core.data.dataset import list_photos

    photos = [p for folder in ("train_images", "test_images")
              for p in list_photos(settings.practicum_dir / folder)]
    return photos[:n]


def indexing_rate(bundle: ModelBundle, photos: Sequence[Path]) -> dict[str, Any]:
    """Photos/s for decode + resize + encode + projection + child flag, bypassing the cache (the
    indexer's own pipeline: decoding in threads beside the networks)."""
    if not photos:
        return {"indexing_photos_per_s": None, "indexing": {"note": "no practicum images found"}}
    bundle.embed_photos(list(photos[:4]))  # load the weights outside the timing
    started = time.perf_counter()
    _, _, _, failures = bundle.embed_photos(list(photos))
    seconds = time.perf_counter() - started
    return {"indexing_photos_per_s": round(len(photos) / seconds, 1),
            "indexing": {"photos": len(photos), "seconds": round(seconds, 2), "failures": len(failures)}}


def photo_side(settings: Settings, bundle: ModelBundle, photos: Sequence[Path], big_photos: int,
               cli_runs: int, runtimes: bool = True, ray: bool = True) -> dict[str, Any]:
    """bench's photo figures: indexing throughput and stages, each runtime's (``runtimes``), on Ray
    started here (``ray``), 24-megapixel photos, and a search from a cold shell."""
    out = indexing_rate(bundle, photos)
    out["indexing_stages"] = stage_times(bundle, photos) if photos else {}
    if runtimes:
        out["indexing_by_runtime"] = indexing_by_runtime(bundle, photos)
    if ray:
        out["indexing_ray_local"] = indexing_on_ray(settings, bundle, photos)
    out["big_photos"] = big_photo_figures(bundle, photos, big_photos)
    out["cli_cold_start"] = cli_cold_start(settings, cli_runs)
    return out


def indexing_by_runtime(bundle: ModelBundle, photos: Sequence[Path]) -> dict[str, Any]:
    """:func:`indexing_rate` and the networks' time per photo in each runtime (core.encoders.runtime).
    int8 needs the networks calibrated on training photos first (`train` does it), else noted."""
    encoder = get_encoder(bundle.image_encoder, "image")
    out: dict[str, Any] = {}
    for runtime in RUNTIMES:
        if runtime == "onnx-int8" and not getattr(encoder, "int8_ready", lambda: False)():
            out[runtime] = {"note": "not calibrated: `python -m core train` in this runtime calibrates it"}
            continue
        with using_runtime(runtime):
            rate = indexing_rate(bundle, photos)
            stages = stage_times(bundle, photos) if photos else {"ms_per_photo": {}}
        networks = {k: v for k, v in stages["ms_per_photo"].items() if k.startswith("network ")}
        out[runtime] = {"photos_per_s": rate["indexing_photos_per_s"], "network_ms_per_photo": networks}
    return out


def indexing_on_ray(settings: Settings, bundle: ModelBundle, photos: Sequence[Path],
                    workers: int | None = None, batch_size: int = 32) -> dict[str, Any]:
    """Photos/s of `index --engine ray` with Ray started on this machine (core.gallery.ray_engine),
    on the same photos and runtime as :func:`indexing_rate`: Ray's start (cluster, actors, each
    loading the model) apart from the encoding itself. Nothing is written to a gallery."""
    from core.gallery.ray_engine import RayEngine

    items = [(f"{i}-{p.name}", p, "") for i, p in enumerate(photos)]
    try:
        started = time.perf_counter()
        with RayEngine(workers=workers)(settings, bundle) as encode:
            ready = time.perf_counter()
            first = None
            done = 0
            for batch in encode(items, batch_size):
                first = first or time.perf_counter()
                done += len(batch[0])
            finished = time.perf_counter()
    except WithSenseError as exc:  # Ray not installed or not startable here
        return {"error": str(exc)}
    return {"photos": done, "start_s": round(ready - started, 2), "seconds": round(finished - ready, 2),
            "photos_per_s": round(done / (finished - ready), 1),
            "note": "Ray started here, one actor and one thread per core; start_s (Ray and its actors, "
                    "before the first photo) is paid once per run"}


def stage_times(bundle: ModelBundle, photos: Sequence[Path], batch_size: int = 32) -> dict[str, Any]:
    """Milliseconds per photo of each indexing stage, run one after another on one thread of
    work (the indexer overlaps decoding with the networks; this says which stage limits it)."""
    encoder = get_encoder(bundle.image_encoder, "image")
    members = encoder.members() if hasattr(encoder, "members") else (encoder,)
    bundle.embed_photos(list(photos[:2]))  # weights loaded outside the timing
    clock: dict[str, float] = {}

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        clock[stage] = clock.get(stage, 0.0) + time.perf_counter() - started
        return result

    images = timed("read and decode", lambda: [load_image(p, draft_side=DRAFT_SIDE) for p in photos])
    arrays = timed("resize and normalise", lambda: [[m.preprocess(im) for im in images] for m in members])
    parts = []
    for member, prepared in zip(members, arrays, strict=True):
        rows = [timed(f"network {member.name}", lambda start=start, m=member, p=prepared:
                      m.encode_arrays(np.stack(p[start : start + batch_size])))
                for start in range(0, len(prepared), batch_size)]
        parts.append(np.vstack(rows))
    raw = normalise(np.hstack(parts))  # joined as JoinedImageEncoder joins them
    if bundle.child_reads_trunks:
        note = "the child network reads the trunk: its cost is inside the network stage"
        timed("projection", lambda: bundle.tower.embed_image(raw))
    else:
        note = "the child check is a dot product on the photo's vector"
        timed("projection and child check", lambda: bundle.embed_encoded(raw, None, {}))
    per_photo = {stage: round(1000 * seconds / len(photos), 2) for stage, seconds in clock.items()}
    return {"photos": len(photos), "ms_per_photo": per_photo, "note": note,
            "sequential_photos_per_s": round(len(photos) / sum(clock.values()), 1),
            "largest": max(per_photo, key=per_photo.__getitem__)}


def big_photo_figures(bundle: ModelBundle, sources: Sequence[Path], count: int = 8) -> dict[str, Any]:
    """Photos/s and the memory that indexing 24-megapixel JPEGs adds (made from real photos,
    enlarged: the decoder's work is the same whatever the content)."""
    if count < 1 or not sources:
        return {"photos": 0}
    with tempfile.TemporaryDirectory(prefix="withsense-24mp-") as folder:
        paths = []
        for i in range(count):
            with Image.open(sources[i % len(sources)]) as small:
                big = small.convert("RGB").resize(BIG_SIZE, Image.Resampling.BILINEAR)
            paths.append(Path(folder) / f"big-{i}.jpg")
            big.save(paths[-1], quality=90)
            del big
        megabytes = round(sum(p.stat().st_size for p in paths) / len(paths) / 2**20, 1)
        bundle.embed_photos(paths[:1])  # weights loaded outside the timing
        with _PeakMemory() as memory:
            started = time.perf_counter()
            _, _, _, failures = bundle.embed_photos(paths)
            seconds = time.perf_counter() - started
    return {"photos": count, "size": f"{BIG_SIZE[0]}x{BIG_SIZE[1]}", "jpeg_mb_each": megabytes,
            "photos_per_s": round(count / seconds, 2), "failures": len(failures),
            "memory_added_mb": memory.added_mb}


def cli_cold_start(settings: Settings, runs: int = 3) -> dict[str, Any]:
    """`python -m core search` from a fresh process, `runs` times: wall seconds (process start to
    exit), its load_ms (imports and model) and took_ms (the search)."""
    if runs < 1:
        return {"runs": 0}
    env = child_process_env(settings)
    walls, loads, searches = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - fixed argv: this Python, the project's own CLI, a constant query
            [sys.executable, "-m", "core", "search", CLI_QUERY, "--top", "5", "--json"],
            capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300)
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            return {"runs": len(walls), "error": done.stderr.strip()[-300:]}
        out = json.loads(done.stdout)
        loads.append(out["load_ms"])
        searches.append(out["took_ms"])
    return {"runs": runs, "query": CLI_QUERY, "wall_s_median": round(statistics.median(walls), 2),
            "wall_s": [round(w, 2) for w in walls], "load_ms_median": round(statistics.median(loads), 1),
            "took_ms_median": round(statistics.median(searches), 2)}


class _PeakMemory:
    """The most resident memory above the starting point while the block runs (sampled 100/s)."""

    def __enter__(self) -> _PeakMemory:
        self._process = psutil.Process()
        self._base = self._peak = self._process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._peak = max(self._peak, self._process.memory_info().rss)

    @property
    def added_mb(self) -> float:
        return round((self._peak - self._base) / 2**20, 1)
