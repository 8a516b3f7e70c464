"""`python -m lab loadcheck`: visitors at once through the app, in real browsers (#37).

Starts serve.py on a loopback port over a copy of the artifacts folder (links to its model and
galleries; uploads go to a temporary data folder), then for each N drives N Chromium contexts at
once (Playwright on Debian's Chromium). Each visitor opens /search, types a query and waits until
its 12 photos are painted (time to first results), searches again (the page shows its Top K at
once, no next page: a second query is the next results), then adds a photo of its own through
"Add your own photos" and waits for the page to say it was added. Reported per N: errors (an
exception, a timeout, or Streamlit's error box), p50/p95 of the time to first results, the
server's CPU seconds per visitor and its peak memory (psutil on its process).

With --pin (the default) the server runs on core 0 and Chromium with this script on the other
cores (taskset), so the browsers' rendering, which costs far more CPU than the server
(docs: /work/shared/design/load-check.md), does not count as the server's time. Capacity is
stated two ways: the largest N measured whose p95 stayed under 5 s, and the visitors per burst
a 2-core server's CPU could answer in 5 s from its measured CPU seconds per visitor.

    .venv/bin/python -m lab loadcheck --visitors 1,2,4,8 --output reports/load.json   # ~5 min
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from core.foundation.settings import PROJECT_ROOT, Settings, child_process_env
from lab.browser import CHROMIUM, CHROMIUM_ARGS, PAINTED, PLACEHOLDER, SHOWN, free_port
from ui import wording
from ui.texts_en import TEXT

# No child query: its answer is the disclaimer, no photos, and a visitor waits for 12 photos.
QUERIES = ("A dog runs through the water", "Two people ride bicycles down a street",
           "A woman sits on a park bench", "A man climbs a rock wall", "A black dog catches a ball",
           "People walking in a busy city street", "A surfer rides a wave", "A group of people at a concert",
           "A brown dog runs on the grass", "A skier jumps through the air")
STEP_S = 120  # one step's limit: a visitor slower than that counts as an error
P95_LIMIT_S = 5.0


def _copy_artifacts(source: Path, data: Path, into: Path) -> Settings:
    """Settings over links to ``source``'s model and galleries (not its uploads) and ``data``'s
    folders, with fresh uploads, cache and reports under ``into``: the check writes nothing else."""
    (into / "artifacts" / "galleries").mkdir(parents=True)
    (into / "artifacts" / "model.pt").symlink_to((source / "model.pt").resolve())
    for gallery in (source / "galleries").glob("*.npz"):
        if gallery.stem != "uploads":
            (into / "artifacts" / "galleries" / gallery.name).symlink_to(gallery.resolve())
    (into / "data").mkdir()
    for folder in data.iterdir():
        if folder.name != "uploads":
            (into / "data" / folder.name).symlink_to(folder.resolve(), target_is_directory=folder.is_dir())
    return replace(Settings(), artifacts_dir=into / "artifacts", data_dir=into / "data",
                   cache_dir=into / "cache", reports_dir=into / "reports")


class Server:
    """serve.py on a loopback port, its CPU time and peak memory sampled while it runs."""

    def __init__(self, settings: Settings, log: Path, cores: set[int] | None) -> None:
        self.port = free_port()
        argv = [sys.executable, str(PROJECT_ROOT / "serve.py"), "--server.port", str(self.port),
                "--server.address", "127.0.0.1", "--server.headless", "true",
                "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=child_process_env(settings),  # noqa: S603 - this Python runs the project's serve.py
                                         stdout=out, stderr=subprocess.STDOUT)
        if cores:
            os.sched_setaffinity(self.proc.pid, cores)  # before its threads start: they inherit it
        self.process = psutil.Process(self.proc.pid)
        self.peak_rss = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            except psutil.Error:
                return

    def wait_ready(self, limit_s: float = 1800) -> float:  # a starved machine took over 600 s
        deadline = time.monotonic() + limit_s
        while not (ready := re.search(r"withsense: ready ([\d.]+) s", self.log.read_text(errors="replace"))):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve.py did not get ready:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.3)
        return float(ready.group(1))

    def cpu_s(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def visitor(browser: Any, port: int, number: int, photo: Path) -> dict[str, Any]:
    """One visitor's visit; its timings, or the error that ended it."""
    first, second = QUERIES[number % len(QUERIES)], QUERIES[(number + 3) % len(QUERIES)]
    result: dict[str, Any] = {"visitor": number}
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(STEP_S * 1000)  # typing too: its default of 30 s failed on a starved machine
    step = "open"
    try:
        opened = time.monotonic()
        await page.goto(f"http://127.0.0.1:{port}/search", wait_until="domcontentloaded",
                        timeout=STEP_S * 1000)
        await page.wait_for_function(SHOWN, arg=PLACEHOLDER, polling="raf", timeout=STEP_S * 1000)
        for name, query, started in (("first_results_s", first, opened), ("next_results_s", second, None)):
            step = name
            started = started or time.monotonic()
            box = page.get_by_placeholder(PLACEHOLDER)
            await box.fill(query)
            await box.press("Enter")
            heading = json.dumps(wording.results_for(query))
            await page.wait_for_function(f"() => document.body.innerText.includes({heading})", polling="raf",
                                         timeout=STEP_S * 1000)
            await page.wait_for_function(PAINTED, arg=12, polling="raf", timeout=STEP_S * 1000)
            result[name] = time.monotonic() - started
        step = "upload_s"
        started = time.monotonic()
        adder = page.get_by_test_id("stExpander").filter(has_text=TEXT["search.add"])
        await adder.get_by_text(TEXT["search.add"]).click()
        await adder.locator("input[type=file]").set_input_files(str(photo))
        await adder.get_by_role("button", name=TEXT["search.add_button"]).click()
        await adder.get_by_text(re.compile(r"added to your uploads")).wait_for(timeout=STEP_S * 1000)
        result["upload_s"] = time.monotonic() - started
        if await page.get_by_test_id("stException").count():
            raise RuntimeError("the page shows an exception")
    except Exception as exc:  # any failure of a visit is an error to report, not a crash of the check
        result["error"] = f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        await context.close()
    return result


