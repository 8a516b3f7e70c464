"""Indexing on Ray (`python -m core index FOLDER --engine ray`): the same gallery as the in-process
engine makes (photo ids, vectors, withheld photos, skipped files and their reasons), a run
interrupted or failing in a worker resumed with nothing lost or doubled, and a missing Ray or an
unreachable cluster refused with one clear line before anything is written.

Ray starts on this machine (2 CPUs, no dashboard): once in a subprocess for the command line, and
once for this module's in-process runs (stopped in the fixture's teardown)."""

from __future__ import annotations

import ast
import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import require

from core.bundle import ModelBundle
from core.foundation.errors import UNAVAILABLE
from core.foundation.settings import PROJECT_ROOT, Settings, child_process_env
from core.gallery.ingest import ingest_folder
from core.gallery.ray_engine import RayEngine, RayEngineError
from core.gallery.store import galleries_dir, gallery_file, read_gallery

PHOTOS = 12
# Ray Data's own DataContext sets its deprecated fields when first made: not this project's to mend.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


@pytest.fixture(scope="module")
def ray_here() -> Iterator[Any]:
    """Ray started in this process for the module's in-process runs (a RayEngine uses it and
    leaves it running); shut down after the module."""
    ray = require("ray")
    require("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 2**20,
             logging_level=logging.WARNING)
    context = ray.data.DataContext.get_current()
    patience, context.execution_no_progress_timeout_s = context.execution_no_progress_timeout_s, 180
    yield ray  # a run stalled 3 minutes (actors that never start) fails instead of hanging
    context.execution_no_progress_timeout_s = patience
    ray.shutdown()


@pytest.fixture
def folder(tmp_path: Path, practicum_dir: Path) -> Path:
    """12 real photos (some in a subfolder), a truncated JPEG, a text file named .jpg, an empty
    file and a text file: the last two are refused while planning, the first two by a worker."""
    photos = sorted((practicum_dir / "test_images").glob("*.jpg"))[:PHOTOS]
    if len(photos) < PHOTOS:
        pytest.skip(f"fewer than {PHOTOS} practicum test images")
    root = tmp_path / "library"
    (root / "sub").mkdir(parents=True)
    for i, photo in enumerate(photos):
        shutil.copy(photo, root / ("sub" if i % 3 == 0 else "") / photo.name)
    data = photos[0].read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "notes.jpg").write_text("this is not a photo\n")
    (root / "empty.jpg").write_bytes(b"")
    (root / "readme.txt").write_text("hello")
    return root


@contextmanager
def _log_records_as_text() -> Iterator[None]:
    """pytest keeps every log record of a test, and Ray Data logs a failed run with its error as
    an argument, whose traceback holds the failed execution: its actors, and their CPUs, would
    outlive it and the rerun would wait for them. The records pytest keeps here hold text only."""

    def as_text(record: logging.LogRecord) -> bool:
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text, record.exc_info = logging.Formatter().formatException(record.exc_info), None
        return True

    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(as_text)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(as_text)


def _index_command(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv: this Python runs the project's CLI on a test folder
        [sys.executable, "-m", "core", "index", *args], capture_output=True, text=True,
        env=child_process_env(settings, WITHSENSE_INDEX_URL=""), cwd=PROJECT_ROOT,
        timeout=600)


def _by_id(settings: Settings, name: str) -> tuple[dict[str, np.ndarray], set[str]]:
    """A stored gallery's vectors by photo id, and the ids it withholds (flagged as children)."""
    stored = read_gallery(settings, name)
    assert len(stored.ids) == len(set(stored.ids))
    return (dict(zip(stored.ids, stored.vectors, strict=True)),
            {i for i, flag in zip(stored.ids, stored.flags, strict=True) if flag})


def test_ray_indexes_as_the_in_process_engine_does(settings: Settings, bundle: ModelBundle,
                                                   folder: Path) -> None:
    """The command line on a Ray it starts itself, against the in-process engine on the same
    model: the same photos, vectors (cosine >= 0.999), withheld photos and skipped files."""
    local = ingest_folder(settings, folder, gallery="in-process", bundle=bundle, batch_size=4)
    done = _index_command(settings, str(folder), "--name", "on-ray", "--engine", "ray", "--ray-workers", "2")
    assert done.returncode == 0, done.stderr
    on_ray = json.loads(done.stdout)

    assert len(local.added) == on_ray["added"] == PHOTOS and on_ray["total"] == PHOTOS
    assert on_ray["skipped"] == {s.name: s.reason for s in local.skipped}
    assert set(on_ray["skipped"]) == {"truncated.jpg", "notes.jpg", "empty.jpg", "readme.txt"}
    assert on_ray["skipped"]["notes.jpg"] == "not an image" and on_ray["flagged"] == len(local.flagged)
    want, want_withheld = _by_id(settings, "in-process")
    got, got_withheld = _by_id(settings, "on-ray")
    assert sorted(got) == sorted(want) == sorted(local.added)
    for image_id, vector in want.items():
        assert float(vector @ got[image_id]) >= 0.999, image_id  # both rows are unit length
    assert got_withheld == want_withheld == set(local.flagged)
    assert read_gallery(settings, "on-ray").fingerprint == bundle.fingerprint()


