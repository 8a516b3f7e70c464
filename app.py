"""With Sense: the Streamlit demo. Run with `streamlit run app.py`.

This file only wires the pages together; each page is a thin script in pages/ and every
computation lives in core/.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
PAGES = ROOT / "pages"
ASSETS = ROOT / "assets"

st.set_page_config(
    page_title="With Sense · photo search",
    page_icon=str(ASSETS / "icon.png"),
    layout="wide",
    initial_sidebar_state="expanded",
)
# Static style only (no user text): a tighter top margin so a 1280x800 screen shows more.
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem;}</style>")
st.logo(str(ASSETS / "logo.svg"), size="large", icon_image=str(ASSETS / "icon.svg"))

page = st.navigation(
    [
        st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True),
        st.Page(PAGES / "search.py", title="Search", icon=":material/image_search:"),
        st.Page(PAGES / "compare.py", title="Model comparison", icon=":material/leaderboard:"),
        st.Page(PAGES / "explore.py", title="Dataset explorer", icon=":material/table_view:"),
    ]
)
page.run()
