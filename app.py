"""With Sense: the Streamlit demo. Run with `streamlit run app.py`.

This file only wires the pages together; each page is a thin script in pages/ and every
computation lives in core/.
"""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from pages import _language, _shared

ROOT = Path(__file__).resolve().parent
PAGES = ROOT / "pages"
ASSETS = ROOT / "assets"

text = _language.texts()  # the visitor's language: a link's lang=, else the browser's (pages/_language.py)
st.set_page_config(
    page_title=text["app.title"],
    page_icon=str(ASSETS / "icon.png"),
    layout="wide",
    initial_sidebar_state="expanded",
)
# Static style only (no user text): a tighter top margin so a 1280x800 screen shows more.
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem;}</style>")
st.logo(str(ASSETS / "logo.svg"), size="large", icon_image=str(ASSETS / "icon.svg"))


@st.cache_resource(show_spinner=False)
def _prewarm() -> threading.Thread:
    """Once per process: load the model, its default gallery and the dataset's details in the
    background while the first page paints (serve.py has started this already; then it is a
    no-op). Searches wait for what is still loading."""

    def work() -> None:
        try:
            _shared.warm_up(_shared.settings())
        except Exception:  # the pages report any real problem when they load the model
            return

    thread = threading.Thread(target=work, name="withsense-prewarm", daemon=True)
    thread.start()
    return thread


_prewarm()
page = st.navigation(
    [
        st.Page(PAGES / "home.py", title=text["nav.home"], icon=":material/home:", default=True),
        st.Page(PAGES / "search.py", title=text["nav.search"], icon=":material/image_search:"),
        st.Page(PAGES / "compare.py", title=text["nav.compare"], icon=":material/leaderboard:"),
        st.Page(PAGES / "explore.py", title=text["nav.explore"], icon=":material/table_view:"),
    ]
)
_language.switch()
_language.keep_in_address()
_shared.enter_app()
page.run()
