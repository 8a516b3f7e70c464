"""The photo networks' runtime (core/encoders/runtime.py) on real photos: ONNX Runtime's float32
copy gives PyTorch's vectors, the int8 copy nearly them; the exported file is kept by its weights'
fingerprint; PyTorch runs, saying why in one logged line, when ONNX Runtime cannot."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from conftest import fresh_encoder, require

from core.encoders import onnx_export
from core.encoders.cache import runtime_variant
from core.encoders.image import CnnImageEncoder
from core.encoders.own_weights import read_manifest, save_own_weights, weights_files
from core.encoders.registry import FINETUNED, JOINED_BOTH_TUNED, get_encoder
from core.foundation.settings import SettingError, photo_runtime, using_runtime

PHOTOS = 8
CALIBRATION_PHOTOS = 16
LOGGER = "core.encoders.runtime"


@pytest.fixture(scope="module")
def photos(practicum_dir: Path) -> list[Path]:
    require("onnxruntime")
    return sorted((practicum_dir / "test_images").glob("*.jpg"))[:PHOTOS]


@pytest.fixture(scope="module")
def torch_vectors(photos: list[Path]) -> dict[str, np.ndarray]:
    """PyTorch's vectors of the photos, the reference, by encoder name."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WITHSENSE_RUNTIME", "torch")
        names = [JOINED_BOTH_TUNED, *get_encoder(JOINED_BOTH_TUNED).spec.members]
        return {name: get_encoder(name, "image").encode_paths(photos)[0] for name in names}


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], None]:
    """Sets the runtime; exported networks go to a temporary cache."""
    monkeypatch.setenv("WITHSENSE_CACHE", str(tmp_path / "cache"))
    return lambda choice: monkeypatch.setenv("WITHSENSE_RUNTIME", choice)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_the_runtime_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WITHSENSE_RUNTIME", raising=False)
    assert photo_runtime() == "onnx-fp32"  # chosen on the measurement (README, #35)
    with using_runtime("onnx-int8"):
        assert photo_runtime() == "onnx-int8"  # bench measures each runtime in one process
    assert photo_runtime() == "onnx-fp32"
    monkeypatch.setenv("WITHSENSE_RUNTIME", "onnx-fp16")
    with pytest.raises(SettingError, match="torch, onnx-fp32, onnx-int8"):
        photo_runtime()
    with pytest.raises(SettingError, match="torch, onnx-fp32, onnx-int8"), using_runtime("fp16"):
        pass


def test_fp32_onnx_gives_pytorchs_vectors_for_the_default_encoder(
        photos: list[Path], torch_vectors: dict[str, np.ndarray], use: Callable[[str], None]) -> None:
    use("onnx-fp32")
    joined = fresh_encoder(JOINED_BOTH_TUNED)
    vectors, failures = joined.encode_paths(photos, batch_size=5)  # batches of 5 and 3: any batch
    assert not failures
    assert cosines(vectors, torch_vectors[JOINED_BOTH_TUNED]).min() > 0.999
    for member in joined.members():  # each network in ONNX Runtime, none fell back to PyTorch
        assert member.runtime.model_path("fp32").is_file()
        alone, _ = member.encode_paths(photos)
        assert cosines(alone, torch_vectors[member.name]).min() > 0.999


