"""A photo network exported to ONNX, in float32 or int8, kept in the cache under a fingerprint.

The fingerprint is the sha256 of the network's weight files with the input size, the ONNX opset
and this module's revision: new weights (or a new way of exporting) get a new file, and the files
of older fingerprints are removed. Every file is written atomically (core.foundation.atomic).
torch, onnx and onnxruntime are imported only when a network is exported or quantized.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.encoders.own_weights import sha256_file
from core.foundation.atomic import atomic_write_bytes, atomic_write_json

OPSET = 17
# Part of the fingerprint: bump it whenever the export or the quantization below changes.
EXPORT_REVISION = "1"
INPUT, OUTPUT = "pixels", "pooled"
PRECISIONS = ("fp32", "int8")
# Photos per calibration batch: the calibrator holds one batch's activations at a time.
CALIBRATION_BATCH = 8

_hashes: dict[tuple[str, int, int], str] = {}
_hashes_lock = threading.Lock()


def _file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process for each (path, size, modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _hashes_lock:
        if key not in _hashes:
            _hashes[key] = sha256_file(path)
        return _hashes[key]


def fingerprint(weight_files: Sequence[Path], size: int) -> str:
    """What an exported network depends on: its weights' bytes, its input size, how it was exported."""
    facts = {"weights": [_file_sha256(Path(f)) for f in weight_files], "size": size, "opset": OPSET,
             "revision": EXPORT_REVISION}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def model_path(folder: Path, name: str, precision: str, print_: str) -> Path:
    """Where encoder `name`'s network in `precision` with fingerprint `print_` is kept."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return Path(folder) / f"{name}-{precision}-{print_}.onnx"


def _publish(path: Path, model: bytes, facts: dict[str, Any]) -> Path:
    """Write the model and, beside it, what it was made from; remove older fingerprints' files."""
    atomic_write_bytes(path, model)
    atomic_write_json(path.with_suffix(".json"), facts)
    stem = path.stem.rsplit("-", 1)[0]  # name-precision
    for old in path.parent.glob(f"{stem}-*.onnx"):
        if old != path and old.stem.rsplit("-", 1)[0] == stem:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
    return path


def export_fp32(network: Any, size: int, path: Path, facts: dict[str, Any]) -> Path:
    """Export `network` (photos 3 x size x size -> pooled vectors; any batch) to `path`."""
    import torch

    buffer = io.BytesIO()
    example = torch.zeros(1, 3, size, size)
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter: it needs nothing beyond torch (the dynamo one needs onnxscript)
        # and warns of steps it cannot fold, which change nothing here.
        warnings.simplefilter("ignore")
        torch.onnx.export(network.eval(), (example,), buffer, dynamo=False, opset_version=OPSET,
                          input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}})
    return _publish(path, buffer.getvalue(), {**facts, "precision": "fp32", "opset": OPSET})


class _Batches:
    """onnxruntime's calibration reader over preprocessed photos, a batch at a time. With
    `CalibStridedMinMax` 1 the calibrator reads one batch (`set_range`), merges its ranges and
    drops its activations before the next (`CalibMaxIntermediateOutputs` drops them unmerged)."""

    def __init__(self, photos: np.ndarray) -> None:
        self._photos = photos
        self._starts = list(range(0, len(photos), CALIBRATION_BATCH))
        self._next = iter(self._starts)

    def __len__(self) -> int:
        return len(self._starts)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._next = iter(self._starts[start_index:end_index])

    def get_next(self) -> dict[str, np.ndarray] | None:
        start = next(self._next, None)
        if start is None:
            return None
        return {INPUT: np.ascontiguousarray(self._photos[start : start + CALIBRATION_BATCH], np.float32)}


def quantize_int8(fp32_path: Path, photos: np.ndarray, path: Path, facts: dict[str, Any]) -> Path:
    """Static int8 quantization of the float32 model at `fp32_path` (QDQ, weights per channel),
    its activations' ranges calibrated on `photos` (preprocessed, N x 3 x size x size).

    Activations are uint8 and weights int8 in 7 bits (`reduce_range`): onnxruntime's advice for
    x86 CPUs, as 8-bit products of CPUs without VNNI instructions can saturate."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not len(photos):
        raise ValueError("int8 calibration needs at least one photo")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".quantize-") as work:
        prepared, quantized = Path(work) / "prepared.onnx", Path(work) / "int8.onnx"
        # Shape inference and graph folding first, so each convolution is quantized as one.
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(prepared, quantized, _Batches(photos), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"CalibStridedMinMax": 1})
        return _publish(path, quantized.read_bytes(), {**facts, "precision": "int8", "opset": OPSET})


def open_session(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    """An onnxruntime session on the CPU for the model at `path`: preprocessed photos in, pooled
    vectors out. onnxruntime is imported here (the caller falls back to PyTorch without it)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads sleep rather than spin: the next batch's photos decode meanwhile on the same cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run([OUTPUT], {INPUT: np.ascontiguousarray(batch, np.float32)})[0]

    return run
