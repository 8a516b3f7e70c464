"""The metrics report: reports/metrics.json, written by `python -m core evaluate` and read by the
model comparison page and scripts/readme_metrics.py. This module owns its schema: the loader, the
writer, the one table of model labels, and how clean each figure is.

Nothing here draws or imports Streamlit; ui/ turns a MetricsReport into figures and sentences.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.foundation.atomic import atomic_write_json
from core.foundation.errors import Problem, WithSenseError
from core.measure.hybrid_report import hybrid_table

EVALUATE_COMMAND = "python -m core evaluate --output reports/metrics.json"


# --------------------------------------------------------------------------------------------
# Labels: the one table per kind of key the report holds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelLabel:
    label: str  # short, for tables and chart axes
    description: str  # what the model is, for the README
    family: str  # baseline, linear or neural network: what the comparison is about


# In evaluate's order: the default model is two_tower.
MODELS: dict[str, ModelLabel] = {
    "constant": ModelLabel("Constant (mean)", "constant baseline (mean target)", "baseline"),
    "linear_concat": ModelLabel("Linear regression", "linear regression (ridge) on text + image vectors",
                                "linear"),
    "mlp_concat": ModelLabel("Neural network (MLP)", "fully connected network on text + image vectors",
                             "neural network"),
    "two_tower": ModelLabel("Two-tower", "two-tower, calibrated cosine (default)", "neural network"),
    "two_tower_mlp": ModelLabel("Two-tower + MLP", "MLP head over two-tower features", "neural network"),
}
SPLIT_LABELS = {"practicum_test": "Practicum test", "holdout": "Holdout"}
# evaluate lists the classifier in use first.
CHILD_CLASSIFIER_LABELS = {"finetuned_tail": "Fine-tuned last CNN block + head",
                           "logistic_pooled": "Logistic regression on the pooled image vector",
                           "encoder_head": "Child head trained with the photo encoder",
                           "blended_logistic": "Logistic regression on the image vector, blended with "
                                               "one on its frozen Lite2 part"}


def model_label(key: str) -> str:
    return MODELS[key].label if key in MODELS else key


# --------------------------------------------------------------------------------------------
# How clean each figure is
# --------------------------------------------------------------------------------------------

CLEAN = "clean"  # never used to choose anything: an unbiased estimate
SELECTION = "selection"  # guided a choice, so it is optimistic for the setting it chose


@dataclass(frozen=True)
class Provenance:
    kind: str  # CLEAN or SELECTION
    why: str  # one clause, shown after the kind

    def note(self) -> str:
        name = "Clean figure" if self.kind == CLEAN else "Selection figure"
        return f"{name}: {self.why}."


# Keyed by the report's sections (dotted where a section mixes kinds).
PROVENANCE: dict[str, Provenance] = {
    "relevance": Provenance(SELECTION, "the two-tower settings were tuned on the CV RMSE, and this "
                            "table chose the default model"),
    "expert_zero_shot_kendall_tau_c": Provenance(SELECTION, "the two-tower settings were tuned on it"),
    "retrieval.practicum_test": Provenance(SELECTION, "the encoders and the two-tower settings were "
                                           "chosen partly on its R@1"),
    "retrieval.holdout": Provenance(CLEAN, "holdout photos and captions never guided a choice; "
                                    "evaluate reads them after the model is fixed"),
    "lemmatization": Provenance(SELECTION, "it chose whether to lemmatize"),
    "russian.practicum_test": Provenance(SELECTION, "these Russian translations chose the student's "
                                         "settings (python -m lab probe russian)"),
    "russian.holdout": Provenance(CLEAN, "the holdout translations were made once and never guided a choice"),
    "legal.query": Provenance(SELECTION, "the tests hold the child lexicon to these queries, so "
                              "misses found there were fixed"),
    "legal.image_holdout": Provenance(SELECTION, "the threshold rule (recall ≥ 0.98 at 95% "
                                      "confidence) was adopted after a holdout read showed the "
                                      "earlier rule falling short, and with the frozen pair the "
                                      "network was kept over logistic regression after a holdout "
                                      "read showed the latter short of it; the encoder and "
                                      "classifier in use (logistic regression on Lite0 and Lite2 "
                                      "both fine-tuned, its threshold chosen over 10 folds) were "
                                      "chosen out of fold, before this holdout read, though after "
                                      "reads of earlier classifiers and fold counts"),
    "legal.classifiers": Provenance(SELECTION, "it chose the child-photo classifier in use"),
    "legal.image_shifts": Provenance(CLEAN, "the rule that holds under shift was chosen on "
                                     "training photos only (python -m lab probe child_shifts) "
                                     "before holdout was read under any shift"),
    "hybrid_simulated.selection": Provenance(SELECTION, "simulated; it chose the words' weight"),
    "hybrid_simulated.holdout": Provenance(CLEAN, "simulated; read once, after the words' weight "
                                           "was fixed on the practicum test photos"),
}
# core.legal.shifts' names as the compare page shows them
SHIFT_LABELS = {"plain": "As it is", "squeezed_224": "Squeezed to 224x224",
                "upscaled_1024": "Upscaled to 1024 px",
                "centre_crop": "Centre crop (80%)", "letterbox_wide": "Letterboxed 2:1",
                "letterbox_tall": "Letterboxed 1:2", "jpeg_q30": "JPEG quality 30",
                "greyscale": "Greyscale", "small_in_frame": "Half size in a frame"}


def provenance(section: str) -> str:
    """'Clean figure: ...' or 'Selection figure: ...' for a section of the report."""
    return PROVENANCE[section].note()


# --------------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------------


class MetricsMissingError(WithSenseError, FileNotFoundError):
    """No metrics file yet; the message says which command makes it."""

    problem = Problem.NO_METRICS


class MetricsFormatError(WithSenseError, ValueError):
    """The metrics file exists but cannot be read as the expected JSON."""

    problem = Problem.METRICS_UNREADABLE


@dataclass(frozen=True)
class MetricsReport:
    relevance: pd.DataFrame  # model, label, family, rmse, rmse_std, mae, kendall_tau_c
    retrieval: pd.DataFrame  # split, label, r1, r5, r10, mrr, queries, images (R@k in %)
    legal: dict[str, float] = field(default_factory=dict)
    # classifier label, flagged (child photos), withheld (other photos): training photos, out of fold
    child_classifiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    # holdout under each shift: Shift, Child photos flagged, Other photos withheld (clean)
    child_shifts: pd.DataFrame = field(default_factory=pd.DataFrame)
    expert_zero_shot_kendall_tau_c: float | None = None
    hybrid: pd.DataFrame = field(default_factory=pd.DataFrame)  # simulated (core.measure.hybrid_report)
    produced: str = ""  # human-readable time the metrics were produced
    config: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    russian: dict[str, Any] = field(default_factory=dict)  # by split: english/russian R@k (#39)


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write evaluate's result as the report; written aside then renamed, so a reader never
    sees half a file."""
    missing = [key for key in ("relevance", "retrieval", "legal", "config") if key not in metrics]
    if missing:
        raise ValueError(f"metrics lack {', '.join(missing)}: not evaluate's result")
    atomic_write_json(Path(path), metrics)


