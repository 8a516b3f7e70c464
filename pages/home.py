"""Home: what the demo does, the dataset in figures, how to use the pages, the model in use."""

from __future__ import annotations

import streamlit as st

from pages import _problems, _shared
from ui import dataset, wording

_shared.run_through_app(__file__)
settings = _shared.settings()

st.title("With Sense")
st.markdown(
    "Describe a scene in plain English and With Sense finds the photos that match it, each with a "
    "0–1 relevance score. Behind it is a two-tower model that places sentences and photos in one "
    "space, trained on Flickr8k captions and calibrated on expert and crowd judgements."
)
st.caption(wording.LEGAL_NOTE)

st.subheader("How to use this demo")
left, middle, right = st.columns(3)
with left, st.container(border=True):
    st.page_link("pages/search.py", label="**Search**", icon=":material/image_search:")
    st.markdown("Type a description or pick an example; choose the photo gallery and how many "
                "results to show.")
with middle, st.container(border=True):
    st.page_link("pages/compare.py", label="**Model comparison**", icon=":material/leaderboard:")
    st.markdown("Linear regression vs neural networks: RMSE with error bars over five splits, "
                "and search recall.")
with right, st.container(border=True):
    st.page_link("pages/explore.py", label="**Dataset explorer**", icon=":material/table_view:")
    st.markdown("Browse the judged query–photo pairs, their expert and crowd votes and the "
                "training target.")

st.subheader("The dataset")
try:
    table, report = _shared.relevance(str(settings.practicum_dir))
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
else:
    figures = dataset.dataset_figures(table, report, settings.practicum_dir)
    cols = st.columns(4)
    cols[0].metric("Photos", f"{figures.train_photos + figures.test_photos:,}",
                   help=f"{figures.train_photos:,} training photos and {figures.test_photos:,} test photos")
    cols[1].metric("Query–photo pairs judged", f"{figures.pairs_judged:,}",
                   help="Pairs scored 1–4 by three experts each")
    cols[2].metric("Pairs kept after aggregation", f"{figures.pairs_kept:,}",
                   help="Pairs where at least two of the three experts agree, with a known query text")
    cols[3].metric("Votes kept", f"{figures.expert_votes_kept + figures.crowd_votes_kept:,}",
                   help=f"{figures.expert_votes_kept:,} expert votes and {figures.crowd_votes_kept:,} "
                        "crowd votes behind the kept pairs")
    st.caption(
        f"{figures.queries:,} distinct queries. {figures.pairs_dropped:,} pairs were dropped "
        f"({report.expert_dropped_no_majority:,} without an expert majority, "
        f"{report.pairs_without_text:,} without query text); {figures.pairs_with_crowd:,} of the kept "
        "pairs also have crowd votes. See the Dataset explorer for details."
    )

st.subheader("The model in use")
try:
    with st.spinner("Loading the model…"):
        gallery = wording.default_gallery(_shared.list_galleries(settings)) or "test"
        service = _shared.search_service(settings, gallery)
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
else:
    facts = wording.model_facts(service.bundle)
    # A static table (key-value facts): long values wrap instead of being cut in a narrow window.
    st.table(
        {"Property": [label for label, _ in facts],
         "Value": [wording.escape_markdown(value) for _, value in facts]},  # cells are Markdown
        hide_index=True,
    )
