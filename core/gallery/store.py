"""The photo store: the one place that reads and writes galleries.

A gallery is one file, ``<artifacts>/galleries/<name>.npz``: every photo's id (its path under
the gallery's folder), content hash, vector, child flag and child probability, its facts
(core.gallery.facts: camera, date, place, what the photographer wrote; format 4), and a header
with the folder, the fingerprint of the model that made it (``ModelBundle.fingerprint``) and
counts. A format-3 gallery (no facts) is read as it is; its next indexing run adds the facts.
It is written whole and atomically (core.foundation.atomic), so a reader gets one version of it; a gallery
made by another model is refused with the command that re-indexes it. Writers hold
:func:`gallery_lock`, so two runs never interleave their updates.
"""

from __future__ import annotations

import errno
import fcntl
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.foundation.atomic import UnwritableError, atomic_save_npz
from core.foundation.errors import Problem
from core.foundation.settings import ArtifactsMissingError, Settings
from core.gallery.facts import description_text
from core.index.exact import ExactIndex, IndexFileError

STORE_FORMAT = 4  # 3: one file per gallery, with the model's fingerprint; 4: and each photo's facts
READABLE_FORMATS = (3, 4)  # a format-3 gallery reads as one whose photos have no facts yet
# The practicum galleries and the library of every photo: flagged by their captions.
BUILT_BY_TRAIN = frozenset({"test", "train", "all"})
# A visitor's own uploads gallery is named this and the visitor's id (core.gallery.visitors):
# private, so never listed with the others.
VISITOR_PREFIX = "visitor-"


class GalleryMissingError(ArtifactsMissingError):
    """No gallery of that name has been indexed."""

    problem = Problem.NOT_INDEXED


class GalleryError(IndexFileError):
    """A gallery cannot be read or written (damaged file, read-only folder, another version)."""


class StaleGalleryError(GalleryError):
    """The gallery was indexed by another model: its vectors mean nothing to this one."""


def reindex_command(name: str, root: Path | str | None = None) -> str:
    if name in BUILT_BY_TRAIN:
        return "python -m core train"
    return f"python -m core index {root or 'FOLDER'} --name {name}"


@dataclass(frozen=True)
class StoredGallery:
    name: str
    root: Path
    ids: list[str]
    keys: list[str]  # content hash of each photo ("" when unknown)
    vectors: np.ndarray
    flags: np.ndarray  # True: may show a child, never returned
    probabilities: np.ndarray  # the child classifier's probability (1.0 when judged otherwise)
    fingerprint: dict[str, str]
    info: dict[str, Any] = field(default_factory=dict)  # counts and notes for the pages
    # id -> facts (core.gallery.facts); a photo indexed before format 4 has none
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def empty(cls, name: str, root: Path, dim: int, fingerprint: dict[str, str]) -> StoredGallery:
        return cls(name, Path(root), [], [], np.zeros((0, dim), np.float32), np.zeros(0, bool),
                   np.zeros(0, np.float32), dict(fingerprint))

    def __post_init__(self) -> None:
        rows = len(self.ids)
        if not (len(self.keys) == len(self.vectors) == len(self.flags) == len(self.probabilities) == rows):
            raise ValueError(f"gallery {self.name!r}: ids, keys, vectors, flags and probabilities "
                             "must have one row per photo")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def descriptions(self) -> dict[str, str]:
        """id -> what the photographer wrote (title, caption, description, keywords as one text);
        photos without any are absent."""
        found = {image_id: description_text(self.facts.get(image_id, {})) for image_id in self.ids}
        return {image_id: text for image_id, text in found.items() if text}

    def fact_flags(self, key: str) -> np.ndarray:
        """One bool per photo, in row order: whether its facts hold ``key`` (``consent``,
        ``child_terms``: a child named in its description)."""
        return np.array([bool(self.facts.get(i, {}).get(key)) for i in self.ids], dtype=bool)

    def with_facts(self, updates: Mapping[str, dict[str, Any]]) -> StoredGallery:
        """A new version whose photos in ``updates`` have those facts (ids it lacks are ignored)."""
        present = set(self.ids)
        return replace(self, facts={**self.facts, **{i: dict(f) for i, f in updates.items() if i in present}})

    def index(self) -> ExactIndex:
        return ExactIndex.from_arrays(self.ids, self.vectors, self.flags)

    def check_model(self, fingerprint: dict[str, str]) -> None:
        """Raise StaleGalleryError unless this gallery was made by the model with ``fingerprint``."""
        if self.fingerprint != fingerprint:
            differ = sorted(k for k in set(self.fingerprint) | set(fingerprint)
                            if self.fingerprint.get(k) != fingerprint.get(k))
            raise StaleGalleryError(
                f"gallery {self.name!r} was indexed by another model (differs in {', '.join(differ)}); "
                f"re-index it: {reindex_command(self.name, self.root)}")

    def with_rows(self, keep: list[int], ids: list[str], keys: list[str], vectors: np.ndarray,
                  flags: np.ndarray, probabilities: np.ndarray,
                  facts: Mapping[str, dict[str, Any]] | None = None, **info: Any) -> StoredGallery:
        """A new version: rows ``keep`` of this one, then the given rows (with their ``facts``)."""
        added = set(ids)
        kept = {self.ids[i]: self.facts[self.ids[i]] for i in keep if self.ids[i] in self.facts}
        new = {i: dict(f) for i, f in (facts or {}).items() if i in added}
        return replace(
            self, facts={**{i: f for i, f in kept.items() if i not in added}, **new},
            ids=[self.ids[i] for i in keep] + list(ids), keys=[self.keys[i] for i in keep] + list(keys),
            vectors=np.vstack([self.vectors[keep], np.asarray(vectors, np.float32).reshape(-1, self.dim)]),
            flags=np.concatenate([self.flags[keep], np.asarray(flags, bool)]),
            probabilities=np.concatenate([self.probabilities[keep], np.asarray(probabilities, np.float32)]),
            info={**self.info, **info})


