"""Dataset explorer: the judged training pairs, their votes and targets, with filters."""

from __future__ import annotations

import streamlit as st

from pages import _problems, _shared
from ui import charts, dataset, wording

_shared.run_through_app(__file__)
PER_PAGE = 8
COLUMNS = 4

settings = _shared.settings()

st.title("Dataset explorer")
st.markdown(
    "Each training pair is a query and a photo, scored 1–4 by three experts and yes/no by crowd "
    "workers. The target the models learn is 0.6 × the expert majority (mapped to 0–1) + 0.4 × the "
    "crowd's share of *yes*, or the expert score alone where no crowd votes exist."
)

try:
    table, report = _shared.relevance(str(settings.practicum_dir))
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
    st.stop()

text_col, vote_col, agree_col = st.columns([5, 5, 6], vertical_alignment="bottom")
text = text_col.text_input("Query text contains", key="explore_text", placeholder="e.g. dog beach")
votes = vote_col.multiselect(
    "Expert majority vote", list(dataset.VOTE_LABELS), key="explore_votes",
    format_func=dataset.VOTE_LABELS.get, placeholder="All votes",
)
agreement = agree_col.segmented_control(
    "Expert agreement", dataset.AGREEMENT_CHOICES, default=dataset.AGREEMENT_ANY, key="explore_agree",
)

shown = dataset.filter_pairs(table, text, votes, agreement or dataset.AGREEMENT_ANY)
st.caption(f"{len(shown):,} of {len(table):,} pairs match.")

if shown.empty:
    st.info("No pair matches these filters.", icon=":material/filter_alt_off:")
else:
    photos_tab, table_tab = st.tabs(["Photos", "Table"])
    with photos_tab:
        cleared = _shared.cleared_photos(settings, "train")
        if not cleared:
            st.info("Photos appear here once the model is trained: each photo is first checked for "
                    f"children. Build the model with `{wording.TRAIN_COMMAND}`.", icon=":material/gavel:")
        pages = dataset.page_count(len(shown), PER_PAGE)
        order_col, page_col = st.columns([2, 1])
        order = order_col.selectbox("Order", dataset.ORDER_CHOICES, key="explore_order")
        page = page_col.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1,
                                     key="explore_page")
        rows = dataset.page_of(dataset.sort_pairs(shown, order), int(page), PER_PAGE)
        for start in range(0, len(rows), COLUMNS):
            cols = st.columns(COLUMNS)
            for col, (_, row) in zip(cols, rows.iloc[start : start + COLUMNS].iterrows(), strict=False):
                with col, st.container(border=True):
                    if row["image"] in cleared:
                        photo = _shared.photo_bytes(settings.practicum_dir / "train_images" / row["image"])
                        if photo is not None:
                            st.image(photo, width="stretch")
                    elif cleared:
                        st.caption(wording.WITHHELD_PHOTO)
                    st.text(row["query_text"])  # a person's description: plain text
                    st.caption(dataset.pair_caption(row))
    with table_tab:
        st.dataframe(
            dataset.explorer_table(shown),
            hide_index=True,
            column_config={
                "expert_score": st.column_config.NumberColumn(format="%.2f"),
                "crowd_share": st.column_config.NumberColumn(format="%.2f"),
                "target": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
            },
        )

    st.subheader("Votes and targets")
    hist_votes, hist_target = st.columns(2)
    hist_votes.plotly_chart(charts.votes_figure(shown), key="votes_chart")
    hist_target.plotly_chart(charts.target_figure(shown), key="target_chart")

st.subheader("What aggregation dropped")
drop_col, mix_col = st.columns(2)
with drop_col:
    st.caption(f"Of {report.expert_pairs:,} expert-judged pairs, {len(table):,} were kept.")
    st.dataframe(dataset.drop_reasons(report), hide_index=True)
with mix_col:
    st.caption(f"Crowd file: {report.crowd_pairs:,} pairs rated.")
    st.dataframe(dataset.target_composition(report), hide_index=True)
