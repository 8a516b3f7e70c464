"""Streamlit glue shared by the pages: cached loaders and the warm-up that fills them
(pages/_problems.py shows core's errors, pages/_reports.py reads the compare page's reports).

Not a page itself (app.py lists the pages explicitly). Everything computed lives in core/.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from core.data.dataset import TargetReport, load_relevance
from core.foundation.images import ImageError
from core.foundation.settings import Settings
from core.gallery import store, visitors
from pages import _language
from ui import dataset, lang, links, wording

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.bundle import ModelBundle
    from core.gallery.ingest import IngestReport
    from core.search.details import DatasetDetails, PhotoDetails
    from core.search.service import Gallery, SearchService

# core.bundle and core.search.service import torch (seconds): they are imported on first use, so every
# page paints at once and the dataset and metrics pages never pay for them.

# Session-state keys: app.py marks every session it runs in; a page run without the mark was
# started by Streamlit's legacy pages/ mode (see run_through_app).
APP_RAN = "withsense_app_ran"
RETURN_TO = "withsense_return_to"
RETURN_PARAMS = "withsense_return_params"  # the URL parameters of that first visit (a shared link)
LINK_WRITTEN = "withsense_link_written"  # the URL parameters this session last wrote
VISITOR = "withsense_visitor"  # this session's visitor id: its uploads are its own (core.gallery.visitors)


def run_through_app(page_file: str) -> None:
    """Make sure this page runs inside app.py (layout, logo, st.navigation); call it first with
    the page's __file__.

    Streamlit treats a folder named pages/ beside the entrypoint as a legacy multipage app until
    some session has called st.navigation, so the first visit straight to /search after the
    server starts runs the page on its own: no wide layout, no logo, every file of pages/ in the
    sidebar. Such a run lacks app.py's mark in its session: it switches to app.py, whose
    st.navigation ends legacy mode for the process, and app.py switches back to this page.
    """
    if st.session_state.get(APP_RAN):
        return
    st.session_state[RETURN_TO] = f"pages/{Path(page_file).name}"
    st.session_state[RETURN_PARAMS] = st.query_params.to_dict()  # switch_page clears the URL's
    st.switch_page("app.py")


def enter_app() -> None:
    """Called by app.py after st.navigation, before the page runs: marks the session, and
    reopens the page that a legacy-mode run left for app.py (see run_through_app)."""
    st.session_state[APP_RAN] = True
    page = st.session_state.pop(RETURN_TO, None)
    params = st.session_state.pop(RETURN_PARAMS, None)
    if page:
        st.switch_page(page, query_params=params or None)


def settings() -> Settings:
    """Read on every run, so WITHSENSE_* changes (tests) are honoured; cheap."""
    return Settings()


def file_stamp(path: Path) -> int:
    """A file's modification time (0 when missing): part of a cache key, so a model trained or a
    gallery re-indexed while the app runs is picked up on the next rerun."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_resource(show_spinner="Loading the model…", max_entries=2)
def _model(settings: Settings, stamp: int) -> ModelBundle:
    from core.search.service import load_model

    return load_model(settings)


def model(settings: Settings) -> ModelBundle:
    """The trained model, loaded once per process (and again only when model.pt changes)."""
    from core.bundle import BUNDLE_FILE

    return _model(settings, file_stamp(settings.artifacts_dir / BUNDLE_FILE))


@st.cache_resource(show_spinner="Loading the photo index…", max_entries=16)
def _gallery(settings: Settings, name: str, model_sha256: str, stamp: int) -> Gallery:
    from core.search.service import open_gallery

    return open_gallery(settings, name, model(settings))


def search_service(settings: Settings, gallery: str) -> SearchService:
    """The service over the cached model and the gallery's cached index: one of each per
    process. Errors are not cached, so fixing the cause (train, index) works on the next rerun."""
    from core.search.service import SearchService

    bundle = model(settings)
    # pgvector tables change in place; the in-process index is re-read when its file changes
    stamp = 0 if settings.index_url else file_stamp(store.gallery_file(settings, gallery))
    return SearchService(bundle, _gallery(settings, gallery, bundle.sha256, stamp))