def machine() -> str:
    """Where a figure was measured: CPU model, cores, memory, system and Python."""
    import os
    import platform

    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (f"{cpu}, {os.cpu_count()} CPU cores, {memory:.0f} GiB RAM, {platform.system()}, "
            f"Python {platform.python_version()}")


def read_metrics_json(path: Path) -> dict[str, Any]:
    """The report as stored (a JSON object); MetricsMissingError or MetricsFormatError naming
    the command that rebuilds it."""
    path = Path(path)
    if not path.is_file():
        raise MetricsMissingError(f"No metrics report at {path} yet. Produce it with: {EVALUATE_COMMAND}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetricsFormatError(
            f"{path} is not a readable JSON report ({exc}); rebuild it with: {EVALUATE_COMMAND}"
        ) from exc
    if not isinstance(raw, dict):
        raise MetricsFormatError(f"{path} does not hold a JSON object; rebuild it with: {EVALUATE_COMMAND}")
    return raw


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _produced(raw: dict[str, Any], path: Path) -> str:
    stamp = raw.get("generated_at")
    if isinstance(stamp, str) and stamp:
        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return stamp
        if when.tzinfo is not None:
            return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return when.strftime("%Y-%m-%d %H:%M")
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return mtime.strftime("%Y-%m-%d %H:%M UTC") + " (file modification time)"


def _known_first(keys: Any, order: Any) -> list[str]:
    """Keys in the schema's order, then any the schema does not know (newer reports)."""
    present = list(keys)
    return [k for k in order if k in present] + [k for k in present if k not in order]


