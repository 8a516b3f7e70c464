"""A visitor's own uploads: each visitor (a browser session of the app) gets a random id, and
its photos go to a folder and a gallery of its own, searchable by that visitor only.

The id is the only key: a gallery is ``visitor-<id>`` (core.gallery.store never lists it with
the others) and its photos ``<uploads>/<id>/<content hash>.<format>``. Pages and links name it
:data:`MY_UPLOADS` and the page turns that into its own visitor's gallery, so a shared link opens
the opener's uploads, never the sharer's. Each photo is kept ``Settings.upload_ttl_hours``
after it was added (its file's modification time), then :func:`sweep_expired` deletes it: its
vector from the gallery (and from pgvector), then its file; a gallery left empty goes whole.
A visitor holds at most ``Settings.upload_max_photos`` photos and ``upload_max_mb`` megabytes.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.foundation.errors import Problem, WithSenseError
from core.foundation.settings import Settings
from core.gallery.store import (
    VISITOR_PREFIX,
    GalleryError,
    GalleryMissingError,
    StoredGallery,
    delete_gallery,
    galleries_dir,
    gallery_file,
    gallery_lock,
    list_galleries,
    read_gallery,
    write_gallery,
)

if TYPE_CHECKING:
    from core.bundle import ModelBundle
    from core.gallery.ingest import IngestReport, Progress, ProgressFactory

# core.gallery.ingest imports torch (seconds): imported when photos are added, so a page that only
# lists galleries paints at once.

MY_UPLOADS = "uploads"  # what the pages and links call the visitor's own gallery
_VISITOR_ID = re.compile(r"[0-9a-f]{32}")
log = logging.getLogger(__name__)


class UploadLimitError(WithSenseError, ValueError):
    """A visitor's uploads would pass the cap on photos or megabytes; nothing was added."""

    problem = Problem.UPLOAD_LIMIT


def new_visitor() -> str:
    """A fresh visitor id: 128 random bits, so no one guesses another visitor's."""
    return secrets.token_hex(16)


def _checked(visitor: str) -> str:
    if not _VISITOR_ID.fullmatch(visitor):
        raise ValueError(f"not a visitor id: {visitor!r}")  # the pages make them: a bug, not input
    return visitor


def visitor_gallery(visitor: str) -> str:
    """The name of a visitor's own gallery."""
    return f"{VISITOR_PREFIX}{_checked(visitor)}"


def visitor_folder(settings: Settings, visitor: str) -> Path:
    """Where a visitor's photos are stored."""
    return settings.uploads_dir / _checked(visitor)


def has_uploads(settings: Settings, visitor: str) -> bool:
    return gallery_file(settings, visitor_gallery(visitor)).is_file()


def gallery_for(name: str, visitor: str) -> str:
    """The gallery a page searches when it shows ``name``: MY_UPLOADS is the visitor's own."""
    return visitor_gallery(visitor) if name == MY_UPLOADS else name


def _photos(folder: Path) -> list[Path]:
    """A visitor's stored photos (a write in progress is a hidden temporary file, not one)."""
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]


def add_uploads(settings: Settings, visitor: str, files: Sequence[tuple[str, bytes]],
                progress: Progress | ProgressFactory | None = None, *, bundle: ModelBundle | None = None,
                batch_size: int = 256, now: float | None = None, description: str = "",
                consent: bool = False) -> IngestReport:
    """Add uploaded (file name, bytes) to the visitor's own gallery (core.gallery.ingest.ingest_uploads),
    after deleting everyone's expired uploads. UploadLimitError, with nothing stored, when the new
    photos would pass the visitor's cap. Interrupted (a closed tab stops the run), every photo
    is either indexed whole or not stored at all. ``description`` and ``consent`` are recorded
    with each photo (core.gallery.written)."""
    from core.gallery.ingest import ingest_uploads

    sweep_expired(settings, now)
    folder = visitor_folder(settings, visitor)
    new: list[str] = []

    def admit(photos: list[tuple[str, int]]) -> None:
        _check_room(settings, folder, photos, time.time() if now is None else now)
        new.extend(name for name, _ in photos)

    gallery = visitor_gallery(visitor)
    try:
        return ingest_uploads(settings, files, gallery, folder, progress, bundle=bundle,
                              batch_size=batch_size, admit=admit, description=description, consent=consent)
    except BaseException:
        _drop_unindexed(settings, gallery, folder, new)
        raise


