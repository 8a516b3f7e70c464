"""Every file the project writes is written the same way: to a temporary file in the target's
folder, flushed to disk (fsync), then renamed over the target. A reader sees the old file or
the new one, never half of either, and a crash or a full disk leaves the old file intact.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from core.foundation.errors import Problem, WithSenseError


class UnwritableError(WithSenseError, PermissionError):
    """A file cannot be written (read-only folder, no permission, full disk)."""

    problem = Problem.GALLERY_UNUSABLE


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write`` with a binary handle on a temporary file, then publish it as ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, PermissionError) or exc.errno in (30, 28):  # EROFS, ENOSPC
            raise UnwritableError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode("utf-8"))


def atomic_save_npz(path: Path, **arrays: np.ndarray) -> None:
    atomic_write(path, lambda handle: np.savez(handle, **arrays))


def atomic_torch_save(path: Path, payload: Any) -> None:
    import torch  # only the writers of weights need it

    atomic_write(path, lambda handle: torch.save(payload, handle))
