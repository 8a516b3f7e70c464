"""Probe: which runtime should run the photo networks by default? (issue #35)

Times each network of the default image encoder (fine-tuned Lite0 at 224 px, Lite2 at 260 px)
on the same preprocessed photos in PyTorch, ONNX Runtime float32 and ONNX Runtime int8
(core/encoders/runtime.py), and gives each runtime's mean cosine to PyTorch's vectors. Decoding
is left out: only the networks are timed, best of a few rounds. int8 is calibrated on practicum
training photos; the timed photos are practicum test photos. Exported files go to a temporary
cache. Threads: $WITHSENSE_TORCH_THREADS (every core by default); on a shared machine the
figures are rough.

    WITHSENSE_TORCH_THREADS=2 .venv/bin/python -m lab probe runtime_speed -- --photos 32
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from core.encoders.image import DRAFT_SIDE, CnnImageEncoder
from core.encoders.registry import get_encoder
from core.foundation.images import load_image
from core.foundation.settings import RUNTIMES, Settings, load_model_config, torch_thread_count


def _arrays(encoder: CnnImageEncoder, paths: list[Path]) -> np.ndarray:
    """The photos as the encoder's network reads them (decoded as encode_paths decodes them)."""
    return np.stack([encoder.preprocess(load_image(p, draft_side=DRAFT_SIDE)) for p in paths])


def _best_ms(encoder: CnnImageEncoder, batch: np.ndarray, rounds: int) -> tuple[float, np.ndarray]:
    vectors = encoder.encode_arrays(batch)  # warm-up: sessions opened, weights loaded
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        encoder.encode_arrays(batch)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(batch), vectors


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab probe runtime_speed")
    parser.add_argument("--photos", type=int, default=32, help="photos timed (one batch)")
    parser.add_argument("--calibration", type=int, default=64, help="training photos for int8")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; the best is kept")
    args = parser.parse_args([a for a in argv if a != "--"])
    settings = Settings()
    test = sorted((settings.practicum_dir / "test_images").glob("*.jpg"))[: args.photos]
    train = sorted((settings.practicum_dir / "train_images").glob("*.jpg"))[: args.calibration]
    joined = get_encoder(load_model_config().encoders.image, "image")
    print(f"{len(test)} photos, {torch_thread_count()} threads, int8 calibrated on {len(train)} "
          "training photos; ms/photo, best of rounds (rough on a shared CPU)")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["WITHSENSE_CACHE"] = cache  # the probe's exports stay out of the project's cache
        joined.calibrate_int8(train)
        for member in joined.members():
            batch = _arrays(member, test)
            reference = None
            for runtime in RUNTIMES:
                os.environ["WITHSENSE_RUNTIME"] = runtime
                ms, vectors = _best_ms(member, batch, args.rounds)
                reference = vectors if reference is None else reference
                cosine = float((vectors * reference).sum(axis=1).mean())
                print(f"{member.name:32s} {member.size} px  {runtime:10s} {ms:7.1f} ms/photo  "
                      f"mean cosine to torch {cosine:.4f}", flush=True)
    return 0
