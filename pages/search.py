"""Search: a description or a photo in, a grid of matching photos out, with their scores, their
details from the dataset, a link that reproduces the search and the list as CSV."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.foundation.images import ACCEPTED_NAMES, MAX_IMAGE_BYTES, UPLOAD_TYPES
from core.gallery.visitors import MY_UPLOADS
from pages import _problems, _shared
from ui import dataset, links, wording

_shared.run_through_app(__file__)
COLUMNS = 4
UPLOAD = "upload"  # a third mode beside links.TEXT and links.LIKE: a photo of one's own, never in a link
FILE_MB = MAX_IMAGE_BYTES // 2**20  # the uploader refuses a larger file before it is sent
ADDED = "uploads_added"  # what the last "Add to your uploads" did, shown after the page reruns

settings = _shared.settings()
# A link opened (query parameters) seeds the widgets before they exist; its bad values are shown.
link_problems = _shared.open_search_link(
    settings,
    {"mode": "mode", "query": "query", "photo": "like_photo", "gallery": "gallery", "top_k": "top_k"},
)
st.session_state.setdefault("query", "")
st.session_state.setdefault("mode", links.TEXT)


def use_example(text: str) -> None:
    st.session_state["query"] = text
    st.session_state["mode"] = links.TEXT


def use_text() -> None:
    st.session_state["mode"] = links.TEXT


def use_like(image: str) -> None:
    st.session_state["mode"] = links.LIKE
    st.session_state["like_photo"] = image


def use_upload() -> None:
    st.session_state["mode"] = UPLOAD if st.session_state.get("query_photo") else links.TEXT


def leave_like() -> None:
    """A gallery's look-alikes are of one of its photos: another gallery starts a text search."""
    if st.session_state["mode"] == links.LIKE:
        st.session_state["mode"] = links.TEXT


def show_details(path: Path, query: str | None, facts: list[str]) -> None:
    """What the camera and the photographer recorded (``facts``, plain text), then what the
    dataset says of a result: its captions, the votes on this query-photo pair (a text search's
    `query`) and the other queries judged against it."""
    if facts:
        st.caption("Recorded with the photo:")
        st.text("\n".join(facts))  # a person's words: plain
    try:
        details = _shared.photo_details(settings, path)
    except _problems.EXPECTED_ERRORS as exc:
        _problems.show_problem(exc)
        return
    if not details.source:
        st.caption("Not a dataset photo: no captions or votes.")
        return
    st.caption(f"From the {details.source} photos. Captions:")
    st.text("\n".join(f"• {c}" for c in details.captions) or "No captions.")  # a person's words: plain
    judged = details.judgement_for(query) if query is not None else None
    if judged is not None:
        st.success(f"This query–photo pair was judged: {dataset.judgement_line(judged)}",
                   icon=":material/how_to_vote:")
    elif query is not None:
        st.caption("This query–photo pair was not judged in the dataset.")
    if details.judgements:
        st.caption(f"Queries judged against this photo ({len(details.judgements)}):")
        st.dataframe(dataset.judgement_table(details), hide_index=True, height=180)


st.title("Search photos")
try:
    st.caption(_shared.market_line(settings))
except _problems.EXPECTED_ERRORS as exc:  # a bad WITHSENSE_MARKET: every search would fail
    _problems.show_problem(exc)
    st.stop()
if link_problems:  # each names what the link held: plain text
    st.warning(wording.LINK_SET_ASIDE, icon=":material/link_off:")
    for problem in link_problems:
        st.text(problem)

query_col, gallery_col, k_col = st.columns([6, 2, 1.4], vertical_alignment="bottom")  # K shows 2 digits
with query_col:  # first, so it can be typed in while the model loads
    query = st.text_input(
        "Describe the photo you are looking for, in English", key="query", on_change=use_text,
        placeholder="e.g. two dogs running on snow", help=wording.FILTER_HELP,
    )
