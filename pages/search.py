"""Search: a description or a photo in, a grid of matching photos out, with their scores, their
details from the dataset, a link that reproduces the search and the list as CSV."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.foundation.images import ACCEPTED_NAMES, MAX_IMAGE_BYTES, UPLOAD_TYPES
from core.gallery.visitors import MY_UPLOADS
from pages import _language, _problems, _shared
from ui import dataset, links

_shared.run_through_app(__file__)
wording, text = _language.wording(), _language.texts()  # the visitor's language (ui/lang.py)
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
        st.caption(text["details.recorded"])
        st.text("\n".join(facts))  # a person's words: plain
    try:
        details = _shared.photo_details(settings, path)
    except _problems.EXPECTED_ERRORS as exc:
        _problems.show_problem(exc)
        return
    if not details.source:
        st.caption(text["details.not_dataset"])
        return
    st.caption(text["details.source"].format(source=wording.source_label(details.source)))
    # a person's words: plain text
    st.text("\n".join(f"• {c}" for c in details.captions) or text["details.no_captions"])
    judged = details.judgement_for(query) if query is not None else None
    if judged is not None:
        st.success(text["details.judged"].format(votes=dataset.judgement_line(judged, text)),
                   icon=":material/how_to_vote:")
    elif query is not None:
        st.caption(text["details.not_judged"])
    if details.judgements:
        st.caption(text["details.others"].format(count=len(details.judgements)))
        st.dataframe(dataset.judgement_table(details, text), hide_index=True, height=180)


st.title(text["search.title"])
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
        text["search.query"], key="query", on_change=use_text, placeholder=text["search.placeholder"],
        help=text["search.filter_help"],
    )
with st.spinner(text["load.engine"]):
    galleries = _shared.search_galleries(settings)
    default_k, max_k = _shared.top_k_range()
with gallery_col:
    options = galleries or ["test"]
    if st.session_state.get("gallery") not in options:
        st.session_state["gallery"] = wording.default_gallery(options) or options[0]
    gallery = st.selectbox(
        text["search.gallery"], options, format_func=wording.gallery_label, key="gallery",
        on_change=leave_like, help=text["search.gallery_help"],
    )
with k_col:
    st.session_state.setdefault("top_k", default_k)
    top_k = st.number_input(text["search.top_k"], min_value=1, max_value=max_k, step=1, key="top_k",
                            help=text["search.top_k_help"])

example_cols = st.columns([1] * len(wording.EXAMPLE_QUERIES) + [1], vertical_alignment="center")
for i, (col, example) in enumerate(zip(example_cols, wording.EXAMPLE_QUERIES, strict=False)):
    col.button(example, key=f"example_{i}", on_click=use_example, args=(example,),
               icon=":material/bolt:", width="stretch", type="tertiary",
               help=text["search.example_help"].format(example=example))
searched = example_cols[-1].button(text["search.button"], key="search", type="primary",
                                   icon=":material/search:", width="stretch", on_click=use_text)

with st.expander(text["search.by_photo"], icon=":material/image_search:"):
    st.file_uploader(text["search.by_photo_label"].format(formats=ACCEPTED_NAMES),
                     type=UPLOAD_TYPES, key="query_photo", on_change=use_upload, max_upload_size=FILE_MB)

with st.expander(text["search.add"], icon=":material/add_photo_alternate:"):
    st.caption(text["search.uploads_note"].format(
        hours=settings.upload_ttl_hours, photos=settings.upload_max_photos, mb=settings.upload_max_mb,
        file_mb=FILE_MB, formats=ACCEPTED_NAMES))
    files = st.file_uploader(text["search.add_label"].format(formats=ACCEPTED_NAMES), type=UPLOAD_TYPES,
                             accept_multiple_files=True, key="upload_files", max_upload_size=FILE_MB)
    description = st.text_area(text["search.description"], key="upload_description", max_chars=2000)
    consent = st.checkbox(text["search.consent"], key="upload_consent", help=text["search.consent_help"])
    if files and st.button(text["search.add_button"], key="add_uploads", icon=":material/upload:"):
        bar = st.progress(0.0, text=text["search.encoding"])
        done = [0]

        def advance(count: int) -> None:
            done[0] += count
            bar.progress(min(1.0, done[0] / len(files)),
                         text=text["search.encoded"].format(done=done[0], total=len(files)))

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
        for name, reason in added["skipped"].items():  # a file's name: plain text
            st.text(text["search.skipped"].format(name=name, reason=reason))

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
    st.info(text["search.start"], icon=":material/lightbulb:")
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
            photo_col.image(thumb, width="stretch", alt=text["search.query_photo"])
        text_col.text(wording.photos_like(response.query))
        text_col.button(text["search.back"], key="back_to_text", on_click=use_text,
                        icon=":material/arrow_back:", type="tertiary")
shown = None if response.disclaimer else len(response.results)
took_col.caption(wording.took_note(response.took_ms, shown, len(service.gallery.index)),
                 text_alignment="right")

if response.disclaimer:
    st.warning(wording.DISCLAIMER_TEXT, icon=":material/gavel:")  # core's words, in the visitor's language
    st.stop()

note = wording.withheld_note(response.withheld, int(top_k))
if note:
    st.info(note, icon=":material/gavel:")

if not response.results:
    st.info(text["search.nothing"])
    st.stop()

link_col, csv_col = st.columns([3, 2], vertical_alignment="center")
with link_col.popover(text["search.copy_link"], icon=":material/link:"):
    if share_url is None:
        st.caption(wording.LINK_UNAVAILABLE)
    else:
        st.caption(text["search.link_note"])
        st.code(share_url, language=None, wrap_lines=True)
csv_col.download_button(text["search.csv"], response.to_csv(), file_name="withsense-results.csv",
                        mime="text/csv", key="download_csv", icon=":material/download:", width="stretch")
explain = st.toggle(text["search.explain"], key="explain", help=wording.EXPLAIN_HELP)
if explain:
    st.caption(wording.EXPLAIN_LEGEND)

for start in range(0, len(response.results), COLUMNS):
    row = st.columns(COLUMNS)
    for col, hit in zip(row, response.results[start : start + COLUMNS], strict=False):
        with col, st.container(border=True):
            why = _shared.match_thumbnail(settings, hit.path, response.vector) if explain else None
            photo = why[0] if why else _shared.photo_bytes(hit.path)
            if photo is None:
                st.warning(text["search.missing"], icon=":material/broken_image:")
            else:
                st.image(photo, width="stretch", alt=text["search.result"].format(rank=hit.rank))
            if hit.score is None:
                st.caption(f"**#{hit.rank}** · {wording.similarity_text(hit.similarity)}")
            else:
                score = wording.format_score(hit.score)
                st.progress(float(score), text=text["search.score"].format(rank=hit.rank, score=score))
            if why:
                st.caption(wording.BEST_MATCH + wording.match_place(why[1]))
            st.button(text["search.similar"], key=f"like_{hit.rank}", on_click=use_like, args=(hit.image,),
                      icon=":material/photo_library:", type="tertiary")
            # Lazy: a card's captions and votes are read and drawn only once it is opened (12
            # closed cards with tables made the first results paint about a second later).
            box = st.expander(text["search.details"], icon=":material/info:", key=f"details_{hit.image}",
                              on_change="rerun")
            with box:
                st.text(wording.result_line(hit.image, hit.rank, hit.score, hit.similarity))
                if box.open:
                    show_details(hit.path, response.query if mode == links.TEXT else None,
                                 _shared.photo_facts(service, hit.image))