def _check_room(settings: Settings, folder: Path, photos: list[tuple[str, int]], now: float) -> None:
    if not photos:  # nothing new to store (each one already there, or unusable)
        return
    held = _photos(folder)
    count, size = len(held), sum(p.stat().st_size for p in held)
    adding = sum(n for _, n in photos)
    cap_bytes = settings.upload_max_mb * 2**20
    if count + len(photos) <= settings.upload_max_photos and size + adding <= cap_bytes:
        return
    ttl = settings.upload_ttl_hours
    oldest = min((p.stat().st_mtime for p in held), default=now)
    free = time.strftime("%H:%M UTC", time.gmtime(oldest + ttl * 3600))
    raise UploadLimitError(
        f"You may keep up to {settings.upload_max_photos} photos and {settings.upload_max_mb} MB of uploads "
        f"at a time; you have {count} ({size / 2**20:.1f} MB), and these would add {len(photos)} "
        f"({adding / 2**20:.1f} MB). Nothing was added. Add fewer photos, or wait: each upload is "
        f"deleted {ttl:g} h after it was added (your oldest at {free}).")


def _drop_unindexed(settings: Settings, gallery: str, folder: Path, names: list[str]) -> None:
    """After an interrupted upload: delete the files this upload stored that its gallery does not hold."""
    try:
        held = set(read_gallery(settings, gallery).ids)
    except (GalleryMissingError, GalleryError):
        held = set()
    for name in names:
        if name not in held:
            (folder / name).unlink(missing_ok=True)


def sweep_expired(settings: Settings, now: float | None = None) -> list[Path]:
    """Delete every visitor's photos added more than ``settings.upload_ttl_hours`` before
    ``now`` (default: the clock), each from its gallery first (a search never names a missing
    file), then from the disk; galleries and folders left empty are deleted. Returns the files
    deleted. Cheap when nothing expired: one look at each visitor's files."""
    cutoff = (time.time() if now is None else now) - settings.upload_ttl_hours * 3600
    deleted: list[Path] = []
    root = settings.uploads_dir
    visitors = {p.name for p in root.iterdir() if p.is_dir() and _VISITOR_ID.fullmatch(p.name)} \
        if root.is_dir() else set()
    visitors |= {g[len(VISITOR_PREFIX):] for g in list_galleries(settings, visitors=True)
                 if g.startswith(VISITOR_PREFIX) and _VISITOR_ID.fullmatch(g[len(VISITOR_PREFIX):])}
    for visitor in sorted(visitors):
        folder = visitor_folder(settings, visitor)
        files = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
        if files and all(p.stat().st_mtime >= cutoff for p in files):
            continue
        deleted += _expire(settings, visitor, cutoff)
    return deleted


def _expire(settings: Settings, visitor: str, cutoff: float) -> list[Path]:
    folder, name = visitor_folder(settings, visitor), visitor_gallery(visitor)
    with gallery_lock(settings, name):  # an upload to this gallery finishes first
        old = [p for p in (folder.iterdir() if folder.is_dir() else []) if p.is_file()
               and p.stat().st_mtime < cutoff]
        gone = {p.name for p in old}
        try:
            stored = read_gallery(settings, name)
            keep = [i for i, image_id in enumerate(stored.ids)
                    if image_id not in gone and (folder / image_id).is_file()]
        except GalleryMissingError:
            stored, keep = None, []
        except GalleryError as exc:  # damaged: its photos cannot be searched anyway
            log.warning("deleting visitor gallery %s: %s", name, exc)
            stored, keep = None, []
        if stored is not None and keep:
            if len(keep) < len(stored.ids):
                _write_rows(settings, stored, keep)
        else:
            _delete_gallery(settings, name)
        for path in old:
            path.unlink(missing_ok=True)
        if not keep:
            _remove_if_empty(folder)
            (galleries_dir(settings) / f".{name}.lock").unlink(missing_ok=True)
    return old


def _write_rows(settings: Settings, stored: StoredGallery, keep: list[int]) -> None:
    """The gallery without its expired rows, in the file and in pgvector when it is in use."""
    kept = stored.with_rows(keep, [], [], np.zeros((0, stored.dim), np.float32), np.zeros(0, bool),
                            np.zeros(0, np.float32))
    write_gallery(settings, kept)
    if settings.index_url:
        from core.index.pgvector import PgVectorIndex  # optional backend, imported only when chosen

        with PgVectorIndex.open(settings.index_url, stored.name, dim=stored.dim) as index:
            index.remove(sorted(set(stored.ids) - set(kept.ids)))


def _delete_gallery(settings: Settings, name: str) -> None:
    delete_gallery(settings, name)
    if settings.index_url:
        from core.index.pgvector import PgVectorIndex

        PgVectorIndex.drop(settings.index_url, name)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty (an upload just stored a photo) or already gone
        pass


def public_galleries(names: Sequence[str]) -> list[str]:
    """The galleries every visitor may search (a legacy shared 'uploads' gallery is not one)."""
    return [n for n in names if n != MY_UPLOADS and not n.startswith(VISITOR_PREFIX)]