with st.spinner("Loading the search engine…"):
    galleries = _shared.search_galleries(settings)
    default_k, max_k = _shared.top_k_range()
with gallery_col:
    options = galleries or ["test"]
    if st.session_state.get("gallery") not in options:
        st.session_state["gallery"] = wording.default_gallery(options) or options[0]
    gallery = st.selectbox(
        "Photo gallery", options, format_func=wording.gallery_label, key="gallery", on_change=leave_like,
        help="Which indexed photos to search: all photos, the practicum test or train photos, "
             "or your own uploads (only you see them).",
    )
with k_col:
    st.session_state.setdefault("top_k", default_k)
    top_k = st.number_input("Top K", min_value=1, max_value=max_k, step=1, key="top_k",
                            help="How many photos to show")

example_cols = st.columns([1] * len(wording.EXAMPLE_QUERIES) + [1], vertical_alignment="center")
for i, (col, example) in enumerate(zip(example_cols, wording.EXAMPLE_QUERIES, strict=False)):
    col.button(example, key=f"example_{i}", on_click=use_example, args=(example,),
               icon=":material/bolt:", width="stretch", type="tertiary", help=f"Search for “{example}”")
searched = example_cols[-1].button("Search", key="search", type="primary", icon=":material/search:",
                                   width="stretch", on_click=use_text)

with st.expander("Search with a photo of your own", icon=":material/image_search:"):
    st.file_uploader(f"A photo ({ACCEPTED_NAMES}): find the gallery's photos that look like it",
                     type=UPLOAD_TYPES, key="query_photo", on_change=use_upload, max_upload_size=FILE_MB)

with st.expander("Add your own photos", icon=":material/add_photo_alternate:"):
    st.caption(wording.uploads_note(settings.upload_ttl_hours, settings.upload_max_photos,
                                    settings.upload_max_mb, FILE_MB, ACCEPTED_NAMES))
    files = st.file_uploader(f"Photos ({ACCEPTED_NAMES})", type=UPLOAD_TYPES, accept_multiple_files=True,
                             key="upload_files", max_upload_size=FILE_MB)
    description = st.text_area("What these photos show (optional): kept with each photo, and a child "
                               "it names withholds the photo where the law asks", key="upload_description",
                               max_chars=2000)
    consent = st.checkbox("I hold the consent of the parents or guardians of any child shown",
                          key="upload_consent", help="Recorded with each photo; honoured only in markets "
                          "whose law lets a parental consent release a photo.")
    if files and st.button("Add to your uploads", key="add_uploads", icon=":material/upload:"):
        bar = st.progress(0.0, text="Checking and encoding photos…")
        done = [0]

        def advance(count: int) -> None:
            done[0] += count
            bar.progress(min(1.0, done[0] / len(files)), text=f"Encoded {done[0]} of {len(files)}")

        try:
            report = _shared.add_uploads(settings, [(f.name, f.getvalue()) for f in files], advance,
                                         description, consent)
        except _problems.EXPECTED_ERRORS as exc:
            _problems.show_problem(exc)
        else:
            st.session_state[ADDED] = report.to_json()
            if report.total and MY_UPLOADS not in options:
                st.rerun()  # once more, so the gallery list offers "Your uploads" at once
    added = st.session_state.pop(ADDED, None)
    if added is not None:
        st.success(wording.upload_summary(added), icon=":material/check_circle:")
        for name, reason in added["skipped"].items():
            st.text(f"Skipped {name}: {reason}")  # a file's name: plain text

mode = st.session_state["mode"]
upload = st.session_state.get("query_photo")
if mode == UPLOAD and upload is None:
    mode = links.TEXT
like_photo = str(st.session_state.get("like_photo") or "")
if mode == links.TEXT and (query or searched):
    link: links.SearchLink | None = links.SearchLink(links.TEXT, query, "", gallery, int(top_k))
elif mode == links.LIKE:
    link = links.SearchLink(links.LIKE, "", like_photo, gallery, int(top_k))
