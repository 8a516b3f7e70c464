"""The compare page's cached report readers (reports/metrics.json, reports/ablation.json) and
how it shows a table of figures. Not a page itself (app.py lists the pages explicitly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.foundation.settings import Settings
from core.measure.reports import MetricsReport, load_metrics
from pages._shared import file_stamp
from ui import charts


@st.cache_data(show_spinner=False)
def metrics(path: str, mtime_ns: int) -> MetricsReport:
    return load_metrics(Path(path))


def metrics_report(path: Path) -> MetricsReport:
    """The metrics report, re-read when the file changes; MetricsMissingError when absent."""
    return metrics(str(path), file_stamp(path))


def figures_table(table: pd.DataFrame, where: Any = st) -> None:
    """A small table of figures, static (ui.charts.styled_figures): its columns share the width
    they are given and long names wrap, so beside a chart in a narrow window nothing is cut."""
    where.table(charts.styled_figures(table), hide_index=True)


def wide_figures_table(table: pd.DataFrame, label: str) -> None:
    """A table of figures too wide to wrap: each column in `table.attrs["decimals"]` padded to
    its decimals, a missing one as a dash, every row in view (PMs screenshot these); its `label`
    column stays in view as it scrolls sideways."""
    config: dict[str, Any] = {column: st.column_config.NumberColumn(format=f"%.{digits}f")
                              for column, digits in table.attrs.get(charts.DECIMALS, {}).items()}
    config[label] = st.column_config.TextColumn(pinned=True, width="large")
    st.dataframe(table, hide_index=True, column_config=config, placeholder=charts.NOT_MEASURED,
                 height="content")


@st.cache_data(show_spinner=False)
def _ablation(path: str, mtime_ns: int) -> pd.DataFrame:
    from core.measure.reports import ablation_table

    return ablation_table(Path(path))


def ablation(settings: Settings) -> pd.DataFrame:
    """The photo-encoder ablation rows (reports/ablation.json), re-read when the file changes."""
    path = settings.reports_dir / "ablation.json"
    return _ablation(str(path), file_stamp(path))
