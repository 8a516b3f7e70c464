"""A model's settings as data: one TOML file per model (``configs/default.toml``), read and
checked into a frozen :class:`ModelConfig`. `train` builds the model it describes and stores it
inside ``model.pt``; `sweep` reads its ``[sweep]`` grid.

Every key is checked: an unknown or missing key, or a value of the wrong type or range, raises
:class:`ModelConfigError` naming the key and what is valid.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from core.foundation.errors import Problem, WithSenseError

SWEEP_METRICS = ("val_r1", "test_r1", "zero_shot_tau_c", "cv_rmse")


class ModelConfigError(WithSenseError, ValueError):
    """A model config file (or the dict stored in model.pt) is missing, unreadable or invalid."""

    problem = Problem.CANNOT_RUN


@dataclass(frozen=True)
class TowerConfig:
    """core.models.two_tower.TwoTower's parameters (all but the training device)."""

    dim: int
    hidden: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    dropout: float


@dataclass(frozen=True)
class CalibrationConfig:
    """The calibration from centred cosine to 0..1, and the knots model.pt stores it as."""

    kind: str
    low: float
    high: float
    knots: int


@dataclass(frozen=True)
class ChildConfig:
    """The child-photo classifier: which one ("network": core.legal.network.ChildPhotoNet on the
    encoder's trunk; "logistic": core.legal.logistic.ChildPhotoClassifier on the pooled vector;
    "blend": core.legal.blend.BlendedChildClassifier, logistic on the vector and on its frozen part),
    the recall rule, and the network's training. Unused when the image encoder brings its own
    child head (trained and thresholded by `finetune`)."""

    classifier: str
    target_recall: float
    confidence: float
    epochs: int
    lr: float
    batch_size: int
    dropout: float
    weight_decay: float
    folds: int
    # Logistic only: the threshold holds for the photos under each shift of core.legal.shifts too
    # (`shifts`), and the regression also learns from the shifted copies (`augment`).
    shifts: bool = False
    augment: bool = False

    def network_params(self) -> dict[str, Any]:
        """ChildPhotoNet's keyword arguments."""
        return {k: v for k, v in asdict(self).items() if k not in ("classifier", "shifts", "augment")}


CHILD_CLASSIFIERS = ("network", "logistic", "blend")
LOGISTIC_ONLY = 'false unless classifier = "logistic"'  # the shift rule needs the vector's head


@dataclass(frozen=True)
class SweepConfig:
    """`python -m lab sweep`: tower parameters to try (each a list) and the metrics to rank on."""

    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    metrics: tuple[str, ...] = SWEEP_METRICS
    cv_splits: int = 5


@dataclass(frozen=True)
class EncodersConfig:
    text: str
    image: str


@dataclass(frozen=True)
class ModelConfig:
    seed: int
    lemmatize: bool
    encoders: EncodersConfig
    tower: TowerConfig
    calibration: CalibrationConfig
    child: ChildConfig
    sweep: SweepConfig = field(default_factory=SweepConfig)
    source: str = field(default="", compare=False)  # the file it was read from

    @property
    def text_encoder(self) -> str:
        return self.encoders.text

    @property
    def image_encoder(self) -> str:
        return self.encoders.image

    def to_dict(self) -> dict[str, Any]:
        """Plain values (what model.pt and reports store); :func:`config_from_dict` reads it back."""
        out = asdict(self)
        out.pop("source")
        out["sweep"] = {"grid": {k: list(v) for k, v in self.sweep.grid.items()},
                        "metrics": list(self.sweep.metrics), "cv_splits": self.sweep.cv_splits}
        return out

    def with_encoders(self, text: str | None = None, image: str | None = None) -> ModelConfig:
        chosen = EncodersConfig(text or self.encoders.text, image or self.encoders.image)
        return replace(self, encoders=chosen)

    def check_encoders(self, kinds: Mapping[str, str]) -> None:
        """`kinds`: registry name -> "text" or "image" (core.encoders.registry.REGISTRY, passed in so this
        module stays below the encoders)."""
        for kind, name in (("text", self.encoders.text), ("image", self.encoders.image)):
            if kinds.get(name) != kind:
                valid = ", ".join(sorted(n for n, k in kinds.items() if k == kind))
                raise ModelConfigError(f"{self._where()}encoders.{kind} = {name!r} is not a {kind} "
                                       f"encoder; valid: {valid}")

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""


_SECTIONS: dict[str, type] = {"encoders": EncodersConfig, "tower": TowerConfig,
                              "calibration": CalibrationConfig, "child": ChildConfig}
_TOP = {"seed": int, "lemmatize": bool}


def _typed(key: str, value: Any, kind: type, where: str) -> Any:
    """`value` as `kind` (an int is a valid float; a bool is never a number)."""
    ok = (isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))) or (
        kind is float and isinstance(value, int) and not isinstance(value, bool))
    if not ok:
        raise ModelConfigError(f"{where}{key} must be {kind.__name__}, got {value!r}")
    return float(value) if kind is float else value


def _check_keys(section: str, given: Mapping[str, Any], valid: list[str], where: str,
                optional: set[str] | None = None) -> None:
    if not isinstance(given, Mapping):
        raise ModelConfigError(f"{where}{section or 'the file'} must be a table, got {given!r}")
    prefix = f"{section}." if section else ""
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ModelConfigError(f"{where}unknown key {prefix}{unknown[0]}; valid keys"
                               f"{' in [' + section + ']' if section else ''}: {', '.join(valid)}")
    missing = [k for k in valid if k not in given and k not in (optional or set())]
    if missing:
        raise ModelConfigError(f"{where}missing key {prefix}{missing[0]}; every one of "
                               f"{', '.join(valid)} is required")


