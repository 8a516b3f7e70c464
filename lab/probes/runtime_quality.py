"""Probe: does a runtime keep search quality? (issue #35; selection figures)

Indexes the 100 practicum test photos with the shipped model in each runtime (PyTorch, ONNX
Runtime float32 and int8) and scores the 500 practicum test queries against them: R@1, R@10,
the mean cosine of each runtime's raw photo vectors to PyTorch's, and how many child flags
change. int8 is calibrated, as `train` calibrates it, on training photos only (a seeded sample
of the extra corpus and the practicum training photos); `--calibration` sets how many. Exported
networks go to a temporary cache. Holdout is not read.

    .venv/bin/python -m lab probe runtime_quality -- --calibration 256
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from core.build.train import calibration_photos
from core.data.dataset import load_test_queries
from core.encoders.registry import get_encoder
from core.foundation.settings import Settings, using_runtime
from core.search.service import load_model


def _recall(similarity: np.ndarray, truth: np.ndarray, k: int) -> float:
    top = np.argsort(-similarity, axis=1)[:, :k]
    return float(np.mean([truth[i] in top[i] for i in range(len(truth))]))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab probe runtime_quality")
    parser.add_argument("--calibration", type=int, default=256, help="training photos for int8")
    args = parser.parse_args([a for a in argv if a != "--"])
    settings = Settings()
    bundle = load_model(settings)
    queries = load_test_queries(settings.practicum_dir)
    photos = sorted(set(queries["image"]))
    paths = [settings.practicum_dir / "test_images" / name for name in photos]
    truth = np.array([photos.index(name) for name in queries["image"]])
    text = bundle.encode_queries(list(queries["query_text"]))
    calibration = calibration_photos(settings, args.calibration)
    print(f"{len(paths)} photos, {len(text)} queries; int8 calibrated on {len(calibration)} training photos")
    raw: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["WITHSENSE_CACHE"] = cache  # the probe's exports stay out of the project's cache
        start = time.perf_counter()
        get_encoder(bundle.image_encoder, "image").calibrate_int8(calibration)  # into the cache above
        print(f"calibration: {time.perf_counter() - start:.0f} s")
        flags_torch = None
        for runtime in ("torch", "onnx-fp32", "onnx-int8"):
            with using_runtime(runtime):
                vectors, flags, _, _ = bundle.embed_photos(paths)
            raw[runtime] = vectors
            flags_torch = flags if flags_torch is None else flags_torch
            similarity = text @ vectors.T
            cosine = float(np.mean(np.sum(vectors * raw["torch"], axis=1)))
            print(f"{runtime:10s} R@1 {_recall(similarity, truth, 1):.3f}"
                  f"  R@10 {_recall(similarity, truth, 10):.3f}"
                  f"  cos to torch (projected) {cosine:.4f}  flags {int(flags.sum())}"
                  f" (changed {int((flags != flags_torch).sum())})")
    return 0