def visitor(settings: Settings) -> str:
    """This browser session's visitor id, made on its first run; a new session first deletes
    every visitor's expired uploads (a failure there is logged: the page goes on)."""
    if VISITOR not in st.session_state:
        st.session_state[VISITOR] = visitors.new_visitor()
        try:
            visitors.sweep_expired(settings)
        except (OSError, store.GalleryError) as exc:
            logging.getLogger(__name__).warning("expired uploads not swept: %s", exc)
    return str(st.session_state[VISITOR])


def add_uploads(settings: Settings, files: list[tuple[str, bytes]], progress: Callable[[int], None],
                description: str = "", consent: bool = False) -> IngestReport:
    """Store and index uploaded photos in this visitor's own gallery with the cached model, with
    the description and consent given for them; the gallery's file changes, so the next search
    reads its new version."""
    return visitors.add_uploads(settings, visitor(settings), files, progress, bundle=model(settings),
                                description=description, consent=consent)


def market_line(settings: Settings) -> str:
    """Which market's law the search follows (core.legal.markets), as the Search page says it."""
    from core.legal.markets import market_of

    market = market_of(settings)
    text = _language.texts()
    if not market.child_rule:
        return text["search.market_free"].format(name=market.name)
    consent = text["search.market_consent" if market.consent_releases else "search.market_no_consent"]
    return text["search.market_rule"].format(name=market.name, consent=consent)


def photo_facts(service: SearchService, image: str) -> list[str]:
    """A result's facts (camera, date, place, what the photographer wrote) as lines of text."""
    from core.search.details import fact_text

    return fact_text(service.gallery.facts.get(image, {}))


def list_galleries(settings: Settings) -> list[str]:
    """The galleries every visitor may search."""
    return visitors.public_galleries(store.list_galleries(settings))


def search_galleries(settings: Settings) -> list[str]:
    """The galleries this visitor may search: every visitor's, and its own uploads once it has some."""
    mine = [visitors.MY_UPLOADS] if visitors.has_uploads(settings, visitor(settings)) else []
    return list_galleries(settings) + mine


def gallery_searched(settings: Settings, gallery: str) -> str:
    """The stored gallery behind a gallery the page shows: "uploads" is this visitor's own."""
    return visitors.gallery_for(gallery, visitor(settings))


def top_k_range() -> tuple[int, int]:
    """(default, maximum) number of results of a search."""
    from core.search.service import DEFAULT_TOP_K, MAX_TOP_K

    return DEFAULT_TOP_K, MAX_TOP_K


def open_search_link(settings: Settings, keys: dict[str, str]) -> list[str]:
    """Seed the Search page's widgets (``keys``: link field -> session-state key) from a link
    that was opened, i.e. URL parameters this session did not write itself; call it before the
    widgets exist. Returns a sentence per value of the link that was set aside for its default.

    Parameters the session wrote are its own state already; none at all (the page reached from
    the sidebar) leave the session's last search as it was."""
    params = st.query_params.to_dict()
    params.pop(lang.PARAM, None)  # the language is app.py's (pages/_language.py), not the search's
    if not params or params == st.session_state.get(LINK_WRITTEN):
        return []
    galleries = search_galleries(settings) or ["test"]
    default_k, max_k = top_k_range()
    link, problems = links.read_link(params, galleries, wording.default_gallery(galleries) or galleries[0],
                                     default_k, max_k, _language.texts())
    for field, key in keys.items():
        st.session_state[key] = getattr(link, field)
    st.session_state[LINK_WRITTEN] = params
    return problems


def keep_search_link(link: links.SearchLink | None) -> str | None:
    """Put the search shown into the URL (no parameters when there is none to share); returns the
    address that reopens it, or None."""
    params = link.params() if link is not None else {}
    language = _language.link_value()  # a shared link opens in the language it was made in
    address = {**params, lang.PARAM: language} if language else params
    if st.query_params.to_dict() != address:
        st.query_params.from_dict(address)
    st.session_state[LINK_WRITTEN] = params
    return None if link is None else links.share_url(st.context.url, link, language)


