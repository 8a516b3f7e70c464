"""Dataset explorer: the judged training pairs, their votes and targets, with filters."""

from __future__ import annotations

import streamlit as st

from pages import _language, _problems, _shared
from ui import charts, dataset

_shared.run_through_app(__file__)
wording, text = _language.wording(), _language.texts()  # the visitor's language (ui/lang.py)
PER_PAGE = 8
COLUMNS = 4

settings = _shared.settings()

st.title(text["explore.title"])
st.markdown(text["explore.intro"])

try:
    table, report = _shared.relevance(str(settings.practicum_dir))
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
    st.stop()

text_col, vote_col, agree_col = st.columns([5, 5, 6], vertical_alignment="bottom")
contains = text_col.text_input(text["explore.text"], key="explore_text",
                               placeholder=text["explore.text_placeholder"])
votes = vote_col.multiselect(
    text["explore.votes"], list(dataset.VOTE_LABELS), key="explore_votes",
    format_func=lambda vote: text[f"vote.{vote}"], placeholder=text["explore.votes_placeholder"],
)
agreement = agree_col.segmented_control(
    text["explore.agreement"], dataset.AGREEMENT_CHOICES, default=dataset.AGREEMENT_ANY, key="explore_agree",
    format_func=lambda choice: text[f"choice.{choice}"],
)

shown = dataset.filter_pairs(table, contains, votes, agreement or dataset.AGREEMENT_ANY)
st.caption(text["explore.matching"].format(shown=wording.number(len(shown)),
                                           total=wording.number(len(table))))

if shown.empty:
    st.info(text["explore.none"], icon=":material/filter_alt_off:")
else:
    photos_tab, table_tab = st.tabs([text["explore.photos"], text["explore.table"]])
    with photos_tab:
        cleared = _shared.cleared_photos(settings, "train")
        if not cleared:
            st.info(text["explore.untrained"].format(command=wording.TRAIN_COMMAND), icon=":material/gavel:")
        pages = dataset.page_count(len(shown), PER_PAGE)
        order_col, page_col = st.columns([2, 1])
        order = order_col.selectbox(text["explore.order"], dataset.ORDER_CHOICES, key="explore_order",
                                format_func=lambda choice: text[f"choice.{choice}"])
        page = page_col.number_input(text["explore.page"].format(pages=wording.number(pages)), min_value=1,
                                     max_value=pages, value=1, key="explore_page")
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
                    st.caption(dataset.pair_caption(row, text))
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

    st.subheader(text["explore.charts"])
    hist_votes, hist_target = st.columns(2)
    hist_votes.plotly_chart(charts.votes_figure(shown, text), key="votes_chart")
    hist_target.plotly_chart(charts.target_figure(shown, text), key="target_chart")

st.subheader(text["explore.dropped"])
drop_col, mix_col = st.columns(2)
with drop_col:
    st.caption(text["explore.kept"].format(pairs=wording.number(report.expert_pairs),
                                           kept=wording.number(len(table))))
    st.dataframe(dataset.drop_reasons(report, text), hide_index=True)
with mix_col:
    st.caption(text["explore.crowd"].format(pairs=wording.number(report.crowd_pairs)))
    st.dataframe(dataset.target_composition(report, text), hide_index=True)