def _relevance(raw: dict[str, Any]) -> pd.DataFrame:
    section = _section(raw, "relevance")
    rows = []
    for name in _known_first(section, MODELS):
        values = section[name] if isinstance(section[name], dict) else {}
        model = MODELS.get(name, ModelLabel(name, name, "other"))
        rows.append({"model": name, "label": model.label, "family": model.family,
                     **{k: _number(values.get(k)) for k in ("rmse", "rmse_std", "mae", "kendall_tau_c")}})
    columns = ["model", "label", "family", "rmse", "rmse_std", "mae", "kendall_tau_c"]
    return pd.DataFrame(rows, columns=columns)


def _retrieval(raw: dict[str, Any]) -> pd.DataFrame:
    section = _section(raw, "retrieval")
    rows = []
    for split in _known_first(section, SPLIT_LABELS):
        values = section[split] if isinstance(section[split], dict) else {}
        recalls = {k: _number(values.get(k)) for k in ("r1", "r5", "r10")}
        known = [v for v in recalls.values() if not math.isnan(v)]
        if known and max(known) <= 1.0:  # stored as fractions: show percentages
            recalls = {k: v * 100 for k, v in recalls.items()}
        rows.append({"split": split, "label": SPLIT_LABELS.get(split, split), **recalls,
                     **{k: _number(values.get(k)) for k in ("mrr", "queries", "images")}})
    return pd.DataFrame(rows, columns=["split", "label", "r1", "r5", "r10", "mrr", "queries", "images"])


def load_metrics(path: Path) -> MetricsReport:
    """Read reports/metrics.json; missing sections give empty tables, not errors."""
    path = Path(path)
    raw = read_metrics_json(path)
    legal_raw = _section(raw, "legal")
    legal = {k: _number(v) for k, v in legal_raw.items() if not math.isnan(_number(v))}
    child_classifiers = pd.DataFrame(
        [{"Classifier": CHILD_CLASSIFIER_LABELS.get(name, name),
          "Child photos flagged": round(_number(v.get("cv_recall")), 3),
          "Other photos withheld": round(_number(v.get("cv_withheld_nonchild")), 3)}
         for name, v in _section(legal_raw, "classifiers").items() if isinstance(v, dict)],
        columns=["Classifier", "Child photos flagged", "Other photos withheld"])
    shifted = legal_raw.get("image_shifts_holdout")
    child_shifts = pd.DataFrame(
        [{"Shift": SHIFT_LABELS.get(name, name), "Child photos flagged": round(_number(v.get("recall")), 3),
          "Other photos withheld": round(_number(v.get("withheld")), 3)}
         for name, v in (shifted.items() if isinstance(shifted, dict) else ()) if isinstance(v, dict)],
        columns=["Shift", "Child photos flagged", "Other photos withheld"])
    zero_shot = _number(raw.get("expert_zero_shot_kendall_tau_c"))
    return MetricsReport(
        relevance=_relevance(raw),
        retrieval=_retrieval(raw),
        legal=legal,
        child_classifiers=child_classifiers,
        child_shifts=child_shifts,
        expert_zero_shot_kendall_tau_c=None if math.isnan(zero_shot) else zero_shot,
        hybrid=hybrid_table(_section(raw, "hybrid_simulated")),
        produced=_produced(raw, path),
        config=_section(raw, "config"),
        source=str(path),
        russian=_section(raw, "russian"),
    )


# The photo-encoder ablation (reports/ablation.json, one `python -m lab ablate LABEL` per row):
# its figures by key and the names the compare page shows them under.
ABLATION_COLUMNS = {
    "val_r1": "val R@1", "test_r1": "test R@1", "test_r10": "test R@10", "cv_rmse": "CV RMSE",
    "zero_shot_tau_c": "zero-shot tau-c", "child_flagged_oos": "child photos flagged",
    "other_withheld_oos": "other photos withheld", "photos_per_s": "indexing photos/s",
}


def read_rows(path: Path) -> dict[str, Any]:
    """The ablation file's rows by label ({} when there is none yet)."""
    return json.loads(Path(path).read_text()) if Path(path).is_file() else {}


def ablation_table(path: Path) -> pd.DataFrame:
    """The recorded rows for display: one per label, the columns of ABLATION_COLUMNS (missing: NaN)."""
    rows = read_rows(path)
    table = pd.DataFrame([{"row": label, **{shown: row.get(key) for key, shown in ABLATION_COLUMNS.items()},
                           "what changes": row.get("note", "")}
                          for label, row in rows.items() if isinstance(row, dict)],
                         columns=["row", *ABLATION_COLUMNS.values(), "what changes"])
    return table
