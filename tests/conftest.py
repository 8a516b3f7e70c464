"""Shared fixtures. Keep this small: fixtures used by one test module belong in that module."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

from core.foundation.settings import PROJECT_ROOT


def missing(reason: str) -> NoReturn:
    """Something the tests need is absent: skip here, fail in CI (CI set), where it is a broken setup."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: required in CI", pytrace=False)
    pytest.skip(reason)


def require(module: str) -> ModuleType:
    """Import a required package inside a test or fixture; missing() when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing(f"{module} is not installed ({exc})")


def fresh_encoder(name: str):  # type: ignore[no-untyped-def]
    """A new encoder instance (the registry's shared one may hold other weights)."""
    from core.encoders.registry import REGISTRY

    spec = REGISTRY[name]
    return spec.factory(spec)


def damaged_copy(models: Path, name: str, into: Path) -> Path:
    """A copy of the models folder `models` whose weights file `name`.pt has its last bytes
    changed (its manifest's sha256 no longer holds); returns the copy."""
    import shutil

    shutil.copytree(models, into)
    weights = into / f"{name}.pt"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    return into


def _data_candidates() -> list[Path]:
    """Where the shared data may be: WITHSENSE_DATA, the repo's data/ links, ../shared/data."""
    env = os.environ.get("WITHSENSE_DATA")
    found = [Path(env).expanduser()] if env else []
    return [*found, PROJECT_ROOT / "data", PROJECT_ROOT.parent / "shared" / "data"]


def _find(sub: str, marker: str) -> Path | None:
    for root in _data_candidates():
        if (root / sub / marker).is_file():
            return root / sub
    if os.environ.get("CI"):  # in CI missing data is a broken setup, not a reason to skip
        pytest.fail(f"{sub} data not found: scripts/setup.sh links ../shared/data into data/")
    return None


def _shared_folder(sub: str, marker: str) -> Path:
    """A real shared data folder (read-only); tests that need it skip only when it is absent."""
    found = _find(sub, marker)
    if found is None:
        pytest.skip(f"{sub} data not found (set WITHSENSE_DATA or link ../shared/data)")
    return found


@pytest.fixture(scope="session")
def practicum_dir() -> Path:
    """The real practicum folder."""
    return _shared_folder("practicum", "train_dataset.csv")


@pytest.fixture(scope="session")
def flickr_dir() -> Path:
    """The real flickr8k folder (captions and the extra images)."""
    return _shared_folder("flickr8k", "Flickr8k.token.txt")


# A small but real model for the app, search, ingest and legal tests: the full practicum data and
# the first 1000 photos of the extra corpus (about 2 minutes from a cold cache on 2 cores).
TEST_CORPUS_PHOTOS = 1000


@pytest.fixture(scope="session")
def small_data_settings(tmp_path_factory: pytest.TempPathFactory, practicum_dir: Path,
                        flickr_dir: Path) -> object:
    """Settings pointing at the test model's data (nothing trained yet), artifacts, cache, reports."""
    from core.foundation.settings import Settings

    root = tmp_path_factory.mktemp("trained")
    data = root / "data"
    (data / "flickr8k" / "images").mkdir(parents=True)
    (data / "practicum").symlink_to(practicum_dir.resolve(), target_is_directory=True)
    (data / "flickr8k" / "Flickr8k.token.txt").symlink_to((flickr_dir / "Flickr8k.token.txt").resolve())
    for photo in sorted((flickr_dir / "images").iterdir())[:TEST_CORPUS_PHOTOS]:
        (data / "flickr8k" / "images" / photo.name).symlink_to(photo.resolve())
    cache = Path(os.environ.get("WITHSENSE_TEST_CACHE", PROJECT_ROOT / ".cache"))
    return Settings(data_dir=data, artifacts_dir=root / "artifacts", cache_dir=cache,
                    reports_dir=root / "reports")


@pytest.fixture(scope="session")
def trained_settings(small_data_settings) -> object:  # type: ignore[no-untyped-def]
    """Settings pointing at the trained test model (data, artifacts, cache, reports)."""
    from core.build.train import train

    train(small_data_settings)
    return small_data_settings


@pytest.fixture(scope="session")
def trained_artifacts(trained_settings) -> Path:  # type: ignore[no-untyped-def]
    """The trained test model's artifacts folder."""
    return trained_settings.artifacts_dir


@pytest.fixture(scope="session")
def mini_data(tmp_path_factory: pytest.TempPathFactory, practicum_dir: Path, flickr_dir: Path) -> Path:
    """48 extra-corpus photos, 24 practicum train photos and the 100 test photos (real files)."""
    root = tmp_path_factory.mktemp("mini")
    (root / "flickr8k" / "images").mkdir(parents=True)
    (root / "flickr8k" / "Flickr8k.token.txt").symlink_to((flickr_dir / "Flickr8k.token.txt").resolve())
    for photo in sorted((flickr_dir / "images").iterdir())[:48]:
        (root / "flickr8k" / "images" / photo.name).symlink_to(photo.resolve())
    practicum = root / "practicum"
    (practicum / "train_images").mkdir(parents=True)
    for photo in sorted((practicum_dir / "train_images").iterdir())[:24]:
        (practicum / "train_images" / photo.name).symlink_to(photo.resolve())
    for item in ("test_images", "test_queries.csv", "test_images.csv"):
        (practicum / item).symlink_to((practicum_dir / item).resolve())
    return root
