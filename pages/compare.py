"""Model comparison: RMSE with error bars, MAE and Kendall tau-c, search recall, legal checks."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.measure.reports import PROVENANCE as PROVENANCE_KEYS
from core.measure.reports import provenance
from pages import _language, _problems, _reports, _shared
from ui import charts

_shared.run_through_app(__file__)
wording, text = _language.wording(), _language.texts()  # the visitor's language (ui/lang.py)
settings = _shared.settings()

st.title(text["compare.title"])
st.markdown(text["compare.intro"])

try:
    report = _reports.metrics_report(settings.metrics_path)
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
    st.stop()

source = wording.escape_markdown(wording.project_path(report.source))
st.caption(text["compare.produced"].format(produced=report.produced, source=source))

def chart_beside_table(figure: Any, table: Any, key: str) -> Any:
    """A chart on the left, its table on the right; returns the table's column for captions."""
    chart_col, table_col = st.columns(2)
    chart_col.plotly_chart(figure, key=key)
    _reports.figures_table(table, table_col)
    return table_col


st.subheader(text["compare.linear"])
verdict = charts.linear_vs_neural(report, text)
if verdict:
    st.success(verdict, icon=":material/balance:")
if report.relevance.empty:
    st.info(text["compare.no_relevance"])
else:
    table_col = chart_beside_table(charts.rmse_figure(report, text), charts.relevance_table(report, text),
                                   "rmse_chart")
    with table_col:
        if report.expert_zero_shot_kendall_tau_c is not None:
            st.caption(
                text["compare.zero_shot"].format(tau=f"{report.expert_zero_shot_kendall_tau_c:.3f}")
                + wording.provenance("expert_zero_shot_kendall_tau_c")
            )
        st.caption(text["compare.rmse_note"] + wording.provenance("relevance"))

st.subheader(text["compare.search"])
if report.retrieval.empty:
    st.info(text["compare.no_retrieval"])
else:
    table_col = chart_beside_table(charts.retrieval_figure(report, text),
                                   charts.retrieval_table(report, text), "retrieval_chart")
    with table_col:
        st.caption(text["compare.recall_note"] + wording.retrieval_provenance(report))
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

st.subheader(text["compare.encoders"])
encoders = _reports.ablation(settings)
if encoders.empty:
    st.info(text["compare.no_encoders"])
else:
    _reports.wide_figures_table(charts.ablation_table(encoders), label="row")
    st.caption(text["compare.encoders_note"])

legal = wording.legal_rows(report)
if legal:
    st.subheader(text["compare.legal"])
    cols = st.columns(len(legal))
    for col, (label, value, meaning) in zip(cols, legal, strict=True):
        col.metric(label, value, help=meaning)
    st.caption(" ".join(wording.provenance(kind) for kind in ("legal.query", "legal.image_holdout")))
    if not report.child_shifts.empty:
        _reports.figures_table(charts.child_shift_table(report))
        st.caption(text["compare.shifts_note"] + wording.provenance("legal.image_shifts"))
    if not report.child_classifiers.empty:
        _reports.figures_table(charts.child_classifier_table(report))
        st.caption(text["compare.classifiers_note"] + wording.provenance("legal.classifiers"))

if report.config:
    with st.expander(text["compare.settings"]):
        st.json(report.config)
