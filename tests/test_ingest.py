"""Adding photos: bad files listed and skipped, galleries follow their folders, interrupted runs
resume, two runs at once, uploads, and the damaged, read-only and vanishing cases."""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import require
from PIL import Image

from core.bundle import ModelBundle
from core.foundation.settings import Settings
from core.gallery.ingest import IngestError, ingest_folder, ingest_uploads
from core.gallery.store import gallery_file, read_gallery
from core.index.exact import ExactIndex
from core.search.service import open_gallery

UPLOADS = "some-uploads"  # a gallery of uploads (core.gallery.visitors names a visitor's own)


@pytest.fixture(scope="session")
def photos(practicum_dir: Path) -> list[Path]:
    """Real JPEGs from the practicum test set (read-only: tests copy them)."""
    found = sorted((practicum_dir / "test_images").glob("*.jpg"))
    if len(found) < 6:
        pytest.skip(f"practicum test images not found in {practicum_dir / 'test_images'}")
    return found


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG that declares huge dimensions (a decompression bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def make_folder(folder: Path, photos: list[Path], n_good: int = 4) -> list[str]:
    folder.mkdir(parents=True)
    good = []
    for i, photo in enumerate(photos[:n_good]):
        target = folder / ("sub" if i % 2 else "") / photo.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(photo, target)
        good.append(target.relative_to(folder).as_posix())
    data = photos[0].read_bytes()
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "notes.jpg").write_text("this is not a photo\n")
    (folder / "bomb.png").write_bytes(png_bomb(100_000, 100_000))
    Image.new("1", (8000, 8000)).save(folder / "big.png")  # 64 Mpx: PIL itself only warns
    (folder / "readme.txt").write_text("hello")
    return sorted(good)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_folder_with_bad_files(settings: Settings, bundle: ModelBundle,
                               photos: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    good = make_folder(folder, photos)
    shutil.copy(folder / good[0], folder / "copy-of-first.jpg")
    counts: list[tuple[str, int]] = []

    def factory(stage: str, total: int) -> Callable[[int], None]:
        counts.append((stage, total))
        return lambda n: counts.append(("", n))

    report = ingest_folder(settings, folder, progress=factory, bundle=bundle, batch_size=2)
    assert report.gallery == "photos"
    assert sorted(report.added) == good
    reasons = {s.name: s.reason for s in report.skipped}
    assert set(reasons) == {"zero.jpg", "truncated.jpg", "notes.jpg", "bomb.png", "big.png", "readme.txt"}
    assert reasons["zero.jpg"] == "empty file"
    assert "truncated" in reasons["truncated.jpg"]
    assert reasons["notes.jpg"] == "not an image"
    assert "too large" in reasons["bomb.png"] and "too large" in reasons["big.png"]
    assert reasons["readme.txt"].startswith(".txt is not an accepted format; accepted: JPEG, PNG")
    assert report.duplicates == {"copy-of-first.jpg": good[0]}
    assert counts[0][1] == 11 and sum(n for stage, n in counts[1:]) == 11

    gallery = open_gallery(settings, "photos")
    assert sorted(gallery.index.ids()) == good and report.total == len(good)
    assert gallery.path_of(good[1]).is_file()
    flags = dict(zip(gallery.index.ids(), gallery.index.flags(), strict=True))  # type: ignore[attr-defined]
    assert sorted(report.flagged) == sorted(i for i, f in flags.items() if f)
    found = gallery.index.search(np.ones(gallery.index.dim, np.float32) / 16, k=len(good))
    assert not {h.id for h in found.hits} & set(report.flagged)
    stored = read_gallery(settings, "photos")
    assert sorted(stored.ids) == good and stored.root == folder.resolve()
    assert stored.fingerprint == bundle.fingerprint() and len(set(stored.keys)) == len(good)

    again = ingest_folder(settings, folder, bundle=bundle)
    assert again.added == again.changed == again.removed == [] and sorted(again.unchanged) == good
    assert len(open_gallery(settings, "photos").index) == len(good)


def test_interrupted_run_resumes(settings: Settings, bundle: ModelBundle,
                                 photos: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "holiday"
    folder.mkdir()
    for photo in photos[:6]:
        shutil.copy(photo, folder / photo.name)
    calls: list[int] = []

    def interrupt(n: int) -> None:
        calls.append(n)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_folder(settings, folder, progress=interrupt, bundle=bundle, batch_size=2)
    index_file = gallery_file(settings, "holiday")
    assert len(read_gallery(settings, "holiday").ids) == 2 and calls == [2]
    (index_file.parent / f".{index_file.name}.dead.tmp").write_bytes(b"half a write")  # a killed save

    report = ingest_folder(settings, folder, bundle=bundle, batch_size=2)
    assert len(report.added) == 4 and len(report.unchanged) == 2
    ids = read_gallery(settings, "holiday").ids
    assert sorted(ids) == sorted(p.name for p in folder.iterdir()) and len(ids) == len(set(ids)) == 6


def test_uploads_get_safe_names(settings: Settings, bundle: ModelBundle, photos: list[Path]) -> None:
    jpeg, other = (p.read_bytes() for p in photos[:2])
    png = _as_png(other)
    files = [("../../evil name.jpg", jpeg), ("photo.jpg", png), ("C:\\x\\empty.jpg", b""),
             ("fake.jpg", b"GIF89a but no image"), ("bomb.png", png_bomb(60_000, 60_000)),
             ("again.jpeg", jpeg)]
    live = ExactIndex(bundle.tower.dim)
    report = ingest_uploads(settings, files, UPLOADS, settings.uploads_dir, bundle=bundle, live_index=live)
    assert report.gallery == UPLOADS and len(report.added) == 2
    stored = sorted(p.name for p in settings.uploads_dir.iterdir())
    assert stored == sorted(report.added)
    assert all(re.fullmatch(r"[0-9a-f]{40}\.(jpg|png)", name) for name in stored)
    assert {report.labels[i] for i in report.added} == {"evil name.jpg", "photo.jpg"}
    assert next(i for i in report.added if report.labels[i] == "photo.jpg").endswith(".png")
    assert {s.name for s in report.skipped} == {"empty.jpg", "fake.jpg", "bomb.png"}
    assert report.unchanged == ["again.jpeg"]
    assert not list(settings.data_dir.rglob("evil*")) and sorted(live.ids()) == sorted(report.added)
    gallery = open_gallery(settings, UPLOADS)
    assert gallery.root == settings.uploads_dir.resolve() and len(gallery.index) == 2

    again = ingest_uploads(settings, [("new name.jpg", jpeg)], UPLOADS, settings.uploads_dir, bundle=bundle)
    assert again.added == [] and again.unchanged == ["new name.jpg"]


def test_name_clash_and_missing_folder(settings: Settings, bundle: ModelBundle,
                                       photos: list[Path], tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not a folder"):
        ingest_folder(settings, tmp_path / "nowhere", bundle=bundle)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(photos[0], tmp_path / name / "one.jpg")
    ingest_folder(settings, tmp_path / "a", gallery="mine", bundle=bundle)
    with pytest.raises(IngestError, match="already holds photos"):
        ingest_folder(settings, tmp_path / "b", gallery="mine", bundle=bundle)
    for bad in ("../escape", ".hidden", "a/b", ""):
        with pytest.raises(IngestError, match="invalid gallery name"):
            ingest_folder(settings, tmp_path / "b", gallery=bad or "x" * 65, bundle=bundle)


def _as_png(data: bytes) -> bytes:
    import io

    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as img:
        img.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def test_ingest_mirrors_to_pgvector(settings: Settings, bundle: ModelBundle, photos: list[Path],
                                    tmp_path: Path, request: pytest.FixtureRequest) -> None:
    require("pgserver")
    from core.index.pgconnect import start_local_server, stop_local_server
    from core.index.pgvector import PgVectorIndex

    folder = tmp_path / "mirrored"
    folder.mkdir()
    for photo in photos[:3]:
        shutil.copy(photo, folder / photo.name)
    ingest_folder(settings, folder, bundle=bundle)  # the in-process index only
    for photo in photos[3:5]:
        shutil.copy(photo, folder / photo.name)
    pg_settings = replace(settings, index_url=start_local_server(tmp_path / "pg"))
    request.addfinalizer(lambda: stop_local_server(pg_settings.index_url))
    report = ingest_folder(pg_settings, folder, bundle=bundle)
    assert len(report.added) == 2 and report.total == 5
    gallery = open_gallery(pg_settings, "mirrored")
    assert isinstance(gallery.index, PgVectorIndex)
    assert sorted(gallery.index.ids()) == sorted(p.name for p in photos[:5])
    exact = read_gallery(settings, "mirrored").index()
    query = exact.vectors()[0]
    score = dict(zip(exact.ids(), exact.vectors() @ query, strict=True))
    flagged = {i for i, f in zip(exact.ids(), exact.flags(), strict=True) if f}
    got, want = gallery.index.search(query, 3), exact.search(query, 3)  # the same up to near ties
    assert len(got.hits) == len(want.hits) > 0 and not {h.id for h in got.hits} & flagged
    np.testing.assert_allclose([score[h.id] for h in got.hits], [h.similarity for h in want.hits], atol=1e-4)
    gallery.index.close()


def _folder_of(folder: Path, photos: list[Path]) -> Path:
    folder.mkdir(parents=True)
    for photo in photos:
        shutil.copy(photo, folder / photo.name)
    return folder


def _follows_its_folder(settings: Settings, bundle: ModelBundle, photos: list[Path], folder: Path) -> None:
    """Delete one photo, change one, add one: the gallery (and its search) follows."""
    first = ingest_folder(settings, folder, bundle=bundle)
    assert len(first.added) == 3 and first.total == 3
    deleted, changed, kept = sorted(p.name for p in folder.iterdir())
    old_vector = read_gallery(settings, folder.name).vectors[0]  # the deleted photo's vector
    (folder / deleted).unlink()
    shutil.copy(photos[4], folder / changed)  # new content under the same name
    shutil.copy(photos[5], folder / "new.jpg")
    report = ingest_folder(settings, folder, bundle=bundle)
    assert (report.added, report.changed, report.removed, report.unchanged) == (
        ["new.jpg"], [changed], [deleted], [kept])
    assert report.to_json()["removed"] == 1 and report.total == 3
    stored = read_gallery(settings, folder.name)
    assert sorted(stored.ids) == sorted([changed, kept, "new.jpg"])
    gallery = open_gallery(settings, folder.name, bundle)
    assert sorted(gallery.index.ids()) == sorted(stored.ids)
    found = gallery.index.search(old_vector, k=10)  # its own vector: it would rank first
    assert deleted not in {h.id for h in found.hits}
    assert ingest_folder(settings, folder, bundle=bundle).unchanged == sorted(stored.ids)


def test_gallery_follows_its_folder(settings: Settings, bundle: ModelBundle, photos: list[Path],
                                    tmp_path: Path) -> None:
    _follows_its_folder(settings, bundle, photos, _folder_of(tmp_path / "trip", photos[:3]))


def test_gallery_follows_its_folder_in_pgvector(settings: Settings, bundle: ModelBundle,
                                                photos: list[Path], tmp_path: Path,
                                                request: pytest.FixtureRequest) -> None:
    require("pgserver")
    from core.index.pgconnect import start_local_server, stop_local_server
    from core.index.pgvector import PgVectorIndex

    pg_settings = replace(settings, index_url=start_local_server(tmp_path / "pg"))
    request.addfinalizer(lambda: stop_local_server(pg_settings.index_url))
    _follows_its_folder(pg_settings, bundle, photos, _folder_of(tmp_path / "trip", photos[:3]))
    table = open_gallery(pg_settings, "trip").index
    assert isinstance(table, PgVectorIndex)
    assert sorted(table.ids()) == sorted(read_gallery(settings, "trip").ids)


def test_gallery_of_another_model_is_refused_then_reindexed(settings: Settings, bundle: ModelBundle,
                                                            photos: list[Path], tmp_path: Path) -> None:
    from core.gallery.store import StaleGalleryError, write_gallery

    folder = _folder_of(tmp_path / "old", photos[:2])
    ingest_folder(settings, folder, bundle=bundle)
    stored = read_gallery(settings, "old")
    write_gallery(settings, replace(stored, fingerprint={**stored.fingerprint, "model_sha256": "0" * 64}))
    with pytest.raises(StaleGalleryError, match=r"another model .*python -m core index .* --name old"):
        open_gallery(settings, "old", bundle)
    report = ingest_folder(settings, folder, bundle=bundle)
    assert "another model" in report.rebuilt and sorted(report.added) == sorted(stored.ids)
    assert open_gallery(settings, "old", bundle).index.ids() == read_gallery(settings, "old").ids


def test_two_runs_at_once_wait_and_lose_nothing(settings: Settings, bundle: ModelBundle,
                                                photos: list[Path], tmp_path: Path) -> None:
    import threading

    from core.gallery.store import gallery_lock

    folder = _folder_of(tmp_path / "busy", photos[:4])
    waiting = threading.Event()
    reports: list = []

    def run() -> None:
        reports.append(ingest_folder(settings, folder, bundle=bundle, batch_size=2, on_wait=waiting.set))

    with gallery_lock(settings, "busy"):  # another run holds the gallery
        runners = [threading.Thread(target=run) for _ in range(2)]
        for runner in runners:
            runner.start()
        assert waiting.wait(60), "a second run did not wait for the first"
        assert not gallery_file(settings, "busy").exists()
    for runner in runners:
        runner.join(120)
    assert len(reports) == 2
    assert sorted(len(r.added) for r in reports) == [0, 4]  # one run added them, the other found them
    ids = read_gallery(settings, "busy").ids
    assert sorted(ids) == sorted(p.name for p in photos[:4]) and len(ids) == len(set(ids))


def test_damaged_gallery_file_is_reported_then_rebuilt(settings: Settings, bundle: ModelBundle,
                                                       photos: list[Path], tmp_path: Path) -> None:
    from core.gallery.store import GalleryError

    folder = _folder_of(tmp_path / "dented", photos[:2])
    ingest_folder(settings, folder, bundle=bundle)
    gallery_file(settings, "dented").write_bytes(b"PK\x03\x04 not a whole zip")
    with pytest.raises(GalleryError, match=r"damaged.*python -m core index"):
        open_gallery(settings, "dented", bundle)
    report = ingest_folder(settings, folder, bundle=bundle)
    assert "could not be read" in report.rebuilt and len(report.added) == 2
    assert len(open_gallery(settings, "dented", bundle).index) == 2


def test_read_only_artifacts_and_cli_errors_are_one_line(settings: Settings, photos: list[Path],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    import core.foundation.atomic
    from core.cli.commands import main

    folder = _folder_of(tmp_path / "frozen", photos[:1])
    for name, value in (("WITHSENSE_ARTIFACTS", settings.artifacts_dir), ("WITHSENSE_INDEX_URL", ""),
                        ("WITHSENSE_DATA", settings.data_dir), ("WITHSENSE_CACHE", settings.cache_dir)):
        monkeypatch.setenv(name, str(value))

    def read_only(*_: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(core.foundation.atomic.os, "replace", read_only)
        assert main(["index", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "writable" in err[-1] and "Traceback" not in "".join(err)
    assert not list(settings.artifacts_dir.rglob("*.tmp"))

    assert main(["index", str(folder), "--name", "shared"]) == 0
    other = _folder_of(tmp_path / "other", photos[1:2])
    capsys.readouterr()
    assert main(["index", str(other), "--name", "shared"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds photos" in err[0]


def test_folder_that_vanishes_mid_run(settings: Settings, bundle: ModelBundle, photos: list[Path],
                                      tmp_path: Path) -> None:
    folder = _folder_of(tmp_path / "usb", photos[:4])

    def unplug(n: int) -> None:
        if folder.exists():
            shutil.rmtree(folder)

    with pytest.raises(IngestError, match=r"disappeared.*keeps the 2 photo"):
        ingest_folder(settings, folder, progress=unplug, bundle=bundle, batch_size=2)
    assert len(read_gallery(settings, "usb").ids) == 2  # the batch finished before is kept


def test_searches_during_an_upload_never_show_a_flagged_photo(settings: Settings, bundle: ModelBundle,
                                                              photos: list[Path]) -> None:
    """8 threads search the live uploads index while photos arrive one batch at a time."""
    import threading

    from core.index.exact import ExactIndex
    from core.search.service import Gallery, SearchService

    live = ExactIndex(bundle.tower.dim)
    service = SearchService(bundle, Gallery(UPLOADS, settings.uploads_dir, live))
    stop, seen = threading.Event(), []

    def search() -> None:
        while not stop.is_set():
            response = service.search("a dog runs on the grass", top_k=10)
            seen.append((response.withheld, [h.image for h in response.results]))

    readers = [threading.Thread(target=search) for _ in range(8)]
    for reader in readers:
        reader.start()
    try:
        report = ingest_uploads(settings, [(p.name, p.read_bytes()) for p in photos[:6]], UPLOADS,
                                settings.uploads_dir, bundle=bundle, live_index=live, batch_size=1)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    flags = dict(zip(live.ids(), live.flags(), strict=True))
    assert len(flags) == len(report.added) == 6 and seen
    for withheld, images in seen:
        assert not any(flags[i] for i in images)  # every id's flag is fixed once it is published
        assert len(images) + withheld <= 6
