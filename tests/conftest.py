"""Shared fixtures. Keep this small: fixtures used by one test module belong in that module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT


def _data_candidates() -> list[Path]:
    """Where the shared data may be: WITHSENSE_DATA, the repo's data/ links, ../shared/data."""
    env = os.environ.get("WITHSENSE_DATA")
    found = [Path(env).expanduser()] if env else []
    return [*found, PROJECT_ROOT / "data", PROJECT_ROOT.parent / "shared" / "data"]


def _find(sub: str, marker: str) -> Path | None:
    for root in _data_candidates():
        if (root / sub / marker).is_file():
            return root / sub
    return None


@pytest.fixture(scope="session")
def practicum_dir() -> Path:
    """The real practicum folder (read-only); tests that need it skip only when it is absent."""
    found = _find("practicum", "train_dataset.csv")
    if found is None:
        pytest.skip("practicum data not found (set WITHSENSE_DATA or link ../shared/data)")
    return found


@pytest.fixture(scope="session")
def flickr_dir() -> Path:
    """The real flickr8k folder (captions and the extra images), read-only."""
    found = _find("flickr8k", "Flickr8k.token.txt")
    if found is None:
        pytest.skip("flickr8k data not found (set WITHSENSE_DATA or link ../shared/data)")
    return found
