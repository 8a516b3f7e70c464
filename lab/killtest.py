"""`python -m lab killtest`: SIGKILL `python -m core index` at random moments and check what it left.

A folder of real photos (practicum train and Flickr8k copies, a copy of one, a file that is
not a photo) is indexed in rounds, each into its own temporary artifacts folder and cache: runs
killed one after another (each resumes what the last left), then one run to the end. Kills
take three kinds in turn, each at a seeded random moment: a random time after the start, a
random time after the k-th save (mid-encoding), or as the k-th save's temporary file appears
(the store's write and swap; inotify wakes us at once, so the kill lands as the file is written).

After every kill: the gallery loads as the product loads it (or is absent when no save had
happened yet); each stored photo's vector is finite and of norm 1, its child flag and
probability present; no id or content twice; every id a file of the folder with that content.
After each round's last run: every readable photo once, the non-photo skipped, no temporary file
left, and each photo's vector and flag equal to the first round's (built by other kills).

    .venv/bin/python -m lab killtest          # 20 kills over 62 files (60 photos), ~15 min on 2 busy cores
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import itertools
import json
import os
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.foundation.settings import PROJECT_ROOT, Settings, child_process_env
from core.gallery.store import GalleryError, gallery_file, read_gallery

IN_MOVED_TO, IN_CREATE = 0x80, 0x100
NAME = "killtest"
TEMP = re.compile(rf"\.{NAME}\.npz\.[0-9a-f]{{32}}\.tmp")  # core.foundation.atomic's temp name
MODES = ("time", "after-save", "swap")
PHASES = ("before any save", "encoding", "in the swap", "after the last save")
RUN_LIMIT_S = 3600  # a run still going then is a failure (a starved 2-core machine took over 900 s)


class FolderEvents:
    """Files created in, or renamed into, one folder (Linux inotify, through libc)."""

    def __init__(self, folder: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_CREATE | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"inotify on {folder}")

    def wait(self, timeout: float) -> list[tuple[int, str]]:
        """(mask, file name) of what happened, waiting at most ``timeout`` seconds for the first."""
        if not select.select([self.fd], [], [], max(timeout, 0.0))[0]:
            return []
        data, events, at = os.read(self.fd, 65536), [], 0
        while at < len(data):
            _, mask, _, size = struct.unpack_from("iIII", data, at)
            events.append((mask, data[at + 16 : at + 16 + size].rstrip(b"\0").decode()))
            at += 16 + size
        return events

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class Kill:
    round: int
    mode: str
    aim: str  # the moment aimed at, in words
    at_s: float = 0.0  # seconds after the run started
    phase: str = ""  # what was going on: before the first save, encoding, in the swap
    stored: int = -1  # photos in the gallery after the kill (-1: no gallery yet)
    saves: int = 0  # saves the killed run finished
    problems: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    kills: list[Kill] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def make_folder(data_dir: Path, into: Path, photos: int, rng: random.Random) -> set[str]:
    """Copy ``photos`` real photos (half practicum train, half Flickr8k) into ``into``, plus a copy
    of the first and a file that is not a photo; returns the content hashes that must be stored."""
    into.mkdir(parents=True)
    practicum = sorted((data_dir / "practicum" / "train_images").glob("*.jpg"))
    flickr = sorted((data_dir / "flickr8k" / "images").glob("*.jpg"))
    chosen = rng.sample(practicum, photos // 2) + rng.sample(flickr, photos - photos // 2)
    for photo in chosen:
        shutil.copyfile(photo, into / photo.name)
    shutil.copyfile(chosen[0], into / f"zz_copy_of_{chosen[0].name}")  # the same content twice
    (into / "not_a_photo.jpg").write_bytes(b"this is text with a photo's name\n" * 40)
    return {_sha1(into / p.name) for p in chosen}


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes(), usedforsecurity=False).hexdigest()


def check_gallery(settings: Settings, folder: Path, wanted: set[str]) -> tuple[int, list[str]]:
    """(photos stored or -1 when there is no gallery, problems found) for what a run left."""
    if not gallery_file(settings, NAME).exists():
        return -1, []
    try:
        gallery = read_gallery(settings, NAME)
        gallery.index()  # searchable: the in-process index builds from it
    except (GalleryError, ValueError) as exc:
        return -1, [f"gallery does not load: {exc}"]
    problems = []
    if len(set(gallery.ids)) != len(gallery.ids):
        problems.append("an id stored twice")
    if len(set(gallery.keys)) != len(gallery.keys):
        problems.append("a photo's content stored twice")
    for image_id, key in zip(gallery.ids, gallery.keys, strict=True):
        path = folder / image_id
        if not path.is_file():
            problems.append(f"{image_id} is not a file of the folder")
        elif key != _sha1(path) or key not in wanted:
            problems.append(f"{image_id} stored with a content hash that is not its file's")
    norms = np.linalg.norm(gallery.vectors, axis=1)
    if not np.isfinite(gallery.vectors).all() or np.abs(norms - 1).max(initial=0) > 1e-3:
        problems.append("a vector that is not finite or not of norm 1")
    probability = gallery.probabilities
    if gallery.flags.dtype != bool or not (np.isfinite(probability) & (probability >= 0)
                                           & (probability <= 1)).all():
        problems.append("a child flag or probability missing or out of range")
    return len(gallery.ids), problems


def _temps(settings: Settings) -> list[str]:
    folder = gallery_file(settings, NAME).parent
    return sorted(p.name for p in folder.iterdir() if TEMP.fullmatch(p.name)) if folder.is_dir() else []


@dataclass
class Pace:
    """How long runs take here, learnt as they go, so kills spread over a whole run."""

    start_s: float = 15.0  # process start to the first save
    batch_s: float = 4.0  # between saves

    def learn(self, first_save: float | None, gaps: list[float]) -> None:
        if first_save is not None:
            self.start_s = first_save
        if gaps:
            self.batch_s = float(np.median(gaps))


def _index(settings: Settings, folder: Path, batch: int, quiet: bool = False) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "core", "index", str(folder), "--name", NAME, "--batch-size", str(batch)]
    return subprocess.Popen(  # noqa: S603 - this Python runs the project's own command
        argv, cwd=PROJECT_ROOT, env=child_process_env(settings),
        stdout=subprocess.DEVNULL if quiet else subprocess.PIPE, stderr=subprocess.DEVNULL)


def kill_one(settings: Settings, folder: Path, batch: int, kill: Kill, rng: random.Random, pace: Pace,
             remaining: int) -> bool:
    """Start an index run (``remaining`` files to encode) and SIGKILL it at the moment ``kill.mode``
    draws; False if it finished first."""
    batches = max(1, -(-remaining // batch))
    k = rng.randint(1, max(1, batches - (kill.mode == "after-save")))  # after the last save it just exits
    when = None  # the time to kill at, once known
    if kill.mode == "time":
        delay = rng.uniform(0.0, pace.start_s + batches * pace.batch_s)
        kill.aim, when = f"{delay:.1f} s after the start", delay
    else:
        then = ", then a random part of a batch" if kill.mode == "after-save" else ": its temp file appears"
        kill.aim = f"save {k} of {batches}{then}"
    events = FolderEvents(gallery_file(settings, NAME).parent)
    proc, started = _index(settings, folder, batch, quiet=True), time.monotonic()
    saved: list[float] = []  # seconds after the start of each save
    temps, last_temp, finished = 0, "", False
    try:
        while not (finished := proc.poll() is not None):
            now = time.monotonic() - started
            if now > RUN_LIMIT_S:
                raise TimeoutError(f"index run still going after {RUN_LIMIT_S} s")
            hit = when is not None and now >= when
            for mask, name in ([] if hit else events.wait(0.1 if when is None else min(0.1, when - now))):
                if mask & IN_CREATE and TEMP.fullmatch(name):
                    temps, last_temp = temps + 1, name
                    hit = hit or (kill.mode == "swap" and temps == k)
                elif mask & IN_MOVED_TO and name == f"{NAME}.npz":
                    saved.append(time.monotonic() - started)
                    if kill.mode == "after-save" and len(saved) == k:
                        when = saved[-1] + rng.uniform(0.0, pace.batch_s)
                if hit:
                    break
            if hit:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kill.at_s = time.monotonic() - started
                break
    finally:
        events.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pace.learn(saved[0] if saved else None, [b - a for a, b in itertools.pairwise(saved)])
    kill.saves = len(saved)
    if finished:
        return False
    in_swap = bool(last_temp) and (gallery_file(settings, NAME).parent / last_temp).exists()
    kill.phase = "in the swap" if in_swap else ("encoding" if temps else "before any save")
    if not in_swap and remaining and len(saved) == batches:
        kill.phase = "after the last save"
    return True


def finish(settings: Settings, folder: Path, batch: int) -> tuple[int, dict[str, Any]]:
    """Run the index command to its end: (exit code, its JSON report)."""
    proc = _index(settings, folder, batch)
    out, _ = proc.communicate(timeout=RUN_LIMIT_S)
    try:
        return proc.returncode, json.loads(out.decode() or "{}")
    except json.JSONDecodeError:
        return proc.returncode or 1, {}


def run_killtest(data_dir: Path, model: Path, workdir: Path, *, photos: int = 60, kills: int = 20,
                 per_round: int = 5, batch: int = 4, seed: int = 37,
                 log: Callable[[str], None] = lambda line: None) -> Outcome:
    """Kill ``kills`` index runs over a folder of ``photos`` real photos; see the module's doc."""
    rng = random.Random(seed)  # noqa: S311 - reproducible kill moments, not secrets
    folder = workdir / "photos"
    wanted = make_folder(data_dir, folder, photos, rng)
    outcome, pace, reference, round_no = Outcome(), Pace(), None, 0
    while len(outcome.kills) < kills:
        round_no += 1
        root = workdir / f"round{round_no}"
        (root / "artifacts" / "galleries").mkdir(parents=True)
        (root / "cache").mkdir()
        (root / "artifacts" / "model.pt").symlink_to(model.resolve())
        settings = replace(Settings(data_dir=data_dir), artifacts_dir=root / "artifacts",
                           cache_dir=root / "cache")
        for _ in range(min(per_round, kills - len(outcome.kills))):
            stored_before = check_gallery(settings, folder, wanted)[0]
            if stored_before == len(wanted):
                break  # nothing left to interrupt: this round's run to the end, then a new round
            kill = Kill(round_no, MODES[len(outcome.kills) % len(MODES)], "")  # each kind in turn
            todo = len(wanted) - max(stored_before, 0) + 1  # the non-photo is tried by every run
            if not kill_one(settings, folder, batch, kill, rng, pace, todo):
                log(f"round {round_no}: the run finished before its kill ({kill.aim}); next round")
                break
            kill.stored, kill.problems = check_gallery(settings, folder, wanted)
            if kill.stored < stored_before or (kill.saves and kill.stored < 0):
                kill.problems.append(f"photos lost: {stored_before} stored before, {kill.stored} after")
            outcome.kills.append(kill)
            log(f"kill {len(outcome.kills):>2}  round {round_no}  {kill.mode:<10} {kill.aim:<44} "
                f"at {kill.at_s:5.1f} s  {kill.phase:<16} stored {max(kill.stored, 0):>3}  "
                f"{'ok' if not kill.problems else '; '.join(kill.problems)}")
        code, report = finish(settings, folder, batch)
        stored, problems = check_gallery(settings, folder, wanted)
        final = read_gallery(settings, NAME) if stored >= 0 else None
        if code != 0:
            problems.append(f"the rerun exited with {code}")
        if final is None or set(final.keys) != wanted:
            problems.append(f"after the rerun {max(stored, 0)} of {len(wanted)} photos are stored")
        if "not_a_photo.jpg" not in report.get("skipped", {}):
            problems.append("the file that is not a photo was not reported as skipped")
        if left := _temps(settings):
            problems.append(f"temporary files left: {left}")
        if final is not None and not problems:
            problems += _against(reference, final)
            reference = reference or final
        outcome.rounds.append({"round": round_no, "stored": stored, "problems": problems})
        log(f"round {round_no} rerun: exit {code}, {max(stored, 0)} of {len(wanted)} photos, "
            f"{'ok' if not problems else '; '.join(problems)}")
    outcome.failures = [f"kill {i + 1}: {p}" for i, k in enumerate(outcome.kills) for p in k.problems]
    outcome.failures += [f"round {r['round']}: {p}" for r in outcome.rounds for p in r["problems"]]
    return outcome


