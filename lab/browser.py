"""Driving the demo in a real browser (Debian's Chromium through Playwright): what
tests/test_browser.py and the page-load probe (lab/probes/page_load.py) share."""

from __future__ import annotations

import socket
from pathlib import Path

FIRST_SEARCH_S = 60  # generous: shared CI cores; the timing itself is printed
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
QUERY = "A dog runs through the water"
PLACEHOLDER = "e.g. two dogs running on snow"
SECOND_QUERY = "Two people ride bicycles down a street"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PAINTED = ("count => { const shown = [...document.querySelectorAll(\"[data-testid='stMain'] "
           "[data-testid='stImage'] img\")]; return shown.length >= count && "
           "shown.every(img => img.complete && img.naturalWidth > 0); }")


SHOWN = ("placeholder => { const box = document.querySelector(`input[placeholder=\"${placeholder}\"]`); "
         "return box !== null && box.getBoundingClientRect().width > 0; }")


def box_shown(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the query box is laid out, checked on every frame: expect().to_be_visible()
    polls at growing intervals (up to a second), which added about 0.3 s to the timings."""
    page.wait_for_function(SHOWN, arg=PLACEHOLDER, polling="raf", timeout=FIRST_SEARCH_S * 1000)
