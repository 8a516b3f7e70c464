"""What the Streamlit pages show, computed without Streamlit: dataset figures, the explorer's
filters, the metrics report and its charts, photo thumbnails and the search page's wording.

The pages only read widgets, call one function here (or in core.search) and display the result.
Nothing here imports torch, so the dataset and metrics pages stay light; the model is loaded by
core.search.load_service.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
from PIL import Image, ImageOps

from core.data import TargetReport

if TYPE_CHECKING:
    from core.bundle import ModelBundle
    from core.config import Settings

# --------------------------------------------------------------------------------------------
# Wording shared by the pages
# --------------------------------------------------------------------------------------------

TRAIN_COMMAND = "python -m core train"
EVALUATE_COMMAND = "python -m core evaluate --output reports/metrics.json"

EXAMPLE_QUERIES: tuple[str, ...] = (
    "Dog in the water",
    "Biking on a trail",
    "Busy city street",
    "Surfer on a wave",
)

SCORE_LEGEND = (
    "Score 0–1: how experts and the crowd would likely rate the match, on the training target's "
    "scale: 1 full match · 0.67 minor errors · 0.33 major errors · 0 no match."
)

LEGAL_NOTE = (
    "Photos that our classifier flags as showing a child are never shown, to comply with local "
    "legislation on images of children."
)

WITHHELD_PHOTO = "Photo withheld: flagged as showing a child (local legislation)."

GALLERY_LABELS = {
    "test": "Practicum test",
    "train": "Practicum train",
    "uploads": "Uploads",
}

# Characters that start markdown, HTML or Streamlit directives (:emoji:, :red[...], $math$)
# anywhere in a line; list and heading markers only matter at the start (handled below).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$:])")
_LINE_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([-+=>])")


def escape_markdown(text: str) -> str:
    """One line of text shown literally inside Streamlit markdown (st.markdown, st.info...)."""
    flat = " ".join(str(text).splitlines())
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    return _LINE_START.sub(
        lambda m: f"{m[1]}{m[2]}\\{m[3]}" if m[2] is not None else f"{m[4]}\\{m[5]}", escaped, count=1
    )


def gallery_label(name: str) -> str:
    return GALLERY_LABELS.get(name, f"Gallery “{name}”")


def default_gallery(galleries: Sequence[str]) -> str | None:
    """'test' when it is indexed, else the first gallery, else None."""
    if "test" in galleries:
        return "test"
    return galleries[0] if galleries else None


def format_score(score: float) -> str:
    """A 0..1 score with two decimals (clipped, so rounding never shows 1.01 or -0.00)."""
    return f"{min(max(float(score), 0.0), 1.0):.2f}"


def took_note(took_ms: float, shown: int | None, gallery_size: int | None = None) -> str:
    """'12 photos among 100 · search took 76 ms'; shown=None (a blocked query): the time only."""
    if shown is None:
        return f"search took {took_ms:,.0f} ms"
    among = f" among {gallery_size:,}" if gallery_size else ""
    photos = "photo" if shown == 1 else "photos"
    return f"{shown} {photos}{among} · search took {took_ms:,.0f} ms"


def withheld_note(withheld: int, top_k: int) -> str | None:
    """Why some results are missing, or None when nothing was held back."""
    if withheld <= 0:
        return None
    photos = "photo" if withheld == 1 else "photos"
    verb = "is" if withheld == 1 else "are"
    return (
        f"{withheld} {photos} from the top {top_k} {verb} withheld: flagged as showing a child, "
        "which local legislation does not allow us to show."
    )


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


def model_facts(bundle: ModelBundle) -> list[tuple[str, str]]:
    """(label, value) rows describing the model in use, from the bundle and its info."""
    info: dict[str, Any] = dict(bundle.info or {})
    rows = [
        ("Relevance model", str(info.get("model", "two_tower")).replace("_", "-")),
        ("Text encoder", bundle.text_encoder),
        ("Image encoder", bundle.image_encoder),
        ("Query lemmatization", "on" if bundle.lemmatize else "off"),
        ("Shared space", f"{bundle.tower.dim} dimensions"),
    ]
    if "corpus_pairs" in info:
        rows.append(("Caption–photo pairs used for training", f"{int(info['corpus_pairs']):,}"))
    if "calibration_pairs" in info:
        rows.append(("Judged pairs used for the 0–1 calibration", f"{int(info['calibration_pairs']):,}"))
    if "child_threshold" in info:
        rows.append(("Child-photo classifier threshold", f"{float(info['child_threshold']):.2f}"))
    return rows


# --------------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------------

THUMB_SIZE = (480, 360)


def thumbnail(path: Path | str, size: tuple[int, int] = THUMB_SIZE) -> bytes | None:
    """A JPEG of the photo centre-cropped to one aspect ratio, so grids line up; None if the
    file is missing or not an image."""
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
            fitted = ImageOps.fit(img, size, Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    out = io.BytesIO()
    fitted.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Dataset: home page figures and the explorer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetFigures:
    train_photos: int
    test_photos: int
    queries: int
    pairs_judged: int
    pairs_kept: int
    pairs_dropped: int
    expert_votes_kept: int
    crowd_votes_kept: int
    pairs_with_crowd: int


def _count_images(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def dataset_figures(table: pd.DataFrame, report: TargetReport, practicum_dir: Path) -> DatasetFigures:
    crowd = table.dropna(subset=["crowd_share"])
    crowd_votes = 0
    if {"n_yes", "n_no"} <= set(crowd.columns):
        crowd_votes = int((crowd["n_yes"].astype(float) + crowd["n_no"].astype(float)).sum())
    return DatasetFigures(
        train_photos=int(table["image"].nunique()),
        test_photos=_count_images(practicum_dir / "test_images"),
        queries=int(table["query_id"].nunique()),
        pairs_judged=report.expert_pairs,
        pairs_kept=len(table),
        pairs_dropped=report.expert_dropped_no_majority + report.pairs_without_text,
        expert_votes_kept=3 * len(table),
        crowd_votes_kept=crowd_votes,
        pairs_with_crowd=report.with_crowd,
    )


def drop_reasons(report: TargetReport) -> pd.DataFrame:
    """How many expert-judged pairs each aggregation step dropped, and why."""
    return pd.DataFrame(
        [
            ("No majority: the three experts gave three different scores",
             report.expert_dropped_no_majority),
            ("Query text not found in train_dataset.csv", report.pairs_without_text),
        ],
        columns=["Reason", "Pairs dropped"],
    )


def target_composition(report: TargetReport) -> pd.DataFrame:
    """Of the kept pairs, how many blend expert and crowd, and how many use experts alone."""
    return pd.DataFrame(
        [
            ("Expert majority and crowd share (0.6 · expert + 0.4 · crowd)", report.with_crowd),
            ("Expert majority only (no crowd votes for the pair)", report.expert_only),
        ],
        columns=["Target", "Pairs"],
    )


AGREEMENT_ANY = "Any"
AGREEMENT_ALL = "All 3 agree"
AGREEMENT_TWO = "2 of 3 agree"
AGREEMENT_CHOICES = (AGREEMENT_ANY, AGREEMENT_ALL, AGREEMENT_TWO)
VOTE_LABELS = {
    1: "1 · no match",
    2: "2 · major errors",
    3: "3 · minor errors",
    4: "4 · full match",
}


def agreement(table: pd.DataFrame) -> pd.Series:
    """How many of the three experts gave the majority score (3 or 2)."""
    votes = table[["expert_1", "expert_2", "expert_3"]]
    return votes.eq(table["expert_majority"], axis=0).sum(axis=1).astype(int)


def filter_pairs(
    table: pd.DataFrame,
    text: str = "",
    votes: Iterable[int] | None = None,
    agreement_level: str = AGREEMENT_ANY,
) -> pd.DataFrame:
    """Rows of load_relevance's table that match every filter given.

    text: case-insensitive words that must all appear in the query text (or the image name);
    votes: majority votes to keep (None or empty keeps all);
    agreement_level: one of AGREEMENT_CHOICES.
    """
    if agreement_level not in AGREEMENT_CHOICES:
        raise ValueError(f"agreement_level must be one of {', '.join(AGREEMENT_CHOICES)}")
    mask = pd.Series(True, index=table.index)
    haystack = (table["query_text"].astype(str) + " " + table["image"].astype(str)).str.lower()
    for word in str(text or "").lower().split():
        mask &= haystack.str.contains(word, regex=False)
    chosen = {int(v) for v in votes} if votes is not None else set()
    if chosen:
        mask &= table["expert_majority"].astype(int).isin(chosen)
    if agreement_level != AGREEMENT_ANY:
        need = 3 if agreement_level == AGREEMENT_ALL else 2
        mask &= agreement(table).eq(need)
    return table[mask]


ORDER_SHUFFLED = "Shuffled"
ORDER_TARGET_DESC = "Target: high to low"
ORDER_TARGET_ASC = "Target: low to high"
ORDER_PHOTO = "Photo name"
ORDER_CHOICES = (ORDER_SHUFFLED, ORDER_TARGET_DESC, ORDER_TARGET_ASC, ORDER_PHOTO)


def sort_pairs(table: pd.DataFrame, order: str = ORDER_SHUFFLED, seed: int = 0) -> pd.DataFrame:
    """The pairs in the order to browse them; 'Shuffled' is the same every time for a seed."""
    if order == ORDER_SHUFFLED:
        return table.sample(frac=1.0, random_state=seed)
    if order == ORDER_TARGET_DESC:
        return table.sort_values(["target", "image"], ascending=[False, True], kind="stable")
    if order == ORDER_TARGET_ASC:
        return table.sort_values(["target", "image"], kind="stable")
    if order == ORDER_PHOTO:
        return table.sort_values(["image", "query_id"], kind="stable")
    raise ValueError(f"order must be one of {', '.join(ORDER_CHOICES)}")


def cleared_photos(settings: Settings, gallery: str = "train") -> frozenset[str]:
    """Photos of an indexed gallery that were checked and not flagged as showing a child.

    Only these may be shown outside search too; a photo that is flagged, failed to embed or
    whose gallery is not indexed yet is withheld (empty set when nothing is indexed).
    """
    from core.index import ExactIndex, IndexFileError

    try:
        index = ExactIndex.load(settings.artifacts_dir / "galleries" / f"{gallery}.npz")
    except IndexFileError:
        return frozenset()
    return frozenset(name for name, flag in zip(index.ids(), index.flags(), strict=True) if not flag)


def page_count(rows: int, per_page: int) -> int:
    return max(1, math.ceil(rows / per_page))


def page_of(table: pd.DataFrame, page: int, per_page: int) -> pd.DataFrame:
    """Rows of the 1-based page (clamped to the pages that exist)."""
    page = min(max(int(page), 1), page_count(len(table), per_page))
    return table.iloc[(page - 1) * per_page : page * per_page]


def pair_caption(row: pd.Series) -> str:
    """One line of the votes behind a pair, e.g. 'Experts 3 · 3 · 2 → 3 | crowd 0.33 | target 0.60'."""
    experts = " · ".join(str(int(row[c])) for c in ("expert_1", "expert_2", "expert_3"))
    crowd = row.get("crowd_share")
    crowd_text = "no crowd votes" if crowd is None or pd.isna(crowd) else f"crowd {float(crowd):.2f}"
    return f"Experts {experts} → {int(row['expert_majority'])} | {crowd_text} | target {row['target']:.2f}"


def explorer_table(table: pd.DataFrame) -> pd.DataFrame:
    """The columns the explorer lists, in a readable order."""
    columns = ["image", "query_text", "expert_1", "expert_2", "expert_3", "expert_majority",
               "expert_score", "crowd_share", "target", "query_id"]
    return table[[c for c in columns if c in table.columns]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Charts (plotly figures; the pages only display them)
# --------------------------------------------------------------------------------------------

PRIMARY = "#2F6F73"
ACCENT = "#E0A15E"
MUTED = "#9AA5A8"
SOFT = "#A9CBC6"
_FONT = {"family": "Source Sans Pro, Source Sans 3, DejaVu Sans, sans-serif", "size": 14}


def _layout(fig: go.Figure, title: str, height: int = 380, **kwargs: Any) -> go.Figure:
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


def votes_figure(table: pd.DataFrame) -> go.Figure:
    """Counts of each score 1..4: every single expert vote, and the majority per pair."""
    single = pd.concat([table[c] for c in ("expert_1", "expert_2", "expert_3")]).astype(int)
    single_counts = single.value_counts().reindex(range(1, 5), fill_value=0)
    majority_counts = table["expert_majority"].astype(int).value_counts().reindex(range(1, 5), fill_value=0)
    labels = [VOTE_LABELS[v].replace(" · ", "<br>", 1) for v in range(1, 5)]
    fig = go.Figure(
        [
            go.Bar(name="Every expert vote", x=labels, y=single_counts.tolist(), marker_color=SOFT),
            go.Bar(name="Majority vote per pair", x=labels, y=majority_counts.tolist(),
                   marker_color=PRIMARY),
        ]
    )
    fig.update_xaxes(tickangle=0)
    return _layout(fig, "Expert votes (1 = no match … 4 = full match)", barmode="group",
                   yaxis_title="votes")


def target_figure(table: pd.DataFrame) -> go.Figure:
    """Histogram of the combined 0..1 target, split by whether crowd votes were blended in."""
    with_crowd = table["crowd_share"].notna()
    fig = go.Figure(
        [
            go.Histogram(name="Expert + crowd", x=table.loc[with_crowd, "target"],
                         xbins={"start": 0, "end": 1.0001, "size": 0.05}, marker_color=PRIMARY),
            go.Histogram(name="Expert only", x=table.loc[~with_crowd, "target"],
                         xbins={"start": 0, "end": 1.0001, "size": 0.05}, marker_color=ACCENT),
        ]
    )
    return _layout(fig, "Combined target (0 = no match, 1 = match)", barmode="stack",
                   xaxis_title="target", yaxis_title="pairs", bargap=0.05)


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
LEGAL_LABELS = {  # key: (short label, what it measures)
    "query_recall": ("Child queries caught", "Share of child-related test queries that get the disclaimer"),
    "query_false_alarm": ("Other queries blocked", "Share of other test queries given the disclaimer"),
    "image_recall_holdout": ("Child photos flagged", "Share of holdout photos of children that are withheld"),
    "image_withheld_nonchild_holdout": (
        "Other photos withheld", "Share of holdout photos without children that are withheld anyway"
    ),
}


class MetricsMissingError(FileNotFoundError):
    """No metrics file yet; the message says which command makes it."""


class MetricsFormatError(ValueError):
    """The metrics file exists but cannot be read as the expected JSON."""


@dataclass(frozen=True)
class MetricsReport:
    relevance: pd.DataFrame  # model, label, family, rmse, rmse_std, mae, kendall_tau_c
    retrieval: pd.DataFrame  # split, label, r1, r5, r10, mrr, queries, images (R@k in %)
    legal: dict[str, float] = field(default_factory=dict)
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
    zero_shot = _number(raw.get("expert_zero_shot_kendall_tau_c"))
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    return MetricsReport(
        relevance=relevance,
        retrieval=retrieval,
        legal=legal,
        expert_zero_shot_kendall_tau_c=None if math.isnan(zero_shot) else zero_shot,
        produced=_produced(raw, path),
        config=config,
        source=str(path),
    )


def relevance_table(report: MetricsReport) -> pd.DataFrame:
    """The comparison table as shown: one row per model, rounded."""
    frame = report.relevance
    return pd.DataFrame({
        "Model": frame["label"],
        "RMSE": frame["rmse"].round(3),
        "std": frame["rmse_std"].round(3),
        "MAE": frame["mae"].round(3),
        "τc": frame["kendall_tau_c"].round(3),
    })


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
    return _layout(fig, "RMSE per model (mean ± std over 5 folds)", yaxis_title="RMSE (lower is better)",
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
    return _layout(fig, "Recall@k: described photo in the top k", barmode="group",
                   yaxis_title="recall")


def retrieval_table(report: MetricsReport) -> pd.DataFrame:
    frame = report.retrieval
    return pd.DataFrame({
        "Evaluation set": frame["label"],
        "R@1": frame["r1"].round(1),
        "R@5": frame["r5"].round(1),
        "R@10": frame["r10"].round(1),
        "MRR": frame["mrr"].round(3),
    })


def retrieval_sizes(report: MetricsReport) -> str:
    """'Practicum test: 500 descriptions of 100 photos; Holdout: ...' for what the report holds."""
    parts = []
    for row in report.retrieval.itertuples(index=False):
        if not (math.isnan(row.queries) or math.isnan(row.images)):
            parts.append(f"{row.label}: {int(row.queries):,} descriptions of {int(row.images):,} photos")
    return "; ".join(parts)


def legal_rows(report: MetricsReport) -> list[tuple[str, str, str]]:
    """(label, percentage, explanation) rows for the legal checks that the report holds."""
    rows = []
    for key, (label, meaning) in LEGAL_LABELS.items():
        if key in report.legal:
            rows.append((label, f"{report.legal[key] * 100:.1f}%", meaning))
    return rows


def upload_summary(report: dict[str, Any]) -> str:
    """One sentence on what an upload did (counts only: file names are shown as plain text)."""
    parts = [f"{report['added']} photo(s) added to the Uploads gallery"]
    if report["flagged"]:
        parts.append(f"{report['flagged']} of them hidden: they may show a child")
    if report["already_indexed"]:
        parts.append(f"{report['already_indexed']} already there")
    if report["skipped"]:
        parts.append(f"{len(report['skipped'])} skipped (not a usable image)")
    return "; ".join(parts) + ". Choose “Uploads” under Photo gallery to search them."
