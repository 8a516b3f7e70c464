"""Adding photos to a gallery: a folder (``python -m core index FOLDER``) or uploaded files.

New photos are encoded in batches, and the same forward pass gives each its child flag from the
model's classifier before it is stored, so a flagged photo is never shown. After every batch the
gallery index (artifacts/galleries/<name>.npz, with each photo's content hash) is written
atomically, and mirrored to pgvector when Settings.index_url is set, so an interrupted run
loses at most the batch in flight and the next run picks up where it stopped. Files already in
the gallery (same path or same content) are skipped; unusable files are listed with a reason.
"""

from __future__ import annotations

import fcntl
import inspect
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from core.bundle import ModelBundle
from core.config import Settings
from core.embeddings import content_key, file_key
from core.images import MAX_IMAGE_BYTES, ImageError, load_image_bytes
from core.index import ExactIndex, IndexFileError, VectorIndex
from core.search import gallery_paths, write_gallery_meta

UPLOADS_GALLERY = "uploads"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
# Stored extension by decoded format: the user's file name never decides it.
FORMAT_SUFFIX = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp",
                 "TIFF": "tif"}
DEFAULT_BATCH = 256
MAX_SAVES = 100  # big runs use bigger batches, so rewriting the index stays O(n) overall

Progress = Callable[[int], None]
ProgressFactory = Callable[[str, int], Progress]


class IngestError(RuntimeError):
    """The run cannot start: no such folder, a bad gallery name, a gallery name clash..."""


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclass
class IngestReport:
    gallery: str
    root: Path
    added: list[str] = field(default_factory=list)  # ids stored by this run
    flagged: list[str] = field(default_factory=list)  # of those, hidden as possible child photos
    already_indexed: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)  # name -> id holding the same photo
    skipped: list[Skipped] = field(default_factory=list)  # unusable files, with the reason
    labels: dict[str, str] = field(default_factory=dict)  # stored id -> uploaded file name
    total: int = 0  # photos in the gallery after the run
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "gallery": self.gallery, "root": str(self.root), "added": len(self.added),
            "flagged": len(self.flagged), "already_indexed": len(self.already_indexed),
            "duplicates": self.duplicates, "skipped": {s.name: s.reason for s in self.skipped},
            "total": self.total, "seconds": round(self.seconds, 2),
            "photos_per_s": round(len(self.added) / self.seconds, 1) if self.seconds > 0 else None,
        }


def default_gallery_name(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(folder).resolve().name).strip("-")
    return name[:64] or "gallery"


def check_gallery_name(name: str) -> str:
    """Gallery names become file names under artifacts/galleries: letters, digits, '_', '-', '.'."""
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}", name):
        raise IngestError(f"invalid gallery name {name!r}: use up to 64 letters, digits, '_', '-' or '.'"
                          " (not starting with '.')")
    return name


def display_name(name: str) -> str:
    """A user-supplied file name reduced to something safe to show (never used as a path)."""
    base = PureWindowsPath(PurePosixPath(str(name)).name).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return (base[:97] + "...") if len(base) > 100 else (base or "unnamed")


