"""Search: a description in, a grid of matching photos with their 0..1 scores out."""

from __future__ import annotations

import streamlit as st

from pages import _shared
from ui import wording

_shared.run_through_app(__file__)
COLUMNS = 4

settings = _shared.settings()
st.session_state.setdefault("query", "")


def use_example(text: str) -> None:
    st.session_state["query"] = text


st.title("Search photos")

query_col, gallery_col, k_col = st.columns([6, 2, 1], vertical_alignment="bottom")
with query_col:  # first, so it can be typed in while the model loads
    query = st.text_input(
        "Describe the photo you are looking for, in English", key="query",
        placeholder="e.g. two dogs running on snow",
    )
with st.spinner("Loading the search engine…"):
    galleries = _shared.list_galleries(settings)
    default_k, max_k = _shared.top_k_range()
with gallery_col:
    options = galleries or ["test"]
    default = wording.default_gallery(options) or options[0]
    gallery = st.selectbox(
        "Photo gallery", options, index=options.index(default), format_func=wording.gallery_label,
        key="gallery", help="Which indexed photos to search: the practicum test or train photos.",
    )
with k_col:
    top_k = st.number_input("Top K", min_value=1, max_value=max_k, value=default_k, step=1,
                            key="top_k", help="How many photos to show")

example_cols = st.columns([1] * len(wording.EXAMPLE_QUERIES) + [1], vertical_alignment="center")
for i, (col, example) in enumerate(zip(example_cols, wording.EXAMPLE_QUERIES, strict=False)):
    col.button(example, key=f"example_{i}", on_click=use_example, args=(example,),
               icon=":material/bolt:", width="stretch", type="tertiary", help=f"Search for “{example}”")
searched = example_cols[-1].button("Search", key="search", type="primary", icon=":material/search:",
                                   width="stretch")

with st.expander("Add your own photos", icon=":material/add_photo_alternate:"):
    files = st.file_uploader("JPEG, PNG or WebP photos", type=["jpg", "jpeg", "png", "webp"],
                             accept_multiple_files=True, key="upload_files")
    if files and st.button("Add to the Uploads gallery", key="add_uploads", icon=":material/upload:"):
        bar = st.progress(0.0, text="Checking and encoding photos…")
        done = [0]

        def advance(count: int) -> None:
            done[0] += count
            bar.progress(min(1.0, done[0] / len(files)), text=f"Encoded {done[0]} of {len(files)}")

        try:
            report = _shared.add_uploads(settings, [(f.name, f.getvalue()) for f in files], advance)
        except _shared.EXPECTED_ERRORS as exc:
            _shared.show_problem(exc)
        else:
            bar.progress(1.0, text="Done")
            st.success(wording.upload_summary(report.to_json()), icon=":material/check_circle:")
            for skipped in report.skipped:
                st.text(f"Skipped {skipped.name}: {skipped.reason}")

st.caption(wording.SCORE_LEGEND)

try:  # the first visit loads the model and the index (seconds); later ones find them cached
    service = _shared.search_service(settings, gallery)
except _shared.EXPECTED_ERRORS as exc:
    _shared.show_problem(exc)
    st.stop()

if not query and not searched:
    st.info("Type a description above, or pick one of the examples.", icon=":material/lightbulb:")
    st.stop()

try:
    response = service.search(query, int(top_k))
except _shared.EXPECTED_ERRORS as exc:
    _shared.show_problem(exc)
    st.stop()

heading_col, took_col = st.columns([3, 2], vertical_alignment="bottom")
heading_col.markdown(f"Results for **{wording.escape_markdown(response.query)}**")
shown = None if response.disclaimer else len(response.results)
took_col.caption(wording.took_note(response.took_ms, shown, len(service.gallery.index)),
                 text_alignment="right")

if response.disclaimer:
    st.warning(response.disclaimer, icon=":material/gavel:")
    st.stop()

note = wording.withheld_note(response.withheld, int(top_k))
if note:
    st.info(note, icon=":material/gavel:")

if not response.results:
    st.info("No photos to show for this search.")
    st.stop()

for start in range(0, len(response.results), COLUMNS):
    row = st.columns(COLUMNS)
    for col, hit in zip(row, response.results[start : start + COLUMNS], strict=False):
        with col, st.container(border=True):
            photo = _shared.photo_bytes(hit.path)
            if photo is None:
                st.warning(f"Photo {wording.escape_markdown(hit.image)} is missing on disk.")
            else:
                st.image(photo, width="stretch", alt=f"Result {hit.rank}")
            score = wording.format_score(hit.score)
            st.progress(float(score), text=f"**#{hit.rank}** · Score **{score}**")
