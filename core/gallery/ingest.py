"""Adding photos to a gallery: a folder (``python -m core index FOLDER``) or uploaded files.

A folder's gallery follows the folder: indexing it again adds new photos, re-encodes changed ones
(by content hash) and removes photos that are gone, and re-encodes everything when the gallery
was made by another model. New photos are encoded in batches by an engine (in this process, or
on Ray: core.gallery.engines), and the same forward pass gives each its child flag before it is
stored, so a flagged photo is never shown. What is new is planned here, whatever the engine,
and each step is published here as one new version of the gallery (core.gallery.store), then
mirrored to pgvector when Settings.index_url is set and to a running service's index, so an
interrupted run loses at most the batch in flight and a search sees the gallery before or after
a step, never half of it.
"""

from __future__ import annotations

import inspect
import math
import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from core.bundle import ModelBundle
from core.encoders.cache import content_key
from core.foundation.atomic import UnwritableError, atomic_write_bytes
from core.foundation.images import STORED_SUFFIX, ImageError, load_image_bytes
from core.foundation.settings import Settings
from core.gallery.engines import Engine, in_process
from core.gallery.inputs import (
    IngestError,
    IngestReport,
    Skipped,
    check_gallery_name,
    default_gallery_name,
    display_name,
    read_key,
    scan_folder,
)
from core.gallery.store import (
    GalleryError,
    GalleryMissingError,
    StaleGalleryError,
    StoredGallery,
    gallery_lock,
    read_gallery,
    write_gallery,
)
from core.gallery.written import SIDECAR, Notes, note, read_sidecar
from core.index.exact import VectorIndex

DEFAULT_BATCH = 256
MAX_SAVES = 100  # big runs use bigger batches, so rewriting the index stays O(n) overall

Progress = Callable[[int], None]
ProgressFactory = Callable[[str, int], Progress]


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


