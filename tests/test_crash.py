"""Crash-proof indexing (#37): `python -m core index` killed with SIGKILL at random moments, and
an upload cut off as a closed browser tab cuts it (Streamlit stops the script at its next call).
The full fault test is `python -m lab killtest` (20 kills over 60 photos); this is its small
version, so CI keeps it honest."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import require

from core.bundle import ModelBundle
from core.foundation.settings import Settings
from core.gallery.ingest import ingest_uploads
from core.gallery.store import GalleryMissingError, StoredGallery, gallery_file, read_gallery, write_gallery
from lab.killtest import MODES, NAME, check_gallery, run_killtest

UPLOADS = "some-uploads"  # an uploads gallery (core.gallery.visitors names a visitor's own)


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def test_killed_index_runs_leave_a_gallery_that_loads_and_a_rerun_finishes(trained_settings: Settings,
                                                                           tmp_path: Path) -> None:
    """3 SIGKILLs (one of each kind: a random time, mid-encoding, the store's swap) over 20 photos."""
    lines: list[str] = []
    outcome = run_killtest(trained_settings.data_dir, trained_settings.artifacts_dir / "model.pt", tmp_path,
                           photos=20, kills=3, per_round=3, batch=4, seed=11, log=lines.append)
    assert [kill.mode for kill in outcome.kills] == list(MODES), lines
    assert outcome.failures == [], lines
    assert outcome.rounds and all(r["stored"] == 20 and not r["problems"] for r in outcome.rounds), lines


def test_the_kill_checks_catch_a_doubled_photo_and_a_broken_vector(tmp_path: Path) -> None:
    """The checks above can fail: a gallery with a photo twice and a vector of zeros is caught."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"first")
    (folder / "b.jpg").write_bytes(b"second")
    settings = replace(Settings(), artifacts_dir=tmp_path / "artifacts")
    wanted = {_sha1(b"first"), _sha1(b"second")}
    vectors = np.eye(3, 8, dtype=np.float32)
    good = StoredGallery(NAME, folder, ["a.jpg", "b.jpg"], [_sha1(b"first"), _sha1(b"second")], vectors[:2],
                         np.zeros(2, bool), np.full(2, 0.1, np.float32), {"model": "x"})
    write_gallery(settings, good)
    assert check_gallery(settings, folder, wanted) == (2, [])
    doubled = good.with_rows([0, 1], ["a.jpg"], [_sha1(b"first")], np.zeros((1, 8), np.float32),
                             np.zeros(1, bool), np.full(1, 0.1, np.float32))
    write_gallery(settings, doubled)
    _, problems = check_gallery(settings, folder, wanted)
    assert {"an id stored twice", "a photo's content stored twice",
            "a vector that is not finite or not of norm 1"} <= set(problems)
    gallery_file(settings, NAME).write_bytes(b"PK half a file")
    assert check_gallery(settings, folder, wanted)[1][0].startswith("gallery does not load")


def _check_uploads(settings: Settings, contents: dict[str, bytes]) -> list[str]:
    """The uploads gallery is whole: it loads, each photo once, each id the stored file of its
    content, vectors finite and of norm 1; returns its ids (none when it was never saved)."""
    try:
        gallery = read_gallery(settings, UPLOADS)
    except GalleryMissingError:
        return []
    assert len(set(gallery.ids)) == len(gallery.ids) and len(set(gallery.keys)) == len(gallery.keys)
    for image_id, key in zip(gallery.ids, gallery.keys, strict=True):
        assert key in contents and _sha1((settings.uploads_dir / image_id).read_bytes()) == key
        assert image_id.startswith(key)
    assert np.isfinite(gallery.vectors).all()
    assert np.allclose(np.linalg.norm(gallery.vectors, axis=1), 1, atol=1e-3)
    assert gallery.flags.dtype == bool and len(gallery.flags) == len(gallery.ids)
    return sorted(gallery.ids)


@pytest.mark.parametrize("batch_size", [256, 2], ids=["one-save", "batches-of-2"])
def test_an_upload_cut_off_by_a_closed_tab_keeps_whole_photos_and_a_retry_adds_the_rest(
        settings: Settings, bundle: ModelBundle, practicum_dir: Path, batch_size: int) -> None:
    """Closing the tab makes Streamlit raise StopException at the page's next call: the progress
    bar's update, between saves. Stopped at each such point in turn, the gallery keeps what it
    had and whole photos only; with one save per upload (the default, up to 256 photos) the
    upload is in entirely or not at all. Uploading the same files again finishes it, nothing twice."""
    stop = require("streamlit.runtime.scriptrunner_utils.exceptions").StopException
    photos = sorted((practicum_dir / "test_images").glob("*.jpg"))[:5]
    files = [(p.name, p.read_bytes()) for p in photos] + [("notes.jpg", b"not a photo")]
    contents = {_sha1(data): data for _, data in files[:5]}
    ingest_uploads(settings, files[:1], UPLOADS, settings.uploads_dir, bundle=bundle)  # uploaded before
    before = _check_uploads(settings, contents)
    assert len(before) == 1
    stops, seen = 0, [before]
    for stop_at in range(1, 8):
        calls: list[int] = []

        def closed_tab(count: int, stop_at: int = stop_at, calls: list[int] = calls) -> None:
            calls.append(count)
            if len(calls) == stop_at:
                raise stop()

        try:
            ingest_uploads(settings, files, UPLOADS, settings.uploads_dir, closed_tab, bundle=bundle,
                           batch_size=batch_size)
        except stop:
            stops += 1
            now = _check_uploads(settings, contents)
            assert set(seen[-1]) <= set(now)  # nothing lost
            if batch_size == 256:
                assert now in (before, sorted(f"{k}.jpg" for k in contents))  # all or nothing
            seen.append(now)
        else:
            break
    assert stops >= 2 and len({tuple(ids) for ids in seen}) >= 2  # stopped before and after a save
    report = ingest_uploads(settings, files, UPLOADS, settings.uploads_dir, bundle=bundle)
    assert _check_uploads(settings, contents) == sorted(f"{k}.jpg" for k in contents)
    assert [s.name for s in report.skipped] == ["notes.jpg"]
