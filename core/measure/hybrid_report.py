"""The simulated hybrid-search figures (#36) as the compare page and the README show them: one row
per set and description coverage, R@1/R@10 (%) of vision only, description only and hybrid.
Read from metrics.json's "hybrid_simulated" section (core.measure.hybrid_figures writes it)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

SET_LABELS = {"selection": "Practicum test (selection, simulated)",
              "holdout": "Holdout (clean, simulated)"}
SEARCHES = {"vision": "Vision", "description": "Words", "hybrid": "Hybrid"}
COLUMNS = ["Set", "Described photos", *(f"{label} R@{k}" for label in SEARCHES.values() for k in (1, 10))]


def _recall(values: Any, key: str) -> float:
    try:
        return float(values[key])
    except (KeyError, TypeError, ValueError):
        return math.nan


def hybrid_table(section: dict[str, Any]) -> pd.DataFrame:
    """Rows of COLUMNS; the selection set shows hybrid at the weight it chose."""
    rows = []
    for name, label in SET_LABELS.items():
        figures = section.get(name)
        if not isinstance(figures, dict) or not isinstance(figures.get("coverage"), dict):
            continue
        for share, cover in figures["coverage"].items():
            if not isinstance(cover, dict):
                continue
            hybrid = cover.get("hybrid", {})
            if name == "selection" and "chosen_weight" in figures:  # one column per weight there
                hybrid = hybrid.get(f"{float(figures['chosen_weight']):g}", {})
            row: dict[str, Any] = {"Set": label, "Described photos": share}
            for key, shown in SEARCHES.items():
                values = hybrid if key == "hybrid" else cover.get(key)
                row[f"{shown} R@1"] = _recall(values, "r1")
                row[f"{shown} R@10"] = _recall(values, "r10")
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
