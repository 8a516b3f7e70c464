"""What every encoder shares: its spec in the registry, the errors choosing one can fail with,
unit-length rows, torch's thread count, and loading weights once, on first use, under a lock.
The registry (core.encoders.registry) and the encoders it builds (image, text) import this
module, never each other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from core.foundation.errors import Problem, WithSenseError
from core.foundation.settings import torch_thread_count

Loaded = TypeVar("Loaded")


class UnknownEncoderError(WithSenseError, KeyError):
    """No encoder of that name (and kind); the message lists the valid names."""

    problem = Problem.CANNOT_RUN

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class WeightsUnavailableError(WithSenseError, RuntimeError):
    """The encoder's weights are not on this machine; the message says how to get them."""

    problem = Problem.CANNOT_RUN


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    kind: str  # "text" or "image"
    dim: int
    weights_source: str
    preprocessing: str
    factory: Callable[[EncoderSpec], Any]
    # Part of the embedding cache's key: bump it whenever preprocessing or weights change.
    revision: str = "1"
    # The project's own weights under models/ (lab/finetune/photo.py), with a child-photo head
    # trained alongside, used instead of fitting one.
    own_weights: str | None = None
    # A joined encoder's member encoders (registry names).
    members: tuple[str, ...] = ()


class LazyModel(Generic[Loaded]):
    """An encoder's base: constructors only store settings, and `loaded()` builds the network
    (`_build_model`) once, on first use, even when threads ask together (the app's warm-up thread
    and a first search do)."""

    def __init__(self) -> None:
        self._loaded: Loaded | None = None
        self._load_lock = threading.Lock()

    def _build_model(self) -> Loaded:
        raise NotImplementedError

    def loaded(self) -> Loaded:
        if self._loaded is None:
            with self._load_lock:
                if self._loaded is None:
                    self._loaded = self._build_model()
        return self._loaded


def normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def torch_threads() -> None:
    import torch

    wanted = torch_thread_count()
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