def _counter(progress: Progress | ProgressFactory | None, stage: str, total: int) -> Progress:
    """A count callback from either a count callback or a (stage, total) factory (like train's)."""
    if progress is None:
        return lambda n: None
    if not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    try:
        required = [p for p in inspect.signature(progress).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        required = []
    count: Progress = progress(stage, total) if len(required) == 2 else progress  # type: ignore[call-arg,assignment]
    return lambda n: count(n) if n > 0 else None


def scan_folder(folder: Path) -> tuple[list[tuple[str, Path, str]], list[Skipped]]:
    """(id, path, label) of every candidate photo under folder (ids and labels are relative POSIX
    paths), and the files passed over for their type. Hidden files and folders are ignored."""
    items: list[tuple[str, Path, str]] = []
    skipped: list[Skipped] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            items.append((rel.as_posix(), path, rel.as_posix()))
        else:
            kind = path.suffix or "no extension"
            skipped.append(Skipped(rel.as_posix(), f"not an image file type ({kind})"))
    return items, skipped


def ingest_folder(settings: Settings, folder: Path, gallery: str | None = None,
                  progress: Progress | ProgressFactory | None = None, *, bundle: ModelBundle | None = None,
                  live_index: VectorIndex | None = None, batch_size: int = DEFAULT_BATCH) -> IngestReport:
    """Add a folder's new photos (recursively) to the gallery named ``gallery`` (default: the
    folder's name), rooted at the folder. ``progress`` gets counts of files done (or is a
    (stage, total) factory); ``live_index`` (a running service's index) also gets the new rows."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise IngestError(f"{folder} is not a folder")
    root = folder.resolve()
    items, skipped = scan_folder(root)
    name = check_gallery_name(gallery or default_gallery_name(root))
    return _ingest(settings, name, root, items, skipped, progress, bundle, live_index, batch_size, {})


def ingest_uploads(settings: Settings, files: Sequence[tuple[str, bytes]],
                   progress: Progress | ProgressFactory | None = None, *, bundle: ModelBundle | None = None,
                   live_index: VectorIndex | None = None, batch_size: int = DEFAULT_BATCH) -> IngestReport:
    """Validate uploaded (file name, bytes), store each image as <content hash>.<format's
    extension> under settings.uploads_dir and add it to the "uploads" gallery."""
    root = settings.uploads_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    items: list[tuple[str, Path, str]] = []
    skipped: list[Skipped] = []
    labels: dict[str, str] = {}
    for raw_name, data in files:
        label = display_name(raw_name)
        try:
            _, fmt = load_image_bytes(bytes(data), label)
        except ImageError as exc:
            skipped.append(Skipped(label, _reason(str(exc), label)))
            continue
        suffix = FORMAT_SUFFIX.get(fmt)
        if suffix is None:
            skipped.append(Skipped(label, f"unsupported image format {fmt or 'unknown'}"))
            continue
        stored = f"{content_key(bytes(data))}.{suffix}"
        _write_once(root / stored, bytes(data))
        labels.setdefault(stored, label)
        items.append((stored, root / stored, label))
    return _ingest(settings, UPLOADS_GALLERY, root, items, skipped, progress, bundle, live_index, batch_size,
                   labels)


def _reason(message: str, name: str) -> str:
    prefix = f"{Path(name).name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _write_once(path: Path, data: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(data):
        return
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@contextmanager
def _gallery_lock(settings: Settings, name: str) -> Iterator[None]:
    """One run at a time per gallery (another process or thread waits for its turn)."""
    index_file, _ = gallery_paths(settings, name)
    index_file.parent.mkdir(parents=True, exist_ok=True)
    with open(index_file.with_name(f".{name}.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed, even on a crash
        yield


def _key_or_blank(path: Path) -> str:
    try:
        return file_key(path)
    except OSError:
        return ""


class _GalleryState:
    """The gallery's index file plus the content hash of every photo in it."""

    def __init__(self, settings: Settings, name: str, root: Path, dim: int) -> None:
        self.settings, self.name, self.root = settings, name, root
        self.index_file, meta_file = gallery_paths(settings, name)
        self.meta: dict[str, Any] = {}
        if meta_file.is_file():
            try:
                self.meta = json.loads(meta_file.read_text())
            except (OSError, ValueError) as exc:
                raise IngestError(f"{meta_file} is damaged ({exc}); delete it and index again") from exc
            if Path(self.meta.get("root", "")).resolve() != root:
                raise IngestError(f"gallery {name!r} already holds photos of {self.meta.get('root')}; "
                                  f"choose another name for {root}")
        if self.index_file.is_file():
            self.index = ExactIndex.load(self.index_file)
            if self.index.dim != dim:
                raise IngestError(f"gallery {name!r} was indexed with another model (dimension "
                                  f"{self.index.dim}, now {dim}); delete {self.index_file} and index again")
            self.keys = self._load_keys()
        else:
            self.index, self.keys = ExactIndex(dim), []
        self.known_ids = set(self.index.ids())
        self.by_key = {k: i for k, i in zip(self.keys, self.index.ids(), strict=True) if k}

    def _load_keys(self) -> list[str]:
        try:
            with np.load(self.index_file) as data:
                if "keys" in data.files and len(data["keys"]) == len(self.index):
                    return [str(k) for k in data["keys"].tolist()]
        except (OSError, ValueError) as exc:
            raise IndexFileError(f"index file {self.index_file} is damaged ({exc}); rebuild it") from exc
        return [_key_or_blank(self.root / image_id) for image_id in self.index.ids()]  # built by `train`

    def add(self, ids: list[str], vectors: np.ndarray, flags: np.ndarray, keys: list[str]) -> None:
        new = [i for i, image_id in enumerate(ids) if image_id not in self.known_ids]
        if not new:
            return
        ids, vectors, flags, keys = [ids[i] for i in new], vectors[new], flags[new], [keys[i] for i in new]
        self.index.add(ids, vectors, flags)
        self.keys.extend(keys)
        self.known_ids.update(ids)
        self.by_key.update(zip(keys, ids, strict=True))
        self.index.save(self.index_file, extra={"keys": np.array(self.keys, dtype=str)})
        flagged = int(self.index.flags().sum())
        write_gallery_meta(self.settings, self.name, self.root, {
            **{k: v for k, v in self.meta.items() if k not in ("name", "root")},
            "photos": len(self.index), "flagged": flagged, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })


def _ingest(settings: Settings, name: str, root: Path, items: list[tuple[str, Path, str]],
            skipped: list[Skipped], progress: Progress | ProgressFactory | None, bundle: ModelBundle | None,
            live_index: VectorIndex | None, batch_size: int, labels: dict[str, str]) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport(gallery=name, root=root, skipped=list(skipped), labels=labels)
    update = _counter(progress, f"index {name}", len(items) + len(skipped))
    update(len(skipped))
    bundle = bundle or ModelBundle.load(settings.artifacts_dir)
    with _gallery_lock(settings, name), ExitStack() as cleanup:
        state = _GalleryState(settings, name, root, bundle.tower.dim)
        mirrors = [live_index] if live_index is not None else []
        if settings.index_url:  # the pgvector table, brought level with the file first
            from core.pgindex import PgVectorIndex

            mirror = cleanup.enter_context(PgVectorIndex.open(settings.index_url, name, dim=state.index.dim))
            mirror.sync_from(state.index)
            mirrors.insert(0, mirror)
        pending: dict[str, tuple[str, Path]] = {}  # content hash -> (id, path)
        for image_id, path, label in items:
            key = _classify(image_id, path, label, state, pending, report)
            if key is not None:
                pending[key] = (image_id, path)
        update(len(items) - len(pending))
        todo = [(image_id, path, key) for key, (image_id, path) in pending.items()]
        size = max(batch_size, math.ceil(len(todo) / MAX_SAVES))
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            vectors, flags, _, failures = bundle.embed_photos([p for _, p, _ in chunk])
            for j, reason in sorted(failures.items()):
                image_id, path, _ = chunk[j]
                report.skipped.append(Skipped(labels.get(image_id, image_id), _reason(reason, path.name)))
            good = [j for j in range(len(chunk)) if j not in failures]
            ids = [chunk[j][0] for j in good]
            state.add(ids, vectors[good], flags[good], [chunk[j][2] for j in good])  # the record resumed from
            for mirror in mirrors if ids else []:
                mirror.add(ids, vectors[good], flags[good])
            report.added.extend(ids)
            report.flagged.extend(i for i, f in zip(ids, flags[good], strict=True) if f)
            update(len(chunk))
        report.total = len(state.index)
    report.seconds = time.perf_counter() - started
    return report


def _classify(image_id: str, path: Path, label: str, state: _GalleryState,
              pending: dict[str, tuple[str, Path]], report: IngestReport) -> str | None:
    """The content hash of a photo still to encode, or None once it is reported otherwise."""
    if image_id in state.known_ids:
        report.already_indexed.append(label)
        return None
    try:
        size = path.stat().st_size
        problem = "empty file" if size == 0 else (
            f"file larger than {MAX_IMAGE_BYTES // 2**20} MB" if size > MAX_IMAGE_BYTES else None)
        key = file_key(path) if problem is None else ""
    except OSError as exc:
        problem, key = f"cannot read file ({exc.strerror})", ""
    if problem is not None:
        report.skipped.append(Skipped(label, problem))
        return None
    other = state.by_key.get(key) or pending.get(key, (None,))[0]
    if other is None:
        return key
    if report.labels:  # uploads: the same content is the same stored file
        report.already_indexed.append(label)
    else:
        report.duplicates[label] = other
    return None
