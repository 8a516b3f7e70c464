"""What runs a photo network: PyTorch, the reference, or ONNX Runtime on the same network exported
to ONNX (core.encoders.onnx_export) in float32 or int8, as $WITHSENSE_RUNTIME says
(core.foundation.settings.photo_runtime: torch, onnx-fp32 or onnx-int8; default torch).

The runtime is kept apart from the networks, as immich's machine-learning service keeps its
runtimes apart from its models: each CNN encoder holds a PhotoRuntime and asks it, batch by batch,
for an exported network to run; None means PyTorch. PyTorch runs instead of ONNX Runtime, with
one logged line saying why, when a caller needs the trunk's output (the child-photo network
reads it; the exported network ends in the pooled vector), when onnxruntime is not importable,
when exporting fails, or when int8 is asked for before it was calibrated (`calibrate`, on
training photos only). Exported files live in the cache (.cache/onnx, or $WITHSENSE_CACHE/onnx),
named by a fingerprint of the weight files, so changed weights export again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.encoders import onnx_export
from core.foundation.atomic import UnwritableError
from core.foundation.errors import WithSenseError
from core.foundation.settings import cache_root, photo_runtime, torch_thread_count

logger = logging.getLogger(__name__)
Network = Callable[[np.ndarray], np.ndarray]
RUNTIME_SETTING = "WITHSENSE_RUNTIME"


def onnx_folder(cache_dir: Path | None = None) -> Path:
    """Where exported networks are kept: `cache_dir`/onnx (default: the project's cache)."""
    return Path(cache_root() if cache_dir is None else cache_dir) / "onnx"


class PhotoRuntime:
    """Runs one encoder's network (preprocessed photos, 3 x size x size -> pooled vectors) with
    the runtime the setting asks for. `network` builds the PyTorch network (trunk then tail),
    called only to export it; `weights` lists the files its weights come from (None: not known,
    so it always runs in PyTorch). `cache_dir`, when set, overrides the project's cache."""

    def __init__(self, name: str, size: int, network: Callable[[], Any],
                 weights: Callable[[], Sequence[Path]] | None, cache_dir: Path | None = None) -> None:
        self.name = name
        self.size = size
        self.cache_dir = cache_dir
        self._network = network
        self._weights = weights
        self._opened: dict[tuple[str, Path, int], Network | None] = {}
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def network(self, needs_trunk: bool = False) -> Network | None:
        """The exported network to run on a batch, or None to run PyTorch (why is logged once)."""
        choice = photo_runtime()
        if choice == "torch":
            return None
        if needs_trunk:
            self._say(choice, "the caller reads the trunk's output (the child-photo network), and the "
                              "exported network ends in the pooled vector")
            return None
        cache = Path(cache_root() if self.cache_dir is None else self.cache_dir)
        key = (choice.removeprefix("onnx-"), cache, torch_thread_count())
        with self._lock:
            if key not in self._opened:
                self._opened[key] = self._open(choice, *key)
            return self._opened[key]

    def model_path(self, precision: str, cache_dir: Path | None = None) -> Path:
        """The file this network in `precision` has in the cache for its current weights."""
        if self._weights is None:
            raise ValueError(f"{self.name}: its weight files are not known, so it has no ONNX file")
        print_ = onnx_export.fingerprint(self._weights(), self.size)
        folder = onnx_folder(self.cache_dir if cache_dir is None else cache_dir)
        return onnx_export.model_path(folder, self.name, precision, print_)

    def export(self, cache_dir: Path | None = None) -> Path:
        """The float32 ONNX file for the current weights, exported unless already there."""
        path = self.model_path("fp32", cache_dir)
        if not path.is_file():
            onnx_export.export_fp32(self._network(), self.size, path, self._facts())
        return path

    def calibrate(self, photos: np.ndarray, names: Sequence[str], cache_dir: Path | None = None) -> Path:
        """Quantize the network to int8, its activations calibrated on `photos` (preprocessed,
        N x 3 x size x size; training photos only, named by `names`); returns the int8 file.
        The next batch asked for in int8 runs it."""
        fp32 = self.export(cache_dir)
        listed = hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()
        facts = {**self._facts(), "calibration": {"photos": len(photos), "names_sha256": listed}}
        path = onnx_export.quantize_int8(fp32, photos, self.model_path("int8", cache_dir), facts)
        with self._lock:  # int8 was missing or stale before: look again
            self._opened = {key: run for key, run in self._opened.items() if key[0] != "int8"}
        return path

    def int8_ready(self) -> bool:
        """Whether this network's int8 file for the current weights is in the cache."""
        return self._weights is not None and self.model_path("int8").is_file()

    def _facts(self) -> dict[str, Any]:
        files = [str(f) for f in self._weights()] if self._weights is not None else []
        return {"encoder": self.name, "size": self.size, "weights": files,
                "export_revision": onnx_export.EXPORT_REVISION}

    def _open(self, choice: str, precision: str, cache: Path, threads: int) -> Network | None:
        try:
            import onnxruntime  # noqa: F401  (only whether it imports)
        except ImportError as exc:
            return self._say(choice, f"onnxruntime is not importable ({exc})")
        if self._weights is None:
            return self._say(choice, "its weight files are not known, so an exported copy could not "
                                     "be told from a stale one")
        try:
            path = self.model_path(precision, cache)
            if precision == "int8" and not path.is_file():
                return self._say(choice, f"no int8 network is calibrated for these weights in "
                                         f"{path.parent} yet (encoder.calibrate_int8 on training "
                                         "photos makes it)")
            if not path.is_file():
                self.export(cache)
                logger.info("%s: exported to ONNX as %s", self.name, path)
        except UnwritableError as exc:  # a read-only cache: PyTorch needs none
            return self._say(choice, f"the exported network cannot be kept ({exc})")
        except WithSenseError:
            raise  # the weights themselves are missing or damaged: PyTorch would fail alike
        except Exception as exc:  # the exporter raises many kinds for an unsupported network
            return self._say(choice, f"exporting it to ONNX failed ({type(exc).__name__}: {exc})")
        try:
            run = onnx_export.open_session(path, threads)
        except Exception as exc:  # onnxruntime's own error types
            return self._say(choice, f"ONNX Runtime cannot open {path} ({exc}); delete the file "
                                     "to export it again")
        logger.info("%s: running in ONNX Runtime, %s, %d threads (%s)", self.name, precision, threads,
                    path.name)
        return run

    def _say(self, choice: str, why: str) -> None:
        """Log, once per encoder and reason, that PyTorch runs instead of what was asked for."""
        line = f"{self.name}: {RUNTIME_SETTING}={choice} asks for ONNX Runtime; running PyTorch, as {why}"
        if line not in self._said:  # a race logs it twice at worst
            self._said.add(line)
            logger.warning(line)