else:
    link = None
share_url = _shared.keep_search_link(link)
st.caption(wording.SCORE_LEGEND if mode == links.TEXT else wording.SIMILARITY_LEGEND)

try:  # the first visit loads the model and the index (seconds); later ones find them cached
    service = _shared.search_service(settings, _shared.gallery_searched(settings, gallery))
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
    st.stop()

if mode == links.TEXT and not query and not searched:
    st.info("Type a description above, pick one of the examples, or search with a photo.",
            icon=":material/lightbulb:")
    st.stop()

try:
    if mode == links.TEXT:
        response = service.search(query, int(top_k))
    else:
        response = service.search_like(upload.getvalue() if mode == UPLOAD else like_photo, int(top_k))
except _problems.EXPECTED_ERRORS as exc:
    _problems.show_problem(exc)
    st.stop()

heading_col, took_col = st.columns([3, 2], vertical_alignment="bottom")
if mode == links.TEXT:
    heading_col.text(wording.results_for(response.query))  # the query, as typed: plain text
else:
    with heading_col:
        gallery_photo = service.gallery.path_of(like_photo)
        thumb = (_shared.upload_thumbnail(upload.getvalue()) if mode == UPLOAD
                 else _shared.photo_bytes(gallery_photo))
        photo_col, text_col = st.columns([1, 4], vertical_alignment="center")
        if thumb is not None and not response.disclaimer:  # a child's photo is not shown back either
            photo_col.image(thumb, width="stretch", alt="Query photo")
        text_col.text(wording.photos_like(response.query))
        text_col.button("Back to text search", key="back_to_text", on_click=use_text,
                        icon=":material/arrow_back:", type="tertiary")
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

link_col, csv_col = st.columns([3, 2], vertical_alignment="center")
with link_col.popover("Copy link", icon=":material/link:"):
    if share_url is None:
        st.caption(wording.LINK_UNAVAILABLE)
    else:
        st.caption("This address reopens the same search (copy button on the right):")
        st.code(share_url, language=None, wrap_lines=True)
csv_col.download_button("Download results (CSV)", response.to_csv(), file_name="withsense-results.csv",
                        mime="text/csv", key="download_csv", icon=":material/download:", width="stretch")
explain = st.toggle("Why this photo", key="explain", help=wording.EXPLAIN_HELP)
if explain:
    st.caption(wording.EXPLAIN_LEGEND)

for start in range(0, len(response.results), COLUMNS):
    row = st.columns(COLUMNS)
    for col, hit in zip(row, response.results[start : start + COLUMNS], strict=False):
        with col, st.container(border=True):
            why = _shared.match_thumbnail(settings, hit.path, response.vector) if explain else None
            photo = why[0] if why else _shared.photo_bytes(hit.path)
            if photo is None:
                st.warning("This photo is missing on disk.", icon=":material/broken_image:")
            else:
                st.image(photo, width="stretch", alt=f"Result {hit.rank}")
            if hit.score is None:
                st.caption(f"**#{hit.rank}** · {wording.similarity_text(hit.similarity)}")
            else:
                score = wording.format_score(hit.score)
                st.progress(float(score), text=f"**#{hit.rank}** · Score **{score}**")
            if why:
                st.caption(wording.BEST_MATCH + why[1])
            st.button("Similar photos", key=f"like_{hit.rank}", on_click=use_like, args=(hit.image,),
                      icon=":material/photo_library:", type="tertiary")
            # Lazy: a card's captions and votes are read and drawn only once it is opened (12
            # closed cards with tables made the first results paint about a second later).
            box = st.expander("Details", icon=":material/info:", key=f"details_{hit.image}",
                              on_change="rerun")
            with box:
                st.text(wording.result_line(hit.image, hit.rank, hit.score, hit.similarity))
                if box.open:
                    show_details(hit.path, response.query if mode == links.TEXT else None,
                                 _shared.photo_facts(service, hit.image))
