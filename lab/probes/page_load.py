"""Probe: where a first visitor's wait for search results goes, in a real browser (2026-11-28).

Starts serve.py (the default model and gallery of artifacts/) on a free loopback port, waits until
it says it is ready, then, in the system Chromium, opens /search, types a query and waits for the
12 results to be painted (as tests/test_browser.py does), a few times, printing per stage: the
HTML, DOMContentLoaded (Streamlit's JavaScript parsed), the query box visible, the results'
heading, the photos painted; then a later query. Chromium's resource timings say when the
websocket's health check and the text input's own code were fetched.

    .venv/bin/python -m lab probe page_load --runs 3      # ~1 min
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.foundation.settings import PROJECT_ROOT
from lab.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAINTED,
    PLACEHOLDER,
    QUERY,
    SECOND_QUERY,
    box_shown,
    free_port,
)
from ui import wording

FIRST = ("() => Math.round(Math.min(...performance.getEntriesByType('resource')"
         ".filter(r => r.name.includes(%r)).map(r => r.%s)))")  # the first such fetch, ms


def _until(page, script: str, arg: object = None) -> float:  # type: ignore[no-untyped-def]
    page.wait_for_function(script, arg=arg, polling="raf", timeout=60_000)
    return time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab probe page_load",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    port = free_port()
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        server = subprocess.Popen(  # noqa: S603 - fixed argv: this Python runs the project's serve.py
            [sys.executable, str(PROJECT_ROOT / "serve.py"), "--server.port", str(port), "--server.address",
             "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            while not (ready := re.search(r"withsense: ready ([\d.]+) s", Path(log.name).read_text())):
                if server.poll() is not None:
                    raise SystemExit(f"serve.py exited:\n{Path(log.name).read_text()}")
                time.sleep(0.3)
            print(f"serve.py ready after {ready.group(1)} s")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                     args=CHROMIUM_ARGS)
                for _ in range(args.runs):
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    opened = time.monotonic()
                    page.goto(f"http://127.0.0.1:{port}/search", wait_until="domcontentloaded")
                    box_shown(page)  # checked on every frame
                    shown = time.monotonic()
                    box = page.get_by_placeholder(PLACEHOLDER)
                    box.fill(QUERY)
                    box.press("Enter")
                    heading = _until(page, "() => document.body.innerText.includes('Results for')")
                    painted = _until(page, PAINTED, 12)
                    dcl = page.evaluate("() => performance.getEntriesByType('navigation')[0]"
                                        ".domContentLoadedEventStart") / 1000
                    health = page.evaluate(FIRST % ("/_stcore/health", "startTime")) / 1000
                    text_code = (page.evaluate(FIRST % ("TextInput", "startTime")) / 1000,
                                 page.evaluate(FIRST % ("TextInput", "responseEnd")) / 1000)
                    box.fill(SECOND_QUERY)
                    box.press("Enter")
                    asked = time.monotonic()
                    heading_js = json.dumps(wording.results_for(SECOND_QUERY))
                    _until(page, f"() => document.body.innerText.includes({heading_js})")
                    later = _until(page, PAINTED, 12) - asked
                    print(f"DOMContentLoaded {dcl:.2f} s, health check {health:.2f}, text input code "
                          f"{text_code[0]:.2f}-{text_code[1]:.2f}, box visible {shown - opened:.2f}, "
                          f"heading {heading - opened:.2f}, 12 photos painted {painted - opened:.2f}; "
                          f"a later search {later:.2f} s", flush=True)
                    page.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=15)
    return 0
