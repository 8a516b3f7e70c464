"""Home: what the demo does, the dataset in figures, how to use the pages, the model in use."""

from __future__ import annotations

import streamlit as st

from pages import _language, _problems, _shared
from ui import dataset

_shared.run_through_app(__file__)
wording, text = _language.wording(), _language.texts()  # the visitor's language (ui/lang.py)
settings = _shared.settings()

st.title("With Sense")
st.markdown(text["home.intro"])
st.caption(wording.LEGAL_NOTE)

st.subheader(text["home.how"])
left, middle, right = st.columns(3)
with left, st.container(border=True):
    st.page_link("pages/search.py", label=text["home.search_link"], icon=":material/image_search:")
    st.markdown(text["home.search_what"])
with middle, st.container(border=True):
    st.page_link("pages/compare.py", label=text["home.compare_link"], icon=":material/leaderboard:")
    st.markdown(text["home.compare_what"])
with right, st.container(border=True):
    st.page_link("pages/explore.py", label=text["home.explore_link"], icon=":material/table_view:")
    st.markdown(text["home.explore_what"])

st.subheader(text["home.dataset"])
try:
    table, report = _shared.relevance(str(settings.practicum_dir))
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
else:
    figures = dataset.dataset_figures(table, report, settings.practicum_dir)
    cols = st.columns(4)
    cols[0].metric(text["home.photos"], wording.number(figures.train_photos + figures.test_photos),
                   help=text["home.photos_help"].format(train=wording.number(figures.train_photos),
                                                        test=wording.number(figures.test_photos)))
    cols[1].metric(text["home.pairs"], wording.number(figures.pairs_judged), help=text["home.pairs_help"])
    cols[2].metric(text["home.kept"], wording.number(figures.pairs_kept), help=text["home.kept_help"])
    cols[3].metric(text["home.votes"], wording.number(figures.expert_votes_kept + figures.crowd_votes_kept),
                   help=text["home.votes_help"].format(experts=wording.number(figures.expert_votes_kept),
                                                       crowd=wording.number(figures.crowd_votes_kept)))
    st.caption(text["home.dataset_note"].format(
        queries=wording.number(figures.queries), dropped=wording.number(figures.pairs_dropped),
        no_majority=wording.number(report.expert_dropped_no_majority),
        no_text=wording.number(report.pairs_without_text),
        with_crowd=wording.number(figures.pairs_with_crowd)))

st.subheader(text["home.model"])
try:
    with st.spinner(text["load.model"]):
        gallery = wording.default_gallery(_shared.list_galleries(settings)) or "test"
        service = _shared.search_service(settings, gallery)
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
else:
    facts = wording.model_facts(service.bundle)
    # A static table (key-value facts): long values wrap instead of being cut in a narrow window.
    st.table(
        {text["home.property"]: [label for label, _ in facts],
         text["home.value"]: [wording.escape_markdown(value) for _, value in facts]},  # cells are Markdown
        hide_index=True,
    )