def test_an_interrupted_ray_run_resumes(settings: Settings, bundle: ModelBundle, folder: Path,
                                        ray_here: Any) -> None:
    """Stopped after its first batch (as Ctrl-C would), the run keeps that batch; the next run
    encodes only the rest, and every photo is stored once."""
    calls: list[int] = []

    def interrupt(n: int) -> None:
        calls.append(n)
        if sum(calls) > 2:  # past the two files refused while planning: a batch is published
            raise KeyboardInterrupt

    engine = RayEngine()
    with pytest.raises(KeyboardInterrupt):
        ingest_folder(settings, folder, progress=interrupt, bundle=bundle, batch_size=4, engine=engine)
    first = read_gallery(settings, "library").ids
    assert calls == [1, 1, 4] and 2 <= len(first) <= 4  # its unreadable files are not stored
    assert ray_here.is_initialized()  # a Ray the engine did not start is left running

    report = ingest_folder(settings, folder, bundle=bundle, batch_size=4, engine=engine)
    ids = read_gallery(settings, "library").ids
    assert len(ids) == len(set(ids)) == PHOTOS
    assert sorted(report.unchanged) == sorted(first) and len(report.added) == PHOTOS - len(first)
    again = ingest_folder(settings, folder, bundle=bundle, engine=engine)
    assert again.added == again.changed == again.removed == [] and len(again.unchanged) == PHOTOS


def test_a_worker_that_fails_mid_run_loses_nothing(settings: Settings, bundle: ModelBundle, folder: Path,
                                                   ray_here: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker fails on its second batch: the run stops with the worker's own error in one
    line, having stored only whole batches, and the next run stores the rest, each photo once."""
    from core.gallery import ray_engine

    class FailsOnItsSecondBatch(ray_engine.PhotoEncoder):  # defined here: Ray ships it by value
        def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls > 1:
                raise ZeroDivisionError("a bug in the worker")
            return super().__call__(batch)

    with monkeypatch.context() as patch, _log_records_as_text():
        patch.setattr(ray_engine, "PhotoEncoder", FailsOnItsSecondBatch)
        with pytest.raises(RayEngineError, match=r"ZeroDivisionError: a bug in the worker.*kept"):
            ingest_folder(settings, folder, bundle=bundle, batch_size=4, engine=RayEngine())
    first = read_gallery(settings, "library").ids if gallery_file(settings, "library").exists() else []
    assert len(first) == len(set(first)) <= 4

    report = ingest_folder(settings, folder, bundle=bundle, batch_size=4, engine=RayEngine())
    ids = read_gallery(settings, "library").ids
    assert len(ids) == len(set(ids)) == PHOTOS and sorted(report.unchanged) == sorted(first)


def test_an_unreachable_cluster_is_one_line_and_writes_nothing(settings: Settings, folder: Path) -> None:
    done = _index_command(settings, str(folder), "--engine", "ray", "--ray-address", "127.0.0.1:1")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == UNAVAILABLE, done.stderr
    assert lines[-1].startswith("error: cannot reach the Ray cluster at 127.0.0.1:1")
    assert "nothing was indexed" in lines[-1] and "Traceback" not in done.stderr
    assert done.stdout == "" and not galleries_dir(settings).exists()


def test_without_ray_the_engine_says_how_to_install_it(settings: Settings, bundle: ModelBundle,
                                                       folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, as where it is not installed
    with pytest.raises(RayEngineError, match=r"not installed.*pip install 'ray\[data\]==2.60.0'"):
        ingest_folder(settings, folder, bundle=bundle, engine=RayEngine())
    assert not galleries_dir(settings).exists()


def test_ray_options_need_the_ray_engine(settings: Settings, folder: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli.commands import main

    code = main(["--artifacts", str(settings.artifacts_dir), "index", str(folder), "--ray-address", "x:1"])
    assert code == 2 and "go with --engine ray" in capsys.readouterr().err


def test_the_product_imports_ray_only_when_the_engine_starts() -> None:
    """No core module imports ray at its top: the product runs where Ray is not installed."""
    for path in sorted((PROJECT_ROOT / "core").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "ray" or n.startswith("ray.") for n in names), path


def test_bench_times_ray_on_real_photos(settings: Settings, bundle: ModelBundle, practicum_dir: Path,
                                        ray_here: Any) -> None:
    """bench's Ray figure encodes every photo it is given, and times Ray's start apart."""
    from core.measure.bench_photos import indexing_on_ray

    photos = sorted((practicum_dir / "test_images").glob("*.jpg"))[:6]
    figures = indexing_on_ray(settings, bundle, photos, batch_size=4)
    assert "error" not in figures, figures
    assert figures["photos"] == len(photos) and figures["photos_per_s"] > 0 and figures["start_s"] >= 0
    assert not list(galleries_dir(settings).glob("*.npz"))  # it measures; it stores nothing
