"""What encodes an indexing run's new photos: an engine. core.gallery.ingest plans the run and
publishes each batch it gets back; the engine only turns photos into vectors and child flags.

An engine is called with the run's settings and model and gives, for as long as it is entered, a
function from (photos to encode, batch size) to encoded batches. The default encodes in this
process, one batch after another; core.gallery.ray_engine encodes on Ray. Entering an engine is
where it may fail to start, before the run writes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np

from core.bundle import ModelBundle
from core.foundation.settings import Settings

Item = tuple[str, Path, str]  # a photo to encode: (id, path, content hash)
# A batch back from an engine: its photos, their vectors, child flags and child probabilities
# (ModelBundle.embed_photos), and the reason each unusable one failed, by position in the batch.
Encoded = tuple[list[Item], np.ndarray, np.ndarray, np.ndarray, dict[int, str]]
EncodeBatches = Callable[[list[Item], int], Iterator[Encoded]]
Engine = Callable[[Settings, ModelBundle], AbstractContextManager[EncodeBatches]]


@contextmanager
def in_process(settings: Settings, bundle: ModelBundle) -> Iterator[EncodeBatches]:
    """The default engine: batches of ``size`` photos encoded one after another in this process,
    each photo's vector and child flag from one forward pass."""

    def encode(todo: list[Item], size: int) -> Iterator[Encoded]:
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            yield (chunk, *bundle.embed_photos([path for _, path, _ in chunk]))

    yield encode
