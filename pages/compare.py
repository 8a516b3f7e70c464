"""Model comparison: RMSE with error bars, MAE and Kendall tau-c, search recall, legal checks."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.measure.reports import PROVENANCE as PROVENANCE_KEYS
from core.measure.reports import provenance
from pages import _problems, _reports, _shared
from ui import charts, wording

_shared.run_through_app(__file__)
settings = _shared.settings()

st.title("Model comparison")
st.markdown(
    "Which model predicts best how well a photo matches a description? Each model is fitted on "
    "four fifths of the practicum photos and scored on the rest, over five random splits (no photo "
    "is on both sides of a split, but one photo can be tested in several); bars show the mean and "
    "the error bars the spread across splits. Each figure says whether it is **clean** (it never "
    "guided a choice) or a **selection** figure (it guided one, so it flatters what it chose)."
)

try:
    report = _reports.metrics_report(settings.metrics_path)
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
    st.stop()

source = wording.escape_markdown(wording.project_path(report.source))
st.caption(f"Metrics produced {report.produced} · {source}")

def chart_beside_table(figure: Any, table: Any, key: str) -> Any:
    """A chart on the left, its table on the right; returns the table's column for captions."""
    chart_col, table_col = st.columns(2)
    chart_col.plotly_chart(figure, key=key)
    _reports.figures_table(table, table_col)
    return table_col


st.subheader("Linear regression vs neural network")
verdict = charts.linear_vs_neural(report)
if verdict:
    st.success(verdict, icon=":material/balance:")
if report.relevance.empty:
    st.info("This metrics file has no relevance results; rerun the evaluation to add them.")
else:
    table_col = chart_beside_table(charts.rmse_figure(report), charts.relevance_table(report), "rmse_chart")
    with table_col:
        if report.expert_zero_shot_kendall_tau_c is not None:
            st.caption(
                "Zero-shot reference: the two-tower similarity, trained on captions only (no expert "
                f"data), agrees with the mean expert score at Kendall tau-c "
                f"{report.expert_zero_shot_kendall_tau_c:.3f}. "
                + provenance("expert_zero_shot_kendall_tau_c")
            )
        st.caption("RMSE and MAE on the 0–1 target (lower is better); std: spread of the RMSE over "
                   "the 5 splits; τc: Kendall tau-c rank agreement with the target (higher is better). "
                   + provenance("relevance"))

st.subheader("Search quality")
if report.retrieval.empty:
    st.info("This metrics file has no retrieval results; rerun the evaluation to add them.")
else:
    table_col = chart_beside_table(charts.retrieval_figure(report), charts.retrieval_table(report),
                                   "retrieval_chart")
    with table_col:
        st.caption("R@k (%): share of descriptions whose own photo is among the first k results; "
                   "MRR: mean reciprocal rank of that photo. " + wording.retrieval_provenance(report))
        sizes = wording.retrieval_sizes(report)
        if sizes:
            st.caption(sizes + ".")

if not report.hybrid.empty:
    st.subheader("Search by descriptions (simulated)")
    _reports.wide_figures_table(charts.hybrid_table(report), label="Set")
    st.caption("No photo in our data has a photographer's description, so this is simulated: each "
               "photo's first caption stands in for its description and its other four captions are "
               "the queries, with descriptions on every photo or on a fixed 30% of them. Words: "
               "descriptions alone (BM25 over lemmas); hybrid: vision and words fused. "
               + provenance("hybrid_simulated.selection") + " "
               + provenance("hybrid_simulated.holdout"))

russian = charts.russian_table(report)
if not russian.empty:
    st.subheader("Russian queries")
    _reports.figures_table(russian)
    st.caption("The same captions and photos searched in English (the English text side) and in "
               "Russian (the project's own hand translations, through multilingual-e5-small and the "
               "Russian student). " + " ".join(provenance(f"russian.{split}") for split in report.russian
                                              if f"russian.{split}" in PROVENANCE_KEYS))

st.subheader("Encoders: frozen, joined and fine-tuned on captions")
encoders = _reports.ablation(settings)
if encoders.empty:
    st.info("No encoder comparison yet; each row is made by `python -m lab ablate LABEL`.")
else:
    _reports.wide_figures_table(charts.ablation_table(encoders), label="row")
    st.caption("Each row measured the same way on training data only (retrieval over 1,000 held-out "
               "extra-corpus photos and over the practicum test photos, CV RMSE over 5 splits, zero-shot "
               "tau-c, the child head's out-of-sample figures, indexing speed on 2 CPU cores). These are "
               "selection figures: they chose the encoders in use; holdout, above, was read once for "
               "the chosen ones.")

legal = wording.legal_rows(report)
if legal:
    st.subheader("Legal checks")
    cols = st.columns(len(legal))
    for col, (label, value, meaning) in zip(cols, legal, strict=True):
        col.metric(label, value, help=meaning)
    st.caption(" ".join(provenance(kind) for kind in ("legal.query", "legal.image_holdout")))
    if not report.child_shifts.empty:
        _reports.figures_table(charts.child_shift_table(report))
        st.caption("The child check on holdout photos changed the way a host's photos differ from the "
                   "training copies, one shift at a time. " + provenance("legal.image_shifts"))
    if not report.child_classifiers.empty:
        _reports.figures_table(charts.child_classifier_table(report))
        st.caption("Child-photo classifiers compared on training photos only (out of fold), each at the "
                   "threshold it chose for recall ≥ 0.98 at 95% confidence: the first is in use. "
                   + provenance("legal.classifiers"))

if report.config:
    with st.expander("Evaluation settings"):
        st.json(report.config)
