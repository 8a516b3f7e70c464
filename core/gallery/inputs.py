"""What a run of core.gallery.ingest is given, checked before any photo is encoded: a folder's candidate
photos (by file type; hidden files ignored), file names made safe to show, gallery names safe to
use as file names, and each file's content hash with the reason it cannot be used (empty, too
big, unreadable); and what the run reports (IngestReport).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from core.encoders.cache import file_key
from core.foundation.errors import Problem, WithSenseError
from core.foundation.images import IMAGE_SUFFIXES, MAX_IMAGE_BYTES, not_accepted


class IngestError(WithSenseError, RuntimeError):
    """The run cannot start: no such folder, a bad gallery name, a gallery name clash..."""

    problem = Problem.INDEXING


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclass
class IngestReport:
    gallery: str
    root: Path
    added: list[str] = field(default_factory=list)  # ids stored by this run
    changed: list[str] = field(default_factory=list)  # ids re-encoded: new content, or a new model
    removed: list[str] = field(default_factory=list)  # ids whose files are gone (or unreadable now)
    unchanged: list[str] = field(default_factory=list)  # already indexed as they are
    flagged: list[str] = field(default_factory=list)  # of those encoded, hidden as possible child photos
    duplicates: dict[str, str] = field(default_factory=dict)  # name -> id holding the same photo
    skipped: list[Skipped] = field(default_factory=list)  # unusable files, with the reason
    labels: dict[str, str] = field(default_factory=dict)  # stored id -> uploaded file name
    rebuilt: str = ""  # why every photo was encoded afresh ("" when the gallery was reused)
    total: int = 0  # photos in the gallery after the run
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        encoded = len(self.added) + len(self.changed)
        return {
            "gallery": self.gallery, "root": str(self.root), "added": len(self.added),
            "changed": len(self.changed), "removed": len(self.removed), "unchanged": len(self.unchanged),
            "flagged": len(self.flagged), "skipped": {s.name: s.reason for s in self.skipped},
            "duplicates": self.duplicates, "rebuilt": self.rebuilt or None,
            "total": self.total, "seconds": round(self.seconds, 2),
            "photos_per_s": round(encoded / self.seconds, 1) if self.seconds > 0 and encoded else None,
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
            skipped.append(Skipped(rel.as_posix(), not_accepted(path.name)))
    return items, skipped


def read_key(path: Path) -> tuple[str | None, str]:
    """(why the file cannot be used or None, its content hash)."""
    try:
        size = path.stat().st_size
        problem = "empty file" if size == 0 else (
            f"file larger than {MAX_IMAGE_BYTES // 2**20} MB" if size > MAX_IMAGE_BYTES else None)
        return problem, (file_key(path) if problem is None else "")
    except OSError as exc:
        return f"cannot read file ({exc.strerror})", ""