@st.cache_resource(show_spinner="Reading the dataset's captions and votes…", max_entries=2)
def _details(settings: Settings, stamp: int) -> DatasetDetails:
    # a resource, not data: a read-only lookup every session shares, where st.cache_data would
    # copy its 40,000 captions on every rerun
    from core.search.details import DatasetDetails

    return DatasetDetails.load(settings)


def dataset_details(settings: Settings) -> DatasetDetails:
    """Every photo's captions and judged pairs (core.search.details), read once per process and again
    when the practicum's tables change; DataError when they cannot be read."""
    stamp = file_stamp(settings.practicum_dir / "train_dataset.csv") + file_stamp(
        settings.practicum_dir / "ExpertAnnotations.tsv")
    return _details(settings, stamp)


def photo_details(settings: Settings, path: Path) -> PhotoDetails:
    """The dataset's captions and judged pairs of a photo (see dataset_details)."""
    return dataset_details(settings).photo(path)


@st.cache_data(show_spinner="Reading the dataset…")
def relevance(practicum_dir: str) -> tuple[pd.DataFrame, TargetReport]:
    return load_relevance(Path(practicum_dir))


@st.cache_data(show_spinner=False, max_entries=4096)
def thumbnail(path: str, mtime_ns: int) -> bytes | None:
    return dataset.thumbnail(path)


def photo_bytes(path: Path) -> bytes | None:
    """A thumbnail for st.image, keyed on the file's modification time so edits show."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return thumbnail(str(path), mtime)


@st.cache_data(show_spinner=False, max_entries=8)
def upload_thumbnail(data: bytes) -> bytes | None:
    """An uploaded photo as the pages show it: a thumbnail (pixels only, never the file's EXIF
    with its GPS position), as every photo they show."""
    return dataset.thumbnail(data)


@st.cache_data(show_spinner="Drawing where each photo matched…", max_entries=512)
def _match_thumbnail(settings: Settings, path: str, mtime_ns: int, query: bytes) -> tuple[bytes, str]:
    from core.search.explain import match_map

    match = match_map(model(settings), np.frombuffer(query, dtype=np.float32), Path(path))
    return dataset.thumbnail_of(match.overlay()), match.where()


def match_thumbnail(settings: Settings, path: Path, query: np.ndarray) -> tuple[bytes, str] | None:
    """A result's thumbnail with its match map drawn over it, and where it matched most, for the
    query vector of its search; None when the file is missing or unreadable."""
    try:
        return _match_thumbnail(settings, str(path), path.stat().st_mtime_ns,
                                np.asarray(query, dtype=np.float32).tobytes())
    except (OSError, ImageError):
        return None


@st.cache_data(show_spinner=False)
def _cleared(settings: Settings, gallery: str, mtime_ns: int) -> frozenset[str]:
    return dataset.cleared_photos(settings, gallery)


def cleared_photos(settings: Settings, gallery: str = "train") -> frozenset[str]:
    """Photos checked and not flagged as showing a child; re-read when the index changes."""
    return _cleared(settings, gallery, file_stamp(store.gallery_file(settings, gallery)))


_WARM_LOCK = threading.Lock()
_warmed = False


def warm_up(settings: Settings) -> None:
    """Once per process, for whoever asks first (serve.py at start, else app.py when its first
    visitor arrives): torch, the text encoder and WordNet, then this module's cached model,
    default gallery and dataset details, so a first search answers at once. A later caller waits
    for it. Raises what loading raised; the pages show the same problem when they load it."""
    global _warmed
    with _WARM_LOCK:
        if _warmed:
            return
        from core.search.service import prewarm

        # Outside a visitor's run Streamlit warns that there is no script context: expected here.
        logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
        prewarm(settings)
        model(settings)
        default = wording.default_gallery(list_galleries(settings))
        if default is not None:
            search_service(settings, default)
        dataset_details(settings)  # every result card's details: ~1 s to read the first time
        _warmed = True