def galleries_dir(settings: Settings) -> Path:
    return settings.artifacts_dir / "galleries"


def gallery_file(settings: Settings, name: str) -> Path:
    return galleries_dir(settings) / f"{name}.npz"


def list_galleries(settings: Settings, visitors: bool = False) -> list[str]:
    """The indexed galleries; visitors' own ones only when asked for (the sweep of expired uploads)."""
    folder = galleries_dir(settings)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.npz")
                  if not p.name.startswith(".") and (visitors or not p.stem.startswith(VISITOR_PREFIX)))


def read_gallery(settings: Settings, name: str) -> StoredGallery:
    path = gallery_file(settings, name)
    if not path.is_file():
        known = ", ".join(list_galleries(settings)) or "none yet"
        raise GalleryMissingError(f"Gallery {name!r} is not indexed (known: {known}). Build it with: "
                                  f"{reindex_command(name)}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "header" not in data.files:
                raise GalleryError(f"gallery {name!r} was written by an older version; re-index it: "
                                   f"{reindex_command(name)}")
            header = json.loads(str(data["header"]))
            gallery = StoredGallery(
                name=name, root=Path(header["root"]), ids=data["ids"].tolist(), keys=data["keys"].tolist(),
                vectors=data["vectors"], flags=data["flags"].astype(bool),
                probabilities=data["probabilities"].astype(np.float32),
                fingerprint=dict(header["fingerprint"]), info=dict(header.get("info", {})),
                facts=json.loads(str(data["facts"])) if "facts" in data.files else {})
    except GalleryError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise GalleryError(f"gallery file {path} is damaged ({exc}); re-index it: "
                           f"{reindex_command(name)}") from exc
    if header.get("format") not in READABLE_FORMATS:
        raise GalleryError(f"gallery {name!r} has format {header.get('format')}, this version reads "
                           f"{STORE_FORMAT}; re-index it: {reindex_command(name, gallery.root)}")
    return gallery


def write_gallery(settings: Settings, gallery: StoredGallery) -> None:
    """Publish a new version of the gallery in one rename."""
    header = {"format": STORE_FORMAT, "name": gallery.name, "root": str(gallery.root),
              "fingerprint": gallery.fingerprint, "photos": len(gallery.ids),
              "flagged": int(gallery.flags.sum()), "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "info": gallery.info}
    try:
        atomic_save_npz(gallery_file(settings, gallery.name), header=np.array(json.dumps(header)),
                        ids=np.array(gallery.ids, dtype=str), keys=np.array(gallery.keys, dtype=str),
                        vectors=np.asarray(gallery.vectors, np.float32), flags=gallery.flags,
                        probabilities=np.asarray(gallery.probabilities, np.float32),
                        facts=np.array(json.dumps(gallery.facts, ensure_ascii=False)))
    except UnwritableError as exc:
        raise GalleryError(f"{exc}: make {galleries_dir(settings)} writable (or set WITHSENSE_ARTIFACTS "
                           "to a writable folder)") from exc
    gallery_file(settings, gallery.name).with_suffix(".json").unlink(missing_ok=True)  # format 2's sidecar


def delete_gallery(settings: Settings, name: str) -> None:
    gallery_file(settings, name).unlink(missing_ok=True)


@contextmanager
def gallery_lock(settings: Settings, name: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """One writer per gallery across processes and threads; a second one waits for its turn
    (``on_wait`` is told first, so a command line can say why it pauses)."""
    folder = galleries_dir(settings)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / f".{name}.lock", "w")  # held for the whole block
    except OSError as exc:
        raise GalleryError(f"cannot write to {folder} ({exc.strerror}): make it writable (or set "
                           "WITHSENSE_ARTIFACTS to a writable folder)") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        _remove_dead_temps(folder, name)
        yield


def _remove_dead_temps(folder: Path, name: str) -> None:
    """Delete the temporary files of this gallery's writes that a killed writer left behind
    (core.foundation.atomic names them .<name>.npz.<uuid hex>.tmp): with the lock held, no other
    writer of this gallery is running, so none of them will ever be renamed into place."""
    pattern = re.compile(rf"\.{re.escape(name)}\.npz\.[0-9a-f]{{32}}\.tmp")
    for entry in folder.iterdir():
        if pattern.fullmatch(entry.name):
            entry.unlink(missing_ok=True)
