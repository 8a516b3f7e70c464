"""The metrics report (reports/metrics.json written by `python -m core evaluate`) and the plotly
figures drawn from it, computed without Streamlit; also the shared figure style (colours, layout).

Nothing here imports torch or Streamlit; the pages only display what these functions return.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.wording import EVALUATE_COMMAND

# --------------------------------------------------------------------------------------------
# Charts (plotly figures; the pages only display them)
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
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        **kwargs,
    )
    return fig



# --------------------------------------------------------------------------------------------
# Metrics report (reports/metrics.json written by `python -m core evaluate`)
# --------------------------------------------------------------------------------------------

MODEL_ORDER = ("constant", "linear_concat", "mlp_concat", "two_tower", "two_tower_mlp")
MODEL_LABELS = {
    "constant": "Constant (mean)",
    "linear_concat": "Linear regression",
    "mlp_concat": "Neural network (MLP)",
    "two_tower": "Two-tower",
    "two_tower_mlp": "Two-tower + MLP",
}
MODEL_FAMILY = {
    "constant": "baseline",
    "linear_concat": "linear",
    "mlp_concat": "neural network",
    "two_tower": "neural network",
    "two_tower_mlp": "neural network",
}
FAMILY_COLORS = {"baseline": MUTED, "linear": ACCENT, "neural network": PRIMARY}
SPLIT_LABELS = {"practicum_test": "Practicum test", "holdout": "Holdout"}
CHILD_CLASSIFIER_LABELS = {"finetuned_tail": "Fine-tuned last CNN block (in use)",
                           "logistic_pooled": "Logistic regression on the image vector",
                           "encoder_head": "Child head trained with the photo encoder"}


class MetricsMissingError(FileNotFoundError):
    """No metrics file yet; the message says which command makes it."""


class MetricsFormatError(ValueError):
    """The metrics file exists but cannot be read as the expected JSON."""


@dataclass(frozen=True)
class MetricsReport:
    relevance: pd.DataFrame  # model, label, family, rmse, rmse_std, mae, kendall_tau_c
    retrieval: pd.DataFrame  # split, label, r1, r5, r10, mrr, queries, images (R@k in %)
    legal: dict[str, float] = field(default_factory=dict)
    # classifier label, flagged (child photos), withheld (other photos): training photos, out of fold
    child_classifiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    expert_zero_shot_kendall_tau_c: float | None = None
    produced: str = ""  # human-readable time the metrics were produced
    config: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _produced(raw: dict[str, Any], path: Path) -> str:
    stamp = raw.get("generated_at")
    if isinstance(stamp, str) and stamp:
        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return stamp
        if when.tzinfo is not None:
            when = when.astimezone(UTC)
            return when.strftime("%Y-%m-%d %H:%M UTC")
        return when.strftime("%Y-%m-%d %H:%M")
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return mtime.strftime("%Y-%m-%d %H:%M UTC") + " (file modification time)"


def load_metrics(path: Path) -> MetricsReport:
    """Read reports/metrics.json; missing sections give empty tables, not errors."""
    path = Path(path)
    if not path.is_file():
        raise MetricsMissingError(
            f"No metrics report at {path} yet. Produce it with: {EVALUATE_COMMAND}"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetricsFormatError(
            f"{path} is not a readable JSON report ({exc}); rebuild it with: {EVALUATE_COMMAND}"
        ) from exc
    if not isinstance(raw, dict):
        raise MetricsFormatError(f"{path} does not hold a JSON object; rebuild it with: {EVALUATE_COMMAND}")

    relevance_raw = raw.get("relevance") if isinstance(raw.get("relevance"), dict) else {}
    names = [m for m in MODEL_ORDER if m in relevance_raw]
    names += [m for m in relevance_raw if m not in MODEL_ORDER]
    rows = []
    for name in names:
        values = relevance_raw[name] if isinstance(relevance_raw[name], dict) else {}
        rows.append({
            "model": name,
            "label": MODEL_LABELS.get(name, name),
            "family": MODEL_FAMILY.get(name, "other"),
            **{k: _number(values.get(k)) for k in ("rmse", "rmse_std", "mae", "kendall_tau_c")},
        })
    relevance = pd.DataFrame(
        rows, columns=["model", "label", "family", "rmse", "rmse_std", "mae", "kendall_tau_c"]
    )

    retrieval_raw = raw.get("retrieval") if isinstance(raw.get("retrieval"), dict) else {}
    splits = [s for s in SPLIT_LABELS if s in retrieval_raw] + [
        s for s in retrieval_raw if s not in SPLIT_LABELS
    ]
    ret_rows = []
    for split in splits:
        values = retrieval_raw[split] if isinstance(retrieval_raw[split], dict) else {}
        recalls = {k: _number(values.get(k)) for k in ("r1", "r5", "r10")}
        known = [v for v in recalls.values() if not math.isnan(v)]
        if known and max(known) <= 1.0:  # stored as fractions: show percentages
            recalls = {k: v * 100 for k, v in recalls.items()}
        ret_rows.append({
            "split": split,
            "label": SPLIT_LABELS.get(split, split),
            **recalls,
            "mrr": _number(values.get("mrr")),
            "queries": _number(values.get("queries")),
            "images": _number(values.get("images")),
        })
    retrieval = pd.DataFrame(
        ret_rows, columns=["split", "label", "r1", "r5", "r10", "mrr", "queries", "images"]
    )

    legal_raw = raw.get("legal") if isinstance(raw.get("legal"), dict) else {}
    legal = {k: _number(v) for k, v in legal_raw.items() if not math.isnan(_number(v))}
    candidates = legal_raw.get("classifiers") if isinstance(legal_raw.get("classifiers"), dict) else {}
    child_classifiers = pd.DataFrame(
        [{"Classifier": CHILD_CLASSIFIER_LABELS.get(name, name),
          "Child photos flagged": round(_number(v.get("cv_recall")), 3),
          "Other photos withheld": round(_number(v.get("cv_withheld_nonchild")), 3)}
         for name, v in candidates.items() if isinstance(v, dict)],
        columns=["Classifier", "Child photos flagged", "Other photos withheld"])
    zero_shot = _number(raw.get("expert_zero_shot_kendall_tau_c"))
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    return MetricsReport(
        relevance=relevance,
        retrieval=retrieval,
        legal=legal,
        child_classifiers=child_classifiers,
        expert_zero_shot_kendall_tau_c=None if math.isnan(zero_shot) else zero_shot,
        produced=_produced(raw, path),
        config=config,
        source=str(path),
    )


def _shown(frame: pd.DataFrame, columns: dict[str, tuple[str, int | None]]) -> pd.DataFrame:
    """Columns renamed for display (shown name -> (column, decimals or None to keep as is))."""
    return pd.DataFrame({shown: frame[col] if digits is None else frame[col].round(digits)
                         for shown, (col, digits) in columns.items()})


def relevance_table(report: MetricsReport) -> pd.DataFrame:
    """The comparison table as shown: one row per model, rounded."""
    return _shown(report.relevance, {"Model": ("label", None), "RMSE": ("rmse", 3), "std": ("rmse_std", 3),
                                     "MAE": ("mae", 3), "τc": ("kendall_tau_c", 3)})


def linear_vs_neural(report: MetricsReport) -> str | None:
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
        verdict = (f"Linear regression and the neural network are within each other's error bars "
                   f"{figures}: on the same features, neither is clearly better.")
    elif diff > 0:
        verdict = f"The neural network beats linear regression beyond the error bars {figures}."
    else:
        verdict = f"Linear regression beats the neural network beyond the error bars {figures}."
    best = frame["rmse"].dropna()
    if len(best):
        name = str(best.idxmin())
        verdict += f" Lowest RMSE overall: {MODEL_LABELS.get(name, name)}."
    return verdict


CHART_LABELS = {  # short, pre-broken axis labels: five bars fit half a page without rotation
    "constant": "Constant<br>(mean)",
    "linear_concat": "Linear<br>regression",
    "mlp_concat": "Neural net<br>(MLP)",
    "two_tower": "Two-tower",
    "two_tower_mlp": "Two-tower<br>+ MLP",
}


def _chart_label(model: str, label: str) -> str:
    if model in CHART_LABELS:
        return CHART_LABELS[model]
    return label.replace(" ", "<br>", 1) if len(label) > 10 and " " in label else label


def rmse_figure(report: MetricsReport) -> go.Figure:
    """RMSE per model, mean ± std over the folds, coloured by kind (baseline/linear/neural)."""
    frame = report.relevance
    fig = go.Figure()
    for family, color in FAMILY_COLORS.items():
        part = frame[frame["family"] == family]
        if part.empty:
            continue
        fig.add_trace(go.Bar(
            name=family,
            x=[_chart_label(m, label) for m, label in zip(part["model"], part["label"], strict=True)],
            y=part["rmse"],
            error_y={"type": "data", "array": part["rmse_std"].fillna(0).tolist(), "visible": True,
                     "color": "#44545A", "thickness": 1.5, "width": 6},
            marker_color=color,
            text=[f"{v:.3f}" for v in part["rmse"]],
            textposition="inside",
            insidetextanchor="start",
            customdata=part["label"],
            hovertemplate="%{customdata}<br>RMSE %{y:.4f} ± %{error_y.array:.4f}<extra></extra>",
        ))
    order = [_chart_label(m, label) for m, label in zip(frame["model"], frame["label"], strict=True)]
    fig.update_xaxes(categoryorder="array", categoryarray=order, tickangle=0, tickfont={"size": 12})
    return layout(fig, "RMSE per model (mean ± std over 5 folds)", yaxis_title="RMSE (lower is better)",
                   barmode="overlay")


def retrieval_figure(report: MetricsReport) -> go.Figure:
    """Recall@1/5/10 (%) of the text-to-photo search on each evaluation set."""
    fig = go.Figure()
    colors = [PRIMARY, ACCENT, SOFT, MUTED]
    for i, row in enumerate(report.retrieval.itertuples(index=False)):
        values = [row.r1, row.r5, row.r10]
        fig.add_trace(go.Bar(
            name=row.label,
            x=["R@1", "R@5", "R@10"],
            y=values,
            marker_color=colors[i % len(colors)],
            text=["" if math.isnan(v) else f"{v:.1f}%" for v in values],
            textposition="outside",
            hovertemplate=f"{row.label}<br>%{{x}} %{{y:.1f}}%<extra></extra>",
        ))
    top = max([v for v in report.retrieval[["r1", "r5", "r10"]].to_numpy().ravel() if not math.isnan(v)],
              default=100.0)
    fig.update_yaxes(range=[0, min(100.0, top * 1.15 + 2)], ticksuffix="%")
    return layout(fig, "Recall@k: described photo in the top k", barmode="group",
                   yaxis_title="recall")


def retrieval_table(report: MetricsReport) -> pd.DataFrame:
    return _shown(report.retrieval, {"Evaluation set": ("label", None), "R@1": ("r1", 1), "R@5": ("r5", 1),
                                     "R@10": ("r10", 1), "MRR": ("mrr", 3)})
