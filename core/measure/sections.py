"""`python -m core evaluate --only SECTION[,SECTION]`: some sections of metrics.json measured
again with the trained model (artifacts/model.pt), the rest of the file kept as it was.

The full `evaluate` takes most of an hour on 2 cores, most of it the relevance models' cross-
validation; a section that reads only the trained model (its tower is the one `evaluate` fits for
retrieval: the same data, settings and seed) can be brought up to date in minutes. The file says
which sections came later, when and from which model (`sections_updated`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.build.train import ProgressFactory, no_progress
from core.bundle import ModelBundle
from core.foundation.errors import Problem, WithSenseError
from core.foundation.settings import ArtifactsMissingError, Settings
from core.measure.hybrid_figures import evaluate_hybrid
from core.measure.reports import read_metrics_json
from core.measure.russian import russian_figures

Section = Callable[[Settings, ProgressFactory], dict[str, Any]]


def trained_russian(settings: Settings, progress: ProgressFactory = no_progress) -> dict[str, Any]:
    """The "russian" section with the trained model's tower (evaluate fits the same one)."""
    try:
        bundle = ModelBundle.load(settings.artifacts_dir)
    except ArtifactsMissingError as exc:
        return {"unavailable": str(exc)}
    figures = russian_figures(settings, bundle.tower, bundle.text_encoder, bundle.lemmatize, progress)
    return {**figures, "model_sha256": bundle.sha256}


SECTIONS: dict[str, Section] = {
    "hybrid_simulated": evaluate_hybrid,
    "russian": trained_russian,
}


class UnknownSectionError(WithSenseError, ValueError):
    """`--only` named a section that cannot be measured on its own."""

    problem = Problem.BAD_REQUEST


def check_sections(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise UnknownSectionError(f"--only {','.join(names) or '(nothing)'}: sections that can be "
                                  f"measured on their own are {', '.join(SECTIONS)}")
    return names


def update_sections(settings: Settings, names: list[str], path: Path,
                    progress: ProgressFactory = no_progress) -> dict[str, Any]:
    """The report at `path` (it must exist: the full `evaluate` makes it) with `names` measured
    again; the caller writes it."""
    metrics = read_metrics_json(path)
    for name in check_sections(names):
        metrics[name] = SECTIONS[name](settings, progress)
        metrics.setdefault("sections_updated", {})[name] = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model_sha256": metrics[name].get("model_sha256"),
            "command": f"python -m core evaluate --only {name}"}
    return metrics
