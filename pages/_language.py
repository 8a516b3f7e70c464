"""The visitor's language in Streamlit: chosen once per session (a link's ``lang=``, else the
browser's language, else English), changed by the switch app.py draws in the sidebar, and kept
in the address so a copied or shared link opens in the same language. The words themselves are
ui's (ui.lang). Not a page itself (app.py lists the pages explicitly).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

import streamlit as st

from ui import lang

LANGUAGE = "withsense_language"  # the session's language (set once, then by the switch)
SWITCH = "withsense_language_switch"  # the switch's widget key
_RETURN_PARAMS = "withsense_return_params"  # pages._shared.RETURN_PARAMS: a first visit's link


def _browser() -> str:
    """The browser's language: navigator.language (st.context.locale), else its
    Accept-Language header."""
    return lang.browser_language(st.context.locale, st.context.headers.get("Accept-Language"))


def language() -> str:
    """The language this run speaks; decided on the session's first run."""
    chosen = st.session_state.get(LANGUAGE)
    if chosen not in lang.LANGUAGES:
        # a first visit straight to a page comes back through app.py with its link kept aside
        params = st.session_state.get(_RETURN_PARAMS) or st.query_params.to_dict()
        chosen = lang.parse(params.get(lang.PARAM)) or _browser()
        st.session_state[LANGUAGE] = chosen
    return str(chosen)


def wording() -> ModuleType:
    """The shared sentences in the visitor's language (ui.wording or ui.wording_ru)."""
    return lang.wording_for(language())


def texts() -> Mapping[str, str]:
    """The pages' own labels in the visitor's language (ui.texts_en or ui.texts_ru)."""
    return lang.texts_for(language())


def link_value() -> str | None:
    """The ``lang`` value this session's links carry (None: none needed)."""
    return lang.link_value(language(), _browser())


def _switched() -> None:
    st.session_state[LANGUAGE] = st.session_state[SWITCH]
    keep_in_address()


def keep_in_address() -> None:
    """Put the language into the address (or take it out where none is needed)."""
    wanted = link_value()
    if st.query_params.get(lang.PARAM) != wanted:
        if wanted is None:
            del st.query_params[lang.PARAM]
        else:
            st.query_params[lang.PARAM] = wanted


def switch() -> None:
    """The language switch in the sidebar (app.py draws it on every page)."""
    st.session_state[SWITCH] = language()
    st.sidebar.radio(texts()["app.language"], list(lang.LANGUAGES), format_func=lang.LANGUAGES.get,
                     key=SWITCH, horizontal=True, on_change=_switched)