def ingest_folder(settings: Settings, folder: Path, gallery: str | None = None,
                  progress: Progress | ProgressFactory | None = None, *, bundle: ModelBundle | None = None,
                  live_index: VectorIndex | None = None, batch_size: int = DEFAULT_BATCH,
                  on_wait: Callable[[], None] | None = None, engine: Engine = in_process) -> IngestReport:
    """Bring the gallery named ``gallery`` (default: the folder's name) level with a folder's
    photos (recursively): new ones added, changed ones re-encoded, gone ones removed.
    ``progress`` gets counts of files done (or is a (stage, total) factory); ``live_index`` (a
    running service's index) gets the same updates; ``on_wait`` is called if another run holds
    the gallery and this one waits for it; ``engine`` encodes the new photos (core.gallery.engines:
    in this process unless told otherwise)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise IngestError(f"{folder} is not a folder")
    root = folder.resolve()
    items, skipped = scan_folder(root)
    name = check_gallery_name(gallery or default_gallery_name(root))
    written, unmatched = {}, []
    if (root / SIDECAR).is_file():  # the folder's descriptions: read first, a bad table stops the run
        written, unmatched = read_sidecar(root / SIDECAR, [image_id for image_id, _, _ in items])
    skipped = [s for s in skipped if s.name != SIDECAR] + [
        Skipped(f"{SIDECAR}: {row}", "names no photo of the folder") for row in unmatched]
    return _ingest(settings, name, root, items, skipped, progress, bundle, live_index, batch_size, {},
                   on_wait, engine, notes=Notes(written, whole=True))


def ingest_uploads(settings: Settings, files: Sequence[tuple[str, bytes]], gallery: str, folder: Path,
                   progress: Progress | ProgressFactory | None = None, *, bundle: ModelBundle | None = None,
                   live_index: VectorIndex | None = None, batch_size: int = DEFAULT_BATCH,
                   admit: Callable[[list[tuple[str, int]]], None] | None = None,
                   description: str = "", consent: bool = False) -> IngestReport:
    """Validate uploaded (file name, bytes), store each image as <content hash>.<format's
    extension> in ``folder`` and add it to ``gallery`` (a visitor's own: core.gallery.visitors).
    ``admit`` is shown the (stored name, size) of the photos new to the folder before any is
    stored, and raises to refuse them all (a visitor's cap). A photo stored again is stored
    anew: its time in the folder (core.gallery.visitors' expiry) starts again. A ``description``
    or ``consent`` given is recorded for each of these photos (replacing what was recorded)."""
    root = Path(folder).resolve()
    accepted: list[tuple[str, str, bytes]] = []  # (stored name, label, bytes)
    skipped: list[Skipped] = []
    for raw_name, data in files:
        label = display_name(raw_name)
        try:
            _, fmt = load_image_bytes(bytes(data), label)
        except ImageError as exc:
            skipped.append(Skipped(label, _reason(str(exc), label)))
            continue
        accepted.append((f"{content_key(bytes(data))}.{STORED_SUFFIX[fmt]}", label, bytes(data)))
    if admit is not None:
        admit(list({name: len(data) for name, _, data in accepted if not (root / name).is_file()}.items()))
    items: list[tuple[str, Path, str]] = []
    labels: dict[str, str] = {}
    for stored, label, data in accepted:
        try:
            _write_once(root / stored, data)
        except (UnwritableError, OSError) as exc:
            raise IngestError(f"cannot store uploads in {root} ({exc}); nothing was added") from exc
        labels.setdefault(stored, label)
        items.append((stored, root / stored, label))
    written = note(description, consent)
    notes = Notes({stored: written for stored, _, _ in items} if written else {})
    return _ingest(settings, check_gallery_name(gallery), root, items, skipped, progress, bundle, live_index,
                   batch_size, labels, uploads=True, notes=notes)


def _reason(message: str, name: str) -> str:
    prefix = f"{Path(name).name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _write_once(path: Path, data: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(data):
        os.utime(path)  # uploaded again: kept as long as a new upload
        return
    atomic_write_bytes(path, data)


class _Writer:
    """The stored gallery this run updates, and the indexes that mirror it."""

    def __init__(self, settings: Settings, stored: StoredGallery, mirrors: list[VectorIndex]) -> None:
        self.settings, self.stored, self.mirrors = settings, stored, mirrors

    def publish(self, remove: Sequence[str], ids: list[str], keys: list[str], vectors: np.ndarray,
                flags: np.ndarray, probabilities: np.ndarray, facts: dict[str, dict[str, Any]] | None = None
                ) -> None:
        """One step as one new version: the file first (what a crash resumes from), then mirrors.
        A mirror withholds a photo whose description names a child too, in every market (the
        market's releases apply when a gallery is opened: core.search.service.open_gallery)."""
        if not remove and not ids:
            return
        drop = set(remove) | set(ids)
        keep = [i for i, image_id in enumerate(self.stored.ids) if image_id not in drop]
        self.stored = self.stored.with_rows(keep, ids, keys, vectors, flags, probabilities, facts)
        write_gallery(self.settings, self.stored)
        written = np.array([bool((facts or {}).get(i, {}).get("child_terms")) for i in ids], dtype=bool)
        for mirror in self.mirrors:
            mirror.update(ids, vectors, np.asarray(flags, bool) | written, remove=list(remove))

    def refresh(self, updates: dict[str, dict[str, Any]]) -> None:
        """Facts of stored photos changed (a new description, facts read for the first time)."""
        changed = {i: f for i, f in updates.items() if self.stored.facts.get(i) != f}
        if not changed:
            return
        self.stored = self.stored.with_facts(changed)
        write_gallery(self.settings, self.stored)
        rows = [k for k, image_id in enumerate(self.stored.ids) if image_id in changed]
        ids = [self.stored.ids[k] for k in rows]
        flags = self.stored.flags[rows] | self.stored.fact_flags("child_terms")[rows]
        for mirror in self.mirrors:
            mirror.update(ids, self.stored.vectors[rows], flags)


def _open_stored(settings: Settings, name: str, root: Path, bundle: ModelBundle,
                 report: IngestReport) -> StoredGallery:
    """The gallery to update: the stored one, or a fresh one (noted in report.rebuilt) when there
    is none, it is damaged or another model made it, since its photos are all in the folder."""
    fresh = StoredGallery.empty(name, root, bundle.tower.dim, bundle.fingerprint())
    try:
        stored = read_gallery(settings, name)
    except GalleryMissingError:
        return fresh
    except GalleryError as exc:
        report.rebuilt = f"the stored gallery could not be read ({exc})"
        return fresh
    if stored.root.resolve() != root:
        raise IngestError(f"gallery {name!r} already holds photos of {stored.root}; "
                          f"choose another name for {root}")
    try:
        stored.check_model(bundle.fingerprint())
    except StaleGalleryError:
        report.rebuilt = "it was indexed by another model"
        return replace(fresh, info=stored.info)
    return stored


def _ingest(settings: Settings, name: str, root: Path, items: list[tuple[str, Path, str]],
            skipped: list[Skipped], progress: Progress | ProgressFactory | None, bundle: ModelBundle | None,
            live_index: VectorIndex | None, batch_size: int, labels: dict[str, str],
            on_wait: Callable[[], None] | None = None, engine: Engine = in_process, *,
            uploads: bool = False, notes: Notes | None = None) -> IngestReport:
    started = time.perf_counter()
    notes = notes or Notes()
    report = IngestReport(gallery=name, root=root, skipped=list(skipped), labels=labels)
    bundle = bundle or ModelBundle.load(settings.artifacts_dir)
    # The engine starts first: one that cannot start leaves the gallery as it was.
    with engine(settings, bundle) as encode, gallery_lock(settings, name, on_wait), ExitStack() as cleanup:
        stored = _open_stored(settings, name, root, bundle, report)
        if report.rebuilt:
            write_gallery(settings, stored)  # the unusable version is never searched again
        if report.rebuilt and uploads:  # every stored upload is encoded again, not only today's
            listed = {image_id for image_id, _, _ in items}
            items = items + [i for i in scan_folder(root)[0] if i[0] not in listed]
        update = _counter(progress, f"index {name}", len(items) + len(skipped))
        update(len(skipped))
        mirrors = [live_index] if live_index is not None else []
        if settings.index_url:  # the pgvector table, brought level with the file first
            from core.index.pgvector import PgVectorIndex

            mirror = cleanup.enter_context(PgVectorIndex.open(settings.index_url, name, dim=stored.dim))
            mirror.sync_from(replace(stored, flags=stored.flags | stored.fact_flags("child_terms")).index())
            mirrors.insert(0, mirror)
        writer = _Writer(settings, stored, mirrors)
        known = set(stored.ids)  # ids the gallery held before this run
        todo, gone = _plan(stored, items, report, sync=not uploads)
        writer.publish(gone, [], [], np.zeros((0, stored.dim), np.float32), np.zeros(0, bool), np.zeros(0))
        encoding, paths = {i for i, _, _ in todo}, {i: path for i, path, _ in items}
        writer.refresh({i: notes.facts(i, paths[i], stored.facts.get(i), read=False)
                        for i in writer.stored.ids if i not in encoding and i in paths})
        update(len(items) - len(todo))
        size = max(batch_size, math.ceil(len(todo) / MAX_SAVES))
        for chunk, vectors, flags, probability, failures in encode(todo, size):
            for j, reason in sorted(failures.items()):
                image_id, path, _ = chunk[j]
                report.skipped.append(Skipped(labels.get(image_id, image_id), _reason(reason, path.name)))
            good = [j for j in range(len(chunk)) if j not in failures]
            ids = [chunk[j][0] for j in good]
            stale = [chunk[j][0] for j in failures if chunk[j][0] in known]  # unreadable now
            facts = {chunk[j][0]: notes.facts(chunk[j][0], chunk[j][1], writer.stored.facts.get(chunk[j][0]),
                                              read=True) for j in good}
            writer.publish(stale, ids, [chunk[j][2] for j in good], vectors[good], flags[good],
                           probability[good], facts)
            report.removed.extend(stale)
            report.changed.extend(i for i in ids if i in known)
            report.added.extend(i for i in ids if i not in known)
            report.flagged.extend(i for i, f in zip(ids, flags[good], strict=True) if f)
            update(len(chunk))
        report.total = len(writer.stored.ids)
    report.seconds = time.perf_counter() - started
    if not root.is_dir():
        raise IngestError(f"{root} disappeared while it was being indexed; gallery {name!r} keeps the "
                          f"{report.total} photo(s) indexed so far: index it again when the folder is back")
    return report


def _plan(stored: StoredGallery, items: list[tuple[str, Path, str]], report: IngestReport,
          sync: bool) -> tuple[list[tuple[str, Path, str]], list[str]]:
    """(photos to encode as (id, path, content hash), stored ids to remove). With ``sync`` the
    gallery follows the folder: a stored photo whose file is gone, unreadable or now a copy of
    another photo is removed. Without it (uploads) stored photos always stay."""
    stored_key = dict(zip(stored.ids, stored.keys, strict=True))
    readable: list[tuple[str, Path, str, str]] = []
    for image_id, path, label in items:
        problem, key = read_key(path)
        if problem is None:
            readable.append((image_id, path, label, key))
        else:
            report.skipped.append(Skipped(label, problem))
    now = {image_id: key for image_id, _, _, key in readable}
    # Content held by a stored photo that stays as it is: the same content elsewhere is a copy.
    holders = {key: i for i, key in stored_key.items() if key and (not sync or now.get(i) == key)}
    kept: set[str] = set()
    pending: dict[str, tuple[str, Path]] = {}  # content hash -> (id, path)
    for image_id, path, label, key in readable:
        if stored_key.get(image_id) == key or (image_id in stored_key and not sync):
            report.unchanged.append(label)
            kept.add(image_id)
            continue
        holder = holders.get(key) or pending.get(key, (None,))[0]
        if holder is None:
            pending[key] = (image_id, path)
            kept.add(image_id)
        elif not sync:  # uploads: the same content is the same stored file
            report.unchanged.append(label)
        else:
            report.duplicates[label] = holder
    gone = [i for i in stored.ids if i not in kept] if sync else []
    report.removed.extend(gone)
    return [(image_id, path, key) for key, (image_id, path) in pending.items()], gone
