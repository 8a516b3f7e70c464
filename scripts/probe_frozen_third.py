"""Probe: what else could the child check read, beside the two fine-tuned networks? (#9, 2026-11-28)

With Lite0 and Lite2 both fine-tuned, the child check is logistic regression on the joined vector,
fitted only on the 2,100 photos neither fine-tune learnt. This measures, out of fold on those
photos, at the product's rule (recall >= 0.98 at 95% confidence) and 3 folds, for ten fold seeds
(the five of the earlier probes, then five new ones), the other photos withheld by:

- logistic regression alone, for several C and fold counts;
- logistic regression on the vector joined with a frozen ImageNet network's (each part unit
  length, as the joined encoders make it): Lite0 at 224 px and at smaller inputs (cheaper), Lite2,
  or both; Lite0 adds ~16 ms a photo on 2 cores (the fine-tuned pair costs ~51 ms);
- the same joined with a fine-tuned network's own earlier blocks, mean-pooled (free at indexing:
  the forward pass computes them anyway);
- the blend (core.legal.blend) with a head on frozen Lite0 that learns from all 6,999 photos.

Selection figures; holdout is never read.

    .venv/bin/python scripts/probe_frozen_third.py   # ~12 min, most of it encoding photos
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from core.encoders.cache import embed_images  # noqa: E402
from core.encoders.image import decoded_batches, torch_threads  # noqa: E402
from core.encoders.lite import build_finetuned, lite_parts  # noqa: E402
from core.encoders.registry import get_encoder  # noqa: E402
from core.foundation.settings import Settings  # noqa: E402
from core.legal.blend import BlendedChildClassifier  # noqa: E402
from core.legal.logistic import ChildPhotoClassifier, unit_rows  # noqa: E402
from core.legal.training import child_training_photos  # noqa: E402

SEEDS = (42, 7, 1, 3, 5, 11, 13, 17, 19, 23)
Fit = Callable[[int], tuple[float, float]]  # seed -> (child photos flagged, other photos withheld)


def report(name: str, fit: Fit) -> None:
    runs = [fit(seed) for seed in SEEDS]
    withheld = np.array([w for _, w in runs])
    print(f"{name:44s} withheld {withheld.mean():.3f} (sd {withheld.std():.3f}; first five "
          f"{withheld[:5].mean():.3f}); flagged {np.mean([f for f, _ in runs]):.3f}", flush=True)


def logistic(X: np.ndarray, y: np.ndarray, C: float = 1.0, folds: int = 3) -> Fit:
    def fit(seed: int) -> tuple[float, float]:
        clf = ChildPhotoClassifier(C=C, folds=folds, seed=seed).fit(X, y)
        return clf.cv_recall_, clf.cv_false_positive_rate_
    return fit


def cached(paths: list[Path], encoder: str, settings: Settings) -> np.ndarray:
    found, failures = embed_images(paths, encoder, settings.cache_dir)
    if failures:
        raise SystemExit(f"{len(failures)} photos could not be read for {encoder}")
    return unit_rows(np.asarray(found, dtype=float))


def run_layers(paths: list[Path], size: int, trunk, tail,  # type: ignore[no-untyped-def]
               taps: list[int]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """(vectors, {layer: mean-pooled output}) of `tail` for layers `taps`, photos squeezed to `size`."""
    import torch
    from PIL import Image

    def prepare(image: Image.Image) -> np.ndarray:
        array = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), np.float32) / 255
        return ((array - 0.5) / 0.5).transpose(2, 0, 1)  # the Lite models' scaling

    pooled: dict[int, list[np.ndarray]] = {i: [] for i in taps}
    def keep(i: int):  # type: ignore[no-untyped-def]
        return lambda _module, _inputs, out: pooled[i].append(out.mean((2, 3)).numpy())

    hooks = [tail[i].register_forward_hook(keep(i)) for i in taps]
    vectors, failures = [], {}
    torch_threads()
    with torch.inference_mode():
        for _, arrays in decoded_batches(paths, prepare, 32, 2, failures):
            vectors.append(tail(trunk(torch.from_numpy(np.stack(arrays)))).flatten(1).numpy())
    for hook in hooks:
        hook.remove()
    if failures:
        raise SystemExit(f"{len(failures)} photos could not be read")
    return unit_rows(np.concatenate(vectors)), {i: unit_rows(np.concatenate(v)) for i, v in pooled.items()}


def main() -> None:
    settings = Settings()
    paths, y, fresh = child_training_photos(settings)
    fresh_paths, yf = [p for p, keep in zip(paths, fresh, strict=True) if keep], y[fresh]
    base = cached(fresh_paths, settings.image_encoder, settings)
    print(f"{settings.image_encoder}: {len(y)} labelled photos ({y.sum()} child), {fresh.sum()} never "
          f"learnt ({yf.sum()} child). Other photos withheld at the rule, over {len(SEEDS)} fold seeds:")
    for C, folds in ((1.0, 3), (0.3, 3), (3.0, 3), (1.0, 5), (1.0, 10)):
        report(f"logistic C={C:g} folds={folds}", logistic(base, yf, C, folds))
    lite0, lite2 = (cached(fresh_paths, f"efficientnet-{v}", settings) for v in ("lite0", "lite2"))
    report("+ frozen Lite0 224 px", logistic(np.hstack([base, lite0]), yf))
    report("+ frozen Lite2 260 px", logistic(np.hstack([base, lite2]), yf))
    report("+ frozen Lite0 and Lite2", logistic(np.hstack([base, lite0, lite2]), yf))
    trunk, tail = lite_parts("lite0", split=-1)
    for size in (160, 192):
        vectors, _ = run_layers(fresh_paths, size, trunk.eval(), tail.eval(), [])
        report(f"+ frozen Lite0 {size} px", logistic(np.hstack([base, vectors]), yf))
    for name in ("efficientnet-lite0-captions", "efficientnet-lite2-captions"):
        size = get_encoder(name, "image").size
        trunk, tail = (part.eval() for part in build_finetuned(name, size))
        taps = list(range(len(tail) - 9, len(tail) - 4))  # the last blocks and the head's conv
        for tap, pooled in run_layers(fresh_paths, size, trunk, tail, taps)[1].items():
            report(f"+ {name} layer {tap} ({type(tail[tap]).__name__})",
                   logistic(np.hstack([base, pooled]), yf))
    everything = cached(paths, settings.image_encoder, settings)
    joined = np.hstack([everything, cached(paths, "efficientnet-lite0", settings)])
    for weight in (0.1, 0.2, 0.3):
        def blend(seed: int, weight: float = weight) -> tuple[float, float]:
            clf = BlendedChildClassifier((everything.shape[1], joined.shape[1]), weight=weight, seed=seed)
            clf.fit(joined, y, fresh)
            return clf.cv_recall_, clf.cv_false_positive_rate_
        report(f"+ frozen Lite0, blended with its head, w={weight:g}", blend)


if __name__ == "__main__":
    main()