def _against(reference: Any, final: Any) -> list[str]:
    """Each photo's vector and flag as in the first round's gallery (other kills, other batches)."""
    if reference is None:
        return []
    row = {key: i for i, key in enumerate(reference.keys)}
    order = [row[key] for key in final.keys]
    same = np.allclose(final.vectors, reference.vectors[order], atol=1e-4)
    return [] if same and (final.flags == reference.flags[order]).all() else ["vectors or flags differ "
                                                                             "from the first round's"]


def command(args: argparse.Namespace, settings: Settings) -> int:
    """The lab command: options as lab/cli.py parses them; 0 when every kill and rerun checks."""
    model = Path(args.model) if args.model else settings.artifacts_dir / "model.pt"
    if not model.is_file():
        raise SystemExit(f"no model at {model}: train one (python -m core train) or give --model")
    with tempfile.TemporaryDirectory(prefix="withsense-killtest-") as work:
        outcome = run_killtest(settings.data_dir, model, Path(work), photos=args.photos, kills=args.kills,
                               per_round=args.per_round, batch=args.batch_size, seed=args.seed,
                               log=lambda line: print(line, flush=True))
    phases = {p: sum(k.phase == p for k in outcome.kills) for p in PHASES}
    passed, whole = sum(not k.problems for k in outcome.kills), sum(not r["problems"] for r in outcome.rounds)
    print(f"\n{passed}/{len(outcome.kills)} kills left a gallery that loads and checks ("
          f"{', '.join(f'{n} {p}' for p, n in phases.items())}); {whole}/{len(outcome.rounds)} reruns "
          "finished with every photo once")
    if args.output:
        Path(args.output).write_text(json.dumps({"kills": [k.__dict__ for k in outcome.kills],
                                                 "rounds": outcome.rounds}, indent=2) + "\n")
    for failure in outcome.failures:
        print(f"FAIL {failure}")
    return 1 if outcome.failures or len(outcome.kills) < args.kills else 0
