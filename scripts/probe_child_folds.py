"""Probe: how many folds should the child check's threshold be chosen over? (#9, 2026-11-28)

The threshold is chosen on out-of-fold scores: with 3 folds each score comes from a head fitted on
two thirds of the 2,100 photos the fine-tunes never learnt, with 10 on nine tenths, closer to the
final head (fitted on all of them) that the product uses. This measures, at the product's rule
(recall >= 0.98 at 95% confidence), the other photos withheld out of fold by logistic regression
for each fold count and fold seed given. Selection figures; holdout is never read.

    .venv/bin/python scripts/probe_child_folds.py --folds 3 10 --seeds 29 31 37   # ~1 min warm
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from core.encoders.cache import embed_images  # noqa: E402
from core.foundation.settings import Settings  # noqa: E402
from core.legal.logistic import ChildPhotoClassifier  # noqa: E402
from core.legal.training import child_training_set  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 1, 3, 5])
    args = parser.parse_args()
    settings = Settings()
    paths, y = child_training_set(settings)
    vectors, failures = embed_images(paths, settings.image_encoder, settings.cache_dir)
    if failures:
        raise SystemExit(f"{len(failures)} photos could not be read")
    print(f"{settings.image_encoder}: {len(y)} photos the fine-tunes never learnt, {y.sum()} child")
    for folds in args.folds:
        runs = [ChildPhotoClassifier(folds=folds, seed=seed).fit(vectors, y) for seed in args.seeds]
        withheld = [clf.cv_false_positive_rate_ for clf in runs]
        print(f"folds {folds:2d}: other photos withheld {np.mean(withheld):.3f} (sd {np.std(withheld):.3f}; "
              f"seeds {' '.join(f'{w:.3f}' for w in withheld)}), child photos flagged "
              f"{np.mean([clf.cv_recall_ for clf in runs]):.3f}", flush=True)


if __name__ == "__main__":
    main()
