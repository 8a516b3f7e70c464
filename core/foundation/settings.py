"""Paths and settings: every path has a default and an environment override."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class ArtifactsMissingError(FileNotFoundError):
    """Something `train` or `index` builds is not there yet; the message says which command."""


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def model_config_path() -> Path:
    """The model config `train` reads unless given one (core/foundation/model_config.py)."""
    return _env_path("WITHSENSE_MODEL_CONFIG", PROJECT_ROOT / "configs" / "default.toml")


def _configured_encoder(kind: str) -> str:
    from core.foundation.model_config import load_model_config  # same layer; it imports this module

    encoders = load_model_config().encoders
    return encoders.text if kind == "text" else encoders.image


@dataclass(frozen=True)
class Settings:
    """Where things live. Tests build one pointing at temporary folders."""

    data_dir: Path = field(default_factory=lambda: _env_path("WITHSENSE_DATA", PROJECT_ROOT / "data"))
    artifacts_dir: Path = field(
        default_factory=lambda: _env_path("WITHSENSE_ARTIFACTS", PROJECT_ROOT / "artifacts")
    )
    cache_dir: Path = field(default_factory=lambda: _env_path("WITHSENSE_CACHE", PROJECT_ROOT / ".cache"))
    reports_dir: Path = field(
        default_factory=lambda: _env_path("WITHSENSE_REPORTS", PROJECT_ROOT / "reports")
    )
    # The model config's encoders (configs/default.toml, or $WITHSENSE_MODEL_CONFIG), each
    # overridden by $WITHSENSE_TEXT_ENCODER / $WITHSENSE_IMAGE_ENCODER when set.
    text_encoder: str = field(default_factory=lambda: _configured_encoder("text"))
    image_encoder: str = field(default_factory=lambda: _configured_encoder("image"))
    # A postgresql:// URL switches the index to pgvector; empty means the in-process index.
    index_url: str = field(default_factory=lambda: os.environ.get("WITHSENSE_INDEX_URL", ""))
    seed: int = 42

    @property
    def practicum_dir(self) -> Path:
        return self.data_dir / "practicum"

    @property
    def flickr_dir(self) -> Path:
        return self.data_dir / "flickr8k"

    @property
    def holdout_dir(self) -> Path:
        return self.data_dir / "holdout"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def metrics_path(self) -> Path:
        return self.reports_dir / "metrics.json"


def nltk_data_dir() -> Path:
    """The project's own nltk_data folder (laid out by scripts/setup.sh from Debian's WordNet)."""
    return _env_path("NLTK_DATA", PROJECT_ROOT / ".nltk_data")
