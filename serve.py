"""Serve the demo with the model, its heavy parts (torch, MiniLM, WordNet) and the default
gallery loading from the moment the process starts, not when the first visitor arrives:
`streamlit run` only runs app.py for a visitor. Same arguments as `streamlit run app.py` (e.g.
--server.port 8501). Prints when the process is ready to answer a first search fast, and how
long that took from serve.py's start."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

# Counted from here, not from the process's creation: scripts/run_app.sh execs this file after
# setting up and training, in a process that started minutes earlier. Python's start-up and the
# imports above (~0.03 s) are left out.
STARTED = time.time()

ROOT = Path(__file__).resolve().parent


def _warm() -> None:
    from pages import _shared

    try:
        _shared.warm_up(_shared.settings())
    except Exception as exc:  # the pages report a real problem when they load the model
        print(f"withsense: warm-up failed ({exc}); the first search loads the model", flush=True)
        return
    print(f"withsense: ready {time.time() - STARTED:.1f} s after serve.py started", flush=True)


def main() -> int:
    # Streamlit (and the pandas and plotly it imports) first, then the warm-up thread: plotly peeks
    # at sys.modules for pandas, and once met the half-imported pandas of the warm-up thread
    # ("partially initialized module 'pandas'", the server exited; seen under a loaded CPU). The
    # thread imports Streamlit anyway, so starting it later costs little.
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    from core.foundation.memory import keep_freed_memory

    keep_freed_memory()  # uploads are encoded in this process: reuse batch memory (#35)
    threading.Thread(target=_warm, name="withsense-warm", daemon=True).start()

    # app.py lists its pages with st.navigation, which ends Streamlit's legacy pages/ mode only
    # once some visitor has run it: the first visitor's page then detours through app.py
    # (pages/_shared.run_through_app), about a second. Ended here, as st.navigation would. No
    # public setting does this while pages/ sits beside app.py (ARCHITECTURE.md, "Pages"); the
    # Streamlit version is pinned and tests/test_app.py fails if Streamlit changes this switch.
    PagesManager.uses_pages_directory = False

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    return int(cli.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
