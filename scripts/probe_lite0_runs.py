"""Probe: do several fine-tuned Lite0 runs together make the child check withhold fewer? (#9)

Two runs of one recipe differ by ~0.017 in the share of other photos the check withholds
(README, "Legal"), so their errors differ too; reading a photo with more than one run (their
vectors side by side, or averaged) might cancel some. Each DIR holds another run's
efficientnet-lite0-captions.pt and manifest (e.g. scripts/probe_adult_class.py's OUT/<arm>).
Against the product's pair (committed Lite0 + Lite2): each run in place of the committed Lite0,
every Lite0 side by side, and the Lite0 vectors averaged (each normalised, the mean normalised).
The product's head, out of fold on the 2,100 photos no network learnt, 10 folds, fold seeds
29..67, at the product's rule. Selection figures; holdout is never read. Every extra Lite0 costs
one more forward pass per photo (~16 ms on 2 cores against the pair's ~51).

    .venv/bin/python scripts/probe_lite0_runs.py DIR [DIR ...] [--cache DIR]   # ~1 min a run, ~20 s a row
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from probe_linear_heads import compare, fresh_photos, product  # noqa: E402  (sibling scripts)
from probe_resolution import learnt_at, vectors  # noqa: E402

from core.encoders.own_weights import models_dir  # noqa: E402
from core.encoders.registry import FINETUNED, FINETUNED_LITE2  # noqa: E402
from core.foundation.settings import Settings  # noqa: E402
from core.legal.logistic import unit_rows  # noqa: E402


def lite0_of(folder: Path, paths: list[Path], cache: Path) -> np.ndarray:
    """Unit Lite0 vectors from the weights in `folder` (cached per folder)."""
    previous = os.environ.get("WITHSENSE_MODELS")
    os.environ["WITHSENSE_MODELS"] = str(folder)
    try:
        key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
        return unit_rows(vectors(FINETUNED, learnt_at(FINETUNED), paths, cache / key)[0].astype(float))
    finally:
        if previous is None:
            os.environ.pop("WITHSENSE_MODELS")
        else:
            os.environ["WITHSENSE_MODELS"] = previous


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/probe_lite0_runs"))
    args = parser.parse_args()
    settings = Settings()
    paths, child, adult, kind = fresh_photos(settings)
    committed = lite0_of(models_dir(), paths, args.cache)
    lite2 = unit_rows(vectors(FINETUNED_LITE2, learnt_at(FINETUNED_LITE2), paths, args.cache / "lite2")[0]
                      .astype(float))
    runs = {folder.name: lite0_of(folder, paths, args.cache) for folder in args.runs}
    every = [committed, *runs.values()]
    rows = {"product (committed Lite0 + Lite2)": [committed, lite2],
            **{f"{name} in its place": [run, lite2] for name, run in runs.items()},
            f"{len(every)} Lite0 side by side": [*every, lite2],
            f"{len(every)} Lite0 averaged": [unit_rows(sum(every)), lite2]}
    baseline: np.ndarray | None = None
    for label, parts in rows.items():
        withheld = compare(label, product(), unit_rows(np.hstack(parts)), child, kind, adult, baseline)
        baseline = withheld if baseline is None else baseline


if __name__ == "__main__":
    main()
