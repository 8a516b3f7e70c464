"""The plotly figures and tables the pages show: the shared style (colours, layout), the model
comparison drawn from a core.measure.reports.MetricsReport, and the dataset explorer's histograms.

Nothing here imports torch or Streamlit; the pages only display what these functions return.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.measure.reports import SPLIT_LABELS, MetricsReport, model_label
from ui.texts_en import TEXT
from ui.wording import escape_markdown

# --------------------------------------------------------------------------------------------
# Style
# --------------------------------------------------------------------------------------------

PRIMARY = "#2F6F73"
ACCENT = "#E0A15E"
MUTED = "#9AA5A8"
SOFT = "#A9CBC6"
_FONT = {"family": "Source Sans Pro, Source Sans 3, DejaVu Sans, sans-serif", "size": 14}


def layout(fig: go.Figure, title: str, height: int = 380, **kwargs: Any) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        font=_FONT,
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
        # under the plot, from the left: beside the title it overlapped it in a narrow column
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0,
                "xanchor": "left", "x": 0},
        **kwargs,
    )
    return fig


FAMILY_COLORS = {"baseline": MUTED, "linear": ACCENT, "neural network": PRIMARY}

# --------------------------------------------------------------------------------------------
# Model comparison (from reports/metrics.json)
# --------------------------------------------------------------------------------------------


DECIMALS = "decimals"  # a table's attrs key: {column: decimals}, how the page shows its numbers
NOT_MEASURED = "—"  # how a table shows a figure that was not measured (NaN)


def with_decimals(table: pd.DataFrame, decimals: dict[str, int]) -> pd.DataFrame:
    """`table` with the display decimals of those of `decimals`' columns it has attached (the page
    pads to them, so 0.200 does not show as 0.2 beside 0.184); a missing figure becomes NaN, so
    the column stays numeric (the page shows NOT_MEASURED there)."""
    table = table.copy()
    decimals = {column: digits for column, digits in decimals.items() if column in table.columns}
    for column, digits in decimals.items():
        table[column] = pd.to_numeric(table[column], errors="coerce").round(digits)
    table.attrs[DECIMALS] = decimals
    return table


def styled_figures(table: pd.DataFrame) -> Any:
    """`table` as a pandas Styler for a static table (st.table): each column of its decimals
    padded to them, a missing figure as NOT_MEASURED, text escaped (st.table reads cells as
    Markdown)."""
    decimals = table.attrs.get(DECIMALS, {})
    text = table.copy()
    for column in text.select_dtypes(include=["object", "string"]).columns:
        text[column] = text[column].map(escape_markdown)
    return text.style.format({column: f"{{:.{digits}f}}" for column, digits in decimals.items()},
                             na_rep=NOT_MEASURED)


def _shown(frame: pd.DataFrame, columns: dict[str, tuple[str, int | None]]) -> pd.DataFrame:
    """Columns renamed for display (shown name -> (column, decimals or None to keep as is))."""
    table = pd.DataFrame({shown: frame[col] for shown, (col, _) in columns.items()})
    decimals = {shown: digits for shown, (_, digits) in columns.items() if digits is not None}
    return with_decimals(table, decimals)


# The photo-encoder ablation's columns (core.measure.reports.ABLATION_COLUMNS' shown names): R@k in %, RMSE to
# the fourth decimal (rows differ there), shares and tau-c to the third.
ABLATION_DECIMALS = {"val R@1": 1, "test R@1": 1, "test R@10": 1, "CV RMSE": 4, "zero-shot tau-c": 3,
                     "child photos flagged": 3, "other photos withheld": 3, "indexing photos/s": 1}
CHILD_CLASSIFIER_DECIMALS = {"Child photos flagged": 3, "Other photos withheld": 3}


def ablation_table(table: pd.DataFrame) -> pd.DataFrame:
    """core.measure.reports.ablation_table as shown: numbers to fixed decimals."""
    return with_decimals(table, ABLATION_DECIMALS)


def child_classifier_table(report: MetricsReport) -> pd.DataFrame:
    return with_decimals(report.child_classifiers, CHILD_CLASSIFIER_DECIMALS)


def child_shift_table(report: MetricsReport) -> pd.DataFrame:
    return with_decimals(report.child_shifts, CHILD_CLASSIFIER_DECIMALS)


def hybrid_table(report: MetricsReport) -> pd.DataFrame:
    """The simulated hybrid-search figures (core.measure.hybrid_report), R@k to one decimal."""
    return with_decimals(report.hybrid, {c: 1 for c in report.hybrid.columns if "R@" in c})


def _named(relevance: pd.DataFrame, text: Mapping[str, str]) -> pd.DataFrame:
    """The relevance rows with each model's label in the language of `text` (core's otherwise)."""
    pairs = zip(relevance["model"], relevance["label"], strict=True)
    return relevance.assign(label=[text.get(f"model.{key}", label) for key, label in pairs])


def relevance_table(report: MetricsReport, text: Mapping[str, str] = TEXT) -> pd.DataFrame:
    """The comparison table as shown: one row per model, rounded (words from `text`: ui.texts_en
    or ui.texts_ru, as for the figures below)."""
    return _shown(_named(report.relevance, text), {text["chart.model"]: ("label", None), "RMSE": ("rmse", 3),
                                     "std": ("rmse_std", 3), "MAE": ("mae", 3), "τc": ("kendall_tau_c", 3)})


def linear_vs_neural(report: MetricsReport, text: Mapping[str, str] = TEXT) -> str | None:
    """One sentence answering 'linear regression or neural network?' from the RMSE error bars,
    or None when the report lacks either model."""
    frame = report.relevance.set_index("model")
    if not {"linear_concat", "mlp_concat"} <= set(frame.index):
        return None
    lin, mlp = frame.loc["linear_concat"], frame.loc["mlp_concat"]
    if math.isnan(lin["rmse"]) or math.isnan(mlp["rmse"]):
        return None
    spread = (0 if math.isnan(lin["rmse_std"]) else lin["rmse_std"]) + (
        0 if math.isnan(mlp["rmse_std"]) else mlp["rmse_std"]
    )
    diff = lin["rmse"] - mlp["rmse"]
    figures = f"(RMSE {lin['rmse']:.3f} ± {lin['rmse_std']:.3f} vs {mlp['rmse']:.3f} ± {mlp['rmse_std']:.3f})"
    if abs(diff) <= spread:
        verdict = text["verdict.tie"].format(figures=figures)
    elif diff > 0:
        verdict = text["verdict.neural"].format(figures=figures)
    else:
        verdict = text["verdict.linear"].format(figures=figures)
    best = frame["rmse"].dropna()
    if len(best):
        name = str(best.idxmin())
        verdict += text["verdict.lowest"].format(model=text.get(f"model.{name}", model_label(name)))
    return verdict


def rmse_figure(report: MetricsReport, text: Mapping[str, str] = TEXT) -> go.Figure:
    """RMSE per model, mean ± std over the splits, coloured by kind (baseline/linear/neural).
    Horizontal bars: the model names stay readable in a half-page column of any width."""
    frame = _named(report.relevance, text)
    fig = go.Figure()
    for family, color in FAMILY_COLORS.items():
        part = frame[frame["family"] == family]
        if part.empty:
            continue
        fig.add_trace(go.Bar(
            name=text[f"family.{family}"],
            orientation="h",
            y=part["label"].tolist(),
            x=part["rmse"],
            error_x={"type": "data", "array": part["rmse_std"].fillna(0).tolist(), "visible": True,
                     "color": "#44545A", "thickness": 1.5, "width": 6},
            marker_color=color,
            text=[f"{v:.3f}" for v in part["rmse"]],
            textposition="inside",
            insidetextanchor="start",
            hovertemplate="%{y}<br>RMSE %{x:.4f} ± %{error_x.array:.4f}<extra></extra>",
        ))
    # the table's order, first model on top
    fig.update_yaxes(categoryorder="array", categoryarray=frame["label"].tolist(), autorange="reversed",
                     automargin=True)
    return layout(fig, text["chart.rmse_title"], xaxis_title=text["chart.rmse_axis"],
                  barmode="overlay")


def retrieval_figure(report: MetricsReport, text: Mapping[str, str] = TEXT) -> go.Figure:
    """Recall@1/5/10 (%) of the text-to-photo search on each evaluation set."""
    fig = go.Figure()
    colors = [PRIMARY, ACCENT, SOFT, MUTED]
    for i, row in enumerate(report.retrieval.itertuples(index=False)):
        values = [row.r1, row.r5, row.r10]
        label = text.get(f"split.{row.split}", row.label)
        fig.add_trace(go.Bar(
            name=label,
            x=["R@1", "R@5", "R@10"],
            y=values,
            marker_color=colors[i % len(colors)],
            text=["" if math.isnan(v) else f"{v:.1f}%" for v in values],
            textposition="outside",
            cliponaxis=False,  # a label above a bar near 100% draws into the margin, not cut off
            hovertemplate=f"{label}<br>%{{x}} %{{y:.1f}}%<extra></extra>",
        ))
    top = max([v for v in report.retrieval[["r1", "r5", "r10"]].to_numpy().ravel() if not math.isnan(v)],
              default=100.0)
    fig.update_yaxes(range=[0, min(100.0, top * 1.15 + 2)], ticksuffix="%")
    return layout(fig, "Recall@k", barmode="group", yaxis_title=text["chart.recall_axis"])


def retrieval_table(report: MetricsReport, text: Mapping[str, str] = TEXT) -> pd.DataFrame:
    shown = report.retrieval.assign(label=[text.get(f"split.{split}", label) for split, label
                                           in zip(report.retrieval["split"], report.retrieval["label"],
                                                  strict=True)])
    return _shown(shown, {text["chart.set"]: ("label", None), "R@1": ("r1", 1), "R@5": ("r5", 1),
                                     "R@10": ("r10", 1), "MRR": ("mrr", 3)})


def russian_table(report: MetricsReport) -> pd.DataFrame:
    """English and Russian R@k on the same captions and photos, by evaluation set (#39)."""
    rows = [{"Evaluation set": SPLIT_LABELS.get(split, split), "Queries in": name,
             **{f"R@{k}": round(float(values[language][f"r{k}"]), 1) for k in (1, 5, 10)}}
            for split, values in report.russian.items() if isinstance(values, dict)
            for language, name in (("english", "English"), ("russian", "Russian"))
            if isinstance(values.get(language), dict)]
    return pd.DataFrame(rows, columns=["Evaluation set", "Queries in", "R@1", "R@5", "R@10"])


# --------------------------------------------------------------------------------------------
# Dataset explorer
# --------------------------------------------------------------------------------------------


def votes_figure(table: pd.DataFrame, text: Mapping[str, str] = TEXT) -> go.Figure:
    """Counts of each score 1..4: every single expert vote, and the majority per pair."""
    single = pd.concat([table[c] for c in ("expert_1", "expert_2", "expert_3")]).astype(int)
    single_counts = single.value_counts().reindex(range(1, 5), fill_value=0)
    majority_counts = table["expert_majority"].astype(int).value_counts().reindex(range(1, 5), fill_value=0)
    labels = [text[f"vote.{v}"] for v in range(1, 5)]
    fig = go.Figure(  # horizontal, so the scores' names stay readable in a narrow column
        [
            go.Bar(name=text["chart.every_vote"], y=labels, x=single_counts.tolist(), orientation="h",
                   marker_color=SOFT),
            go.Bar(name=text["chart.majority"], y=labels, x=majority_counts.tolist(), orientation="h",
                   marker_color=PRIMARY),
        ]
    )
    fig.update_yaxes(autorange="reversed", automargin=True)  # 1 (no match) on top
    return layout(fig, text["chart.votes_title"], barmode="group", xaxis_title=text["chart.votes_axis"])


def target_figure(table: pd.DataFrame, text: Mapping[str, str] = TEXT) -> go.Figure:
    """Histogram of the combined 0..1 target, split by whether crowd votes were blended in."""
    with_crowd = table["crowd_share"].notna()
    fig = go.Figure(
        [
            go.Histogram(name=text["chart.blend"], x=table.loc[with_crowd, "target"],
                         xbins={"start": 0, "end": 1.0001, "size": 0.05}, marker_color=PRIMARY),
            go.Histogram(name=text["chart.experts_only"], x=table.loc[~with_crowd, "target"],
                         xbins={"start": 0, "end": 1.0001, "size": 0.05}, marker_color=ACCENT),
        ]
    )
    return layout(fig, text["chart.target_title"], barmode="stack", xaxis_title=text["chart.target_axis"],
                  yaxis_title=text["chart.pairs"], bargap=0.05)
