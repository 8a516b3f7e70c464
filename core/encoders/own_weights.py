"""Weights the project trains itself: `models/<name>.pt` (float16) beside `<name>.json`, a
manifest whose sha256 must match, so a stale or damaged file is caught before it silently
changes every vector. No torch import at module level: the encoder registry reads revisions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from core.foundation.atomic import atomic_torch_save, atomic_write_json
from core.foundation.errors import Problem, WithSenseError
from core.foundation.settings import models_dir

REMAKE = "Remake them with: python -m lab finetune (docs/experiments.md, 'Remaking the fine-tuned weights')"


class OwnWeightsError(WithSenseError, RuntimeError):
    """The project's own weights are missing, damaged or do not match their manifest."""

    problem = Problem.CANNOT_RUN


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_files(name: str, folder: Path | None = None) -> tuple[Path, Path]:
    folder = models_dir() if folder is None else Path(folder)
    return folder / f"{name}.pt", folder / f"{name}.json"


def read_manifest(name: str, folder: Path | None = None) -> dict[str, Any] | None:
    _, manifest = weights_files(name, folder)
    try:
        return json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None


def weights_revision(name: str) -> str:
    """Part of the embedding cache's key: new weights never reuse vectors of the old ones."""
    manifest = read_manifest(name)
    return str(manifest.get("sha256", "none"))[:12] if manifest else "none"


def load_own_weights(name: str, remake: str = REMAKE) -> dict[str, Any]:
    """The weights file, after checking its sha256 against the manifest; errors end with `remake`."""
    weights, manifest_file = weights_files(name)
    manifest = read_manifest(name)
    if not weights.is_file() or manifest is None:
        raise OwnWeightsError(f"{name}: {weights} or its manifest {manifest_file.name} is missing. {remake}")
    found = sha256_file(weights)
    if found != manifest.get("sha256"):
        raise OwnWeightsError(f"{name}: {weights} has sha256 {found[:12]}…, its manifest expects "
                              f"{str(manifest.get('sha256'))[:12]}…: the file is damaged or stale. {remake}")
    import torch

    return torch.load(weights, map_location="cpu", weights_only=True)


def save_own_weights(name: str, payload: dict[str, Any], manifest: dict[str, Any],
                     folder: Path | None = None) -> Path:
    """Write the weights, then the manifest with their sha256 (each to a temporary name first)."""
    weights, manifest_file = weights_files(name, folder)
    atomic_torch_save(weights, payload)
    manifest = {**manifest, "file": weights.name, "bytes": weights.stat().st_size,
                "sha256": sha256_file(weights)}
    atomic_write_json(manifest_file, manifest)
    return weights