async def visitors_at_once(port: int, count: int, photos: list[Path]) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                   args=CHROMIUM_ARGS)
        try:
            return list(await asyncio.gather(*(visitor(browser, port, i, photos[i % len(photos)])
                                               for i in range(count))))
        finally:
            await browser.close()


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def run_loadcheck(settings: Settings, counts: list[int], workdir: Path, pin: bool,
                  log: Any = print) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    server_cores = {cores[0]} if pin and len(cores) > 1 else None
    local = _copy_artifacts(settings.artifacts_dir, settings.data_dir, workdir)
    photos = sorted((settings.data_dir / "practicum" / "test_images").glob("*.jpg"))[:16]
    server = Server(local, workdir / "serve.log", server_cores)
    rows, loads = [], [os.getloadavg()[0]]
    try:
        ready_s = server.wait_ready()
        if server_cores:
            os.sched_setaffinity(0, set(cores) - server_cores)  # Chromium, started below, inherits it
        log(f"serve.py ready after {ready_s:.1f} s (server on cores {sorted(server_cores or cores)})")
        warm = asyncio.run(visitors_at_once(server.port, 1, photos[-1:]))[0]  # not counted
        log(f"warm-up visitor: {warm}")
        for count in counts:
            cpu, started = server.cpu_s(), time.monotonic()
            visits = asyncio.run(visitors_at_once(server.port, count, photos))
            wall, cpu = time.monotonic() - started, server.cpu_s() - cpu
            firsts, nexts, uploads = ([v[k] for v in visits if k in v]
                                      for k in ("first_results_s", "next_results_s", "upload_s"))
            row = {"visitors": count, "errors": sum("error" in v for v in visits),
                   "error_messages": [v["error"] for v in visits if "error" in v],
                   "first_results_p50_s": _pct(firsts, 50), "first_results_p95_s": _pct(firsts, 95),
                   "next_results_p50_s": _pct(nexts, 50), "upload_p50_s": _pct(uploads, 50),
                   "wall_s": round(wall, 1), "server_cpu_s_per_visitor": round(cpu / count, 2),
                   "server_peak_rss_mb": round(server.peak_rss / 2**20),
                   "load_average_1min": os.getloadavg()[0]}
            rows.append(row)
            loads.append(os.getloadavg()[0])
            log(json.dumps(row))
    finally:
        server.stop()
        os.sched_setaffinity(0, set(cores))
    return {"measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": _machine(),
            "server_ready_s": ready_s,
            "pinned": {"server_cores": sorted(server_cores or cores),
                       "browsers_cores": sorted(set(cores) - (server_cores or set())) or cores},
            "load_average_1min": {"before": loads[0], "max": max(loads)}, "rows": rows,
            "capacity": capacity(rows)}


def capacity(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How many visitors at once before p95 passes 5 s: as measured, and from the server's CPU."""
    under = [r["visitors"] for r in rows
             if not r["errors"] and (r["first_results_p95_s"] or 1e9) <= P95_LIMIT_S]
    cpu = max((r["server_cpu_s_per_visitor"] for r in rows), default=0.0)
    return {"measured_max_visitors_p95_under_5s": max(under, default=0),
            "server_cpu_s_per_visitor_max": cpu,
            "burst_a_2_core_server_answers_in_5s": int(P95_LIMIT_S * 2 // cpu) if cpu else None,
            "visitors_per_s_per_core": round(1 / cpu, 2) if cpu else None}


def _machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, Linux, "
            f"Python {platform.python_version()}")


def command(args: Any, settings: Settings) -> int:
    """The lab command (options parsed by lab/cli.py); 0 when no visit failed."""
    with tempfile.TemporaryDirectory(prefix="withsense-load-") as work:
        result = run_loadcheck(settings, [int(n) for n in args.visitors.split(",")], Path(work), args.pin,
                               log=lambda line: print(line, flush=True))
    print(json.dumps(result["capacity"], indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
        print(f"written to {args.output}")
    return 1 if any(r["errors"] for r in result["rows"]) else 0
