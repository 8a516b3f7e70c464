"""The compare page's cached report readers (reports/metrics.json, reports/ablation.json) and
how it shows a table of figures. Not a page itself (app.py lists the pages explicitly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.config import Settings
from core.reports import MetricsReport, load_metrics
from pages._shared import file_stamp
from ui import charts, wording


@st.cache_data(show_spinner=False)
def metrics(path: str, mtime_ns: int) -> MetricsReport:
    return load_metrics(Path(path))


def metrics_report(path: Path) -> MetricsReport:
    """The metrics report, re-read when the file changes; MetricsMissingError when absent."""
    return metrics(str(path), file_stamp(path))


def figures_table(table: pd.DataFrame, where: Any = st) -> None:
    """A small table of figures, static: each column in `table.attrs["decimals"]` (set by
    ui.charts) padded to its decimals, a missing figure as a dash. Its columns share the width
    they are given and long names wrap, so beside a chart in a narrow window nothing is cut."""
    decimals = table.attrs.get(charts.DECIMALS, {})
    text = table.copy()
    for column in text.select_dtypes(include=["object", "string"]).columns:
        text[column] = text[column].map(wording.escape_markdown)  # st.table reads cells as Markdown
    styled = text.style.format({column: f"{{:.{digits}f}}" for column, digits in decimals.items()},
                               na_rep=charts.NOT_MEASURED)
    where.table(styled, hide_index=True)


def numbers_table(table: pd.DataFrame, where: Any = st, label: str | None = None, **kwargs: Any) -> None:
    """A wide table of figures (too many columns to wrap): `table` without its index, each column
    in `table.attrs["decimals"]` padded to its decimals and a missing one as a dash, every row in
    view (PMs screenshot these); its `label` column stays in view as it scrolls sideways."""
    decimals = table.attrs.get(charts.DECIMALS, {})
    config: dict[str, Any] = {column: st.column_config.NumberColumn(format=f"%.{digits}f")
                              for column, digits in decimals.items()}
    if label is not None:
        config[label] = st.column_config.TextColumn(pinned=True, width="large")
    where.dataframe(table, hide_index=True, column_config=config, placeholder=charts.NOT_MEASURED,
                    height="content", **kwargs)


@st.cache_data(show_spinner=False)
def _ablation(path: str, mtime_ns: int) -> pd.DataFrame:
    from core.ablation import ablation_table

    return ablation_table(Path(path))


def ablation(settings: Settings) -> pd.DataFrame:
    """The photo-encoder ablation rows (reports/ablation.json), re-read when the file changes."""
    path = settings.reports_dir / "ablation.json"
    return _ablation(str(path), file_stamp(path))