def test_the_exported_file_is_reused_and_rebuilt_for_new_weights(
        photos: list[Path], use: Callable[[str], None], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    torch = require("torch")
    models = tmp_path / "models"
    models.mkdir()
    for file in weights_files(FINETUNED):
        shutil.copy(file, models / file.name)
    monkeypatch.setenv("WITHSENSE_MODELS", str(models))
    exports: list[Path] = []
    real_export = onnx_export.export_fp32
    monkeypatch.setattr(onnx_export, "export_fp32",
                        lambda *args: exports.append(args[2]) or real_export(*args))
    use("onnx-fp32")

    first, _ = fresh_encoder(FINETUNED).encode_paths(photos[:2])
    again, _ = fresh_encoder(FINETUNED).encode_paths(photos[:2])  # a new process would do the same
    assert len(exports) == 1 and exports[0].is_file()
    np.testing.assert_allclose(first, again, atol=1e-6)

    # New weights (their manifest made for them, as `python -m lab finetune` does): a new file.
    state = torch.load(models / f"{FINETUNED}.pt", weights_only=True)
    name, tensor = next((k, v) for k, v in state["tail"].items() if v.ndim == 4 and v.shape[1] > 1)
    state["tail"][name] = tensor * 1.5
    manifest = {k: v for k, v in read_manifest(FINETUNED, models).items() if k != "sha256"}
    save_own_weights(FINETUNED, state, manifest, models)
    changed, _ = fresh_encoder(FINETUNED).encode_paths(photos[:2])
    assert len(exports) == 2 and exports[1] != exports[0]
    assert exports[1].is_file() and not exports[0].exists()  # the stale fingerprint's file is gone
    assert cosines(changed, first).min() < 0.9999  # it holds the new weights


def test_int8_from_calibration_photos_stays_close_to_pytorch(
        photos: list[Path], practicum_dir: Path, torch_vectors: dict[str, np.ndarray],
        use: Callable[[str], None], caplog: pytest.LogCaptureFixture,
        record_property: Callable[[str, object], None]) -> None:
    use("onnx-int8")
    encoder = fresh_encoder(FINETUNED)
    with caplog.at_level(logging.WARNING, LOGGER):  # not calibrated yet: PyTorch, saying so
        before, _ = encoder.encode_paths(photos[:2])
    assert "no int8 network is calibrated" in caplog.text
    np.testing.assert_allclose(before, torch_vectors[FINETUNED][:2], atol=1e-5)
    assert runtime_variant(FINETUNED) == ""  # so they are cached as PyTorch's, which they are

    training = sorted((practicum_dir / "train_images").glob("*.jpg"))[:CALIBRATION_PHOTOS]
    [int8] = encoder.calibrate_int8(training)
    facts = json.loads(int8.with_suffix(".json").read_text())
    assert facts["precision"] == "int8" and facts["calibration"]["photos"] == CALIBRATION_PHOTOS
    assert int8.stat().st_size < 0.5 * encoder.runtime.model_path("fp32").stat().st_size
    assert runtime_variant(FINETUNED) == "-int8"

    vectors, _ = encoder.encode_paths(photos)
    similar = cosines(vectors, torch_vectors[FINETUNED])
    record_property("int8_mean_cosine", float(similar.mean()))
    print(f"int8 vs PyTorch, {FINETUNED}: mean cosine {similar.mean():.4f}, min {similar.min():.4f}")
    assert similar.mean() > 0.95 and similar.min() > 0.9
    assert similar.max() < 0.99999  # really the int8 network, not PyTorch


def test_without_onnxruntime_pytorch_runs_and_says_why(
        photos: list[Path], torch_vectors: dict[str, np.ndarray], use: Callable[[str], None],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    use("onnx-fp32")
    encoder = fresh_encoder(FINETUNED)
    with caplog.at_level(logging.INFO, LOGGER):
        first, _ = encoder.encode_paths(photos[:3], batch_size=2)
        encoder.encode_paths(photos[3:4])
    [line] = [r for r in caplog.records if r.name == LOGGER]  # one line, however many batches
    assert line.levelno == logging.WARNING
    assert "running PyTorch" in line.message and "onnxruntime is not importable" in line.message
    np.testing.assert_allclose(first, torch_vectors[FINETUNED][:3], atol=1e-6)
    assert not (tmp_path / "cache" / "onnx").exists()


def test_a_caller_reading_the_trunk_gets_pytorch(photos: list[Path], use: Callable[[str], None],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    use("onnx-fp32")
    seen: list[tuple[int, ...]] = []
    encoder = fresh_encoder(FINETUNED)
    with caplog.at_level(logging.WARNING, LOGGER):
        encoder.encode_paths(photos[:2], on_trunk=lambda rows, trunk: seen.append(tuple(trunk.shape)))
    assert seen and "trunk" in caplog.text and "running PyTorch" in caplog.text


def test_int8_vectors_never_mix_with_float_ones(tmp_path: Path, use: Callable[[str], None]) -> None:
    """int8 vectors (cosine ~0.987 to PyTorch's) get their own cache and gallery fingerprint once
    the network is calibrated; before that PyTorch runs, so the vectors share PyTorch's cache, as
    do float32 ONNX Runtime's, which are the same."""
    from core.encoders.cache import open_cache

    folders = {}
    for runtime in ("torch", "onnx-fp32", "onnx-int8"):
        use(runtime)
        folders[runtime] = open_cache(tmp_path, "image", "efficientnet-lite0-captions").folder
    assert folders["torch"] == folders["onnx-fp32"] == folders["onnx-int8"]  # int8 not calibrated here
    with using_runtime("onnx-int8"), mock.patch.object(CnnImageEncoder, "int8_ready", return_value=True):
        assert open_cache(tmp_path, "image", "efficientnet-lite0-captions").folder != folders["torch"]