def _section(name: str, cls: type, raw: Mapping[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    optional = {f.name for f in fields(cls) if f.default is not MISSING}  # added later; old files lack them
    _check_keys(name, raw, names, where, optional)
    return cls(**{k: _typed(f"{name}.{k}", raw[k], hints[k], where) for k in names if k in raw})


def _check_ranges(config: ModelConfig, where: str) -> None:
    t, c, k = config.tower, config.child, config.calibration
    rules = [
        ("tower.dim", t.dim >= 1, ">= 1"), ("tower.hidden", t.hidden >= 0, ">= 0 (0: linear only)"),
        ("tower.epochs", t.epochs >= 1, ">= 1"), ("tower.batch_size", t.batch_size >= 2, ">= 2"),
        ("tower.lr", t.lr > 0, "> 0"), ("tower.weight_decay", t.weight_decay >= 0, ">= 0"),
        ("tower.dropout", 0 <= t.dropout < 1, "in [0, 1)"),
        ("calibration.kind", k.kind == "sigmoid", "'sigmoid' (the only calibration)"),
        ("calibration.high", k.high > k.low, "> calibration.low"),
        ("calibration.knots", k.knots >= 2, ">= 2"),
        ("child.classifier", c.classifier in CHILD_CLASSIFIERS, f"one of {', '.join(CHILD_CLASSIFIERS)}"),
        ("child.target_recall", 0 < c.target_recall <= 1, "in (0, 1]"),
        ("child.confidence", 0 <= c.confidence < 1, "in [0, 1)"),
        ("child.epochs", c.epochs >= 1, ">= 1"), ("child.lr", c.lr > 0, "> 0"),
        ("child.batch_size", c.batch_size >= 2, ">= 2"),
        ("child.dropout", 0 <= c.dropout < 1, "in [0, 1)"),
        ("child.weight_decay", c.weight_decay >= 0, ">= 0"), ("child.folds", c.folds >= 2, ">= 2"),
        ("child.shifts", not c.shifts or c.classifier == "logistic", LOGISTIC_ONLY),
        ("child.augment", not c.augment or c.classifier == "logistic", LOGISTIC_ONLY),
        ("encoders.text", bool(config.encoders.text), "a registry name"),
        ("encoders.image", bool(config.encoders.image), "a registry name"),
        ("sweep.cv_splits", config.sweep.cv_splits >= 2, ">= 2"),
    ]
    for key, ok, rule in rules:
        if not ok:
            raise ModelConfigError(f"{where}{key} must be {rule}")


def _sweep(raw: Mapping[str, Any], where: str) -> SweepConfig:
    keys = ["grid", "metrics", "cv_splits"]
    _check_keys("sweep", raw, keys, where, optional=set(keys))
    grid = raw.get("grid", {})
    tower_keys = [f.name for f in fields(TowerConfig)]
    _check_keys("sweep.grid", grid, tower_keys, where, optional=set(tower_keys))
    hints = get_type_hints(TowerConfig)
    checked = {}
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ModelConfigError(f"{where}sweep.grid.{key} must be a non-empty list, got {values!r}")
        checked[key] = tuple(_typed(f"sweep.grid.{key}", v, hints[key], where) for v in values)
    metrics = raw.get("metrics", list(SWEEP_METRICS))
    if not isinstance(metrics, list) or not metrics or any(m not in SWEEP_METRICS for m in metrics):
        raise ModelConfigError(f"{where}sweep.metrics must be a non-empty list of "
                               f"{', '.join(SWEEP_METRICS)}; got {metrics!r}")
    cv_splits = _typed("sweep.cv_splits", raw.get("cv_splits", 5), int, where)
    return SweepConfig(checked, tuple(metrics), cv_splits)


def config_from_dict(raw: Mapping[str, Any], source: str = "") -> ModelConfig:
    """Check a parsed config (a TOML file's tables, or :meth:`ModelConfig.to_dict`)."""
    where = f"{source}: " if source else ""
    _check_keys("", raw, [*_TOP, *_SECTIONS, "sweep"], where, optional={"sweep"})
    parts = {name: _section(name, cls, raw[name], where) for name, cls in _SECTIONS.items()}
    config = ModelConfig(**{k: _typed(k, raw[k], kind, where) for k, kind in _TOP.items()}, **parts,
                         sweep=_sweep(raw.get("sweep", {}), where), source=source)
    for key, values in config.sweep.grid.items():  # every grid value must make a valid tower
        for value in values:
            _check_ranges(replace(config, tower=replace(config.tower, **{key: value})), where)
    _check_ranges(config, where)
    return config


def read_model_config(file: Path) -> ModelConfig:
    """The config in `file`, checked (core.foundation.settings.load_model_config adds the
    default path and the encoders' overrides from the environment)."""
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelConfigError(f"no model config at {file} (configs/default.toml is the default; "
                               "--config PATH or WITHSENSE_MODEL_CONFIG picks another)") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ModelConfigError(f"{file}: cannot be read as TOML ({exc})") from exc
    return config_from_dict(raw, str(file))


def with_sweep(config: ModelConfig, grid: Mapping[str, list[Any]] | None = None,
               metrics: list[str] | None = None, cv_splits: int | None = None) -> ModelConfig:
    """`config` with parts of its [sweep] replaced (command-line overrides), checked as a file is."""
    raw = config.to_dict()
    given = {"grid": grid, "metrics": metrics, "cv_splits": cv_splits}
    raw["sweep"].update({k: v for k, v in given.items() if v is not None})
    return replace(config_from_dict(raw, config.source), encoders=config.encoders)
