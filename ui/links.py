"""Links that reproduce a search: the Search page's state as URL parameters and back.

A link holds the mode (a text search, or photos similar to one of the gallery's photos), the
query text or the photo's name, the gallery and the number of results. Anything a link holds can
be wrong (typed by hand, an old gallery, a cut-off URL): reading it never fails, it gives the
state to use and a sentence per value that was set aside, for the page to show.

Nothing here imports torch or Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from core.text.query import QueryError, clean_query
from ui import lang, texts_en

# The URL parameter names: short, as people paste these links into chats.
QUERY, PHOTO, GALLERY, TOP_K, MODE = "q", "photo", "gallery", "k", "mode"
TEXT, LIKE = "text", "like"  # the modes a link can hold (an uploaded photo cannot travel in one)
MAX_NAME_CHARS = 255  # a file name, as most file systems allow


@dataclass(frozen=True)
class SearchLink:
    mode: str  # TEXT or LIKE
    query: str  # the text searched (TEXT)
    photo: str  # the gallery photo whose look-alikes are shown (LIKE)
    gallery: str
    top_k: int

    def params(self) -> dict[str, str]:
        """The URL parameters of this search (only the ones its mode uses)."""
        what = {QUERY: self.query} if self.mode == TEXT else {MODE: LIKE, PHOTO: self.photo}
        return {k: v for k, v in {**what, GALLERY: self.gallery, TOP_K: str(self.top_k)}.items() if v}


def _one(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    """The parameter's value; a repeated one counts once, its last value (as st.query_params)."""
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value
    return str(value[-1]) if len(value) else None


def read_link(params: Mapping[str, str | Sequence[str]], galleries: Sequence[str], default_gallery: str,
              default_k: int, max_k: int, text: Mapping[str, str] = texts_en.TEXT
              ) -> tuple[SearchLink, list[str]]:
    """(the search a link asks for, a sentence for each value set aside for its default), the
    sentences from ``text`` (ui.texts_en or ui.texts_ru).

    Whether a LIKE link's photo is in the gallery is for the search to say (it knows the index).
    """
    problems: list[str] = []
    gallery = _one(params, GALLERY)
    if gallery is not None and gallery not in galleries:
        shown = gallery if len(gallery) <= 40 else gallery[:40] + "…"
        problems.append(text["link.bad_gallery"].format(gallery=shown, default=default_gallery))
        gallery = None
    raw_k = _one(params, TOP_K)
    top_k = default_k
    if raw_k is not None:
        try:
            top_k = int(raw_k.strip())
        except ValueError:
            top_k = -1
        if not 1 <= top_k <= max_k:
            problems.append(text["link.bad_k"].format(raw=raw_k[:20], max_k=max_k, default_k=default_k))
            top_k = default_k
    mode = _one(params, MODE) or TEXT
    if mode not in (TEXT, LIKE):
        problems.append(text["link.bad_mode"].format(mode=mode[:20], text=TEXT, like=LIKE))
        mode = TEXT
    query, photo = _one(params, QUERY) or "", _one(params, PHOTO) or ""
    if mode == LIKE and not (photo.strip() and len(photo) <= MAX_NAME_CHARS and "/" not in photo
                             and "\\" not in photo):
        problems.append(text["link.bad_photo"])
        mode, photo = TEXT, ""
    if mode == TEXT and query:
        try:
            query = clean_query(query)  # its language is the search's to judge, after the child check
        except QueryError as exc:
            problems.append(text["link.bad_query"].format(why=exc))
            query = ""
    if mode == LIKE:
        query = ""
    else:
        photo = ""
    return SearchLink(mode, query, photo, gallery or default_gallery, top_k), problems


def share_url(page_url: str | None, link: SearchLink, language: str | None = None) -> str:
    """The address that reopens ``link`` (a relative '?…' when the page's URL is unknown), in
    ``language`` when given (``lang=ru``: see ui.lang.link_value)."""
    params = link.params() | ({lang.PARAM: language} if language else {})
    return f"{page_url or ''}?{urlencode(params)}"
