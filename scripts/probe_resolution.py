"""Probe: does reading the fine-tuned networks at a larger size withhold fewer other photos? (#9)

The fine-tune learnt from random resized crops (at least half the photo, enlarged back to the
input size), so in training a child's face looked larger than it does when indexing reads the
whole photo. Reading the same weights at a larger size ("FixRes") brings faces back to the size
learnt, at more compute and no retraining. Each committed network is read at several sizes;
the product's head (logistic regression on the joined vector, each member normalised) is fitted
out of fold on the 2,100 photos neither network learnt, 10 folds, fold seeds 29..67, at the
product's rule. Selection figures; holdout is never read. The rule fixed before it ran: pursue a
size pair whose mean is >= 0.015 below the product's sizes, lower on 8 of 10 seeds, with child
photos flagged >= 0.985 (then it must also keep retrieval and `train`'s 10 minutes).

    .venv/bin/python scripts/probe_resolution.py [--lite0 224,256,288] [--lite2 260,300,340] [--cache DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import product as pairs
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from probe_linear_heads import compare, fresh_photos, product  # noqa: E402  (a sibling script)

from core.encoders.image import CnnImageEncoder  # noqa: E402
from core.encoders.lite import build_finetuned  # noqa: E402
from core.encoders.registry import FINETUNED, FINETUNED_LITE2, LITE_MEAN, LITE_STD, REGISTRY, get_encoder  # noqa: E402
from core.foundation.settings import Settings  # noqa: E402
from core.legal.logistic import unit_rows  # noqa: E402


def learnt_at(name: str) -> int:
    """The size the registered encoder reads `name` at: the one its weights learnt at."""
    return int(get_encoder(name, "image").size)


def vectors(name: str, size: int, paths: list[Path], cache: Path) -> tuple[np.ndarray, float]:
    """The network's pooled vectors at `size` px, and its photos per second (0 when cached)."""
    file = cache / f"{name}-{size}.npy"
    if file.exists():
        return np.load(file), 0.0
    encoder = CnnImageEncoder(REGISTRY[name], lambda: build_finetuned(name, learnt_at(name)), size=size,
                              mean=LITE_MEAN, std=LITE_STD)
    encoder.encode_arrays(np.zeros((1, 3, size, size), np.float32))  # load before timing
    start = time.perf_counter()
    out, failures = encoder.encode_paths(paths)
    rate = len(paths) / (time.perf_counter() - start)
    if failures:
        raise SystemExit(f"{len(failures)} photos could not be read")
    cache.mkdir(parents=True, exist_ok=True)
    np.save(file, out)
    return out, rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lite0", default="224,256,288")
    parser.add_argument("--lite2", default="260,300,340")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/probe_resolution"))
    args = parser.parse_args()
    settings = Settings()
    paths, child, adult, kind = fresh_photos(settings)
    sizes = {FINETUNED: [int(s) for s in args.lite0.split(",")],
             FINETUNED_LITE2: [int(s) for s in args.lite2.split(",")]}
    read: dict[tuple[str, int], np.ndarray] = {}
    for name, wanted in sizes.items():
        for size in wanted:
            read[name, size], rate = vectors(name, size, paths, args.cache)
            print(f"{name} at {size} px" + (f": {rate:.1f} photos/s" if rate else " (cached)"), flush=True)
    baseline: np.ndarray | None = None
    for s0, s2 in pairs(sizes[FINETUNED], sizes[FINETUNED_LITE2]):
        Z = unit_rows(np.hstack([unit_rows(read[FINETUNED, s0].astype(float)),
                                 unit_rows(read[FINETUNED_LITE2, s2].astype(float))]))
        withheld = compare(f"Lite0 {s0} + Lite2 {s2}", product(), Z, child, kind, adult, baseline)
        baseline = withheld if baseline is None else baseline


if __name__ == "__main__":
    main()
