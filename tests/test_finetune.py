"""core.finetune, core.own_weights and the fine-tuned encoder: the photo encoder that learnt from
captions, remade on a small real subset, loaded by name, and refused when its file is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import fresh_encoder
from PIL import Image

from core.child_photos import EncoderChildHead
from core.cli import main
from core.config import Settings
from core.encoders import FINETUNED, WeightsUnavailableError
from core.finetune import FinetuneConfig, augment, finetune
from core.own_weights import OwnWeightsError, load_own_weights, read_manifest, sha256_file

TINY = FinetuneConfig(split=15, views=1, epochs=2, batch_size=16, folds=2)


@pytest.fixture(scope="module")
def remade(mini_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weights and manifest remade by `finetune` into a temporary models folder."""
    out = tmp_path_factory.mktemp("models")
    cache = tmp_path_factory.mktemp("cache")
    finetune(Settings(data_dir=mini_data, cache_dir=cache), TINY, out)
    return out


def test_augment_crops_flips_and_jitters_within_range(practicum_dir: Path) -> None:
    photo = Image.open(sorted((practicum_dir / "test_images").iterdir())[0]).convert("RGB")
    first = augment(photo, np.random.default_rng(1), 224)
    again = augment(photo, np.random.default_rng(1), 224)
    other = augment(photo, np.random.default_rng(2), 224)
    assert first.shape == (3, 224, 224) and first.dtype == np.float32
    assert first.min() >= -1.0 - 1e-6 and first.max() <= 1.0 + 1e-6  # the Lite models' -1..1 scale
    np.testing.assert_allclose(first, again)  # seeded: a rerun sees the same views
    assert np.abs(first - other).mean() > 0.05  # another seed: another crop


def test_finetune_writes_weights_that_match_their_manifest(remade: Path) -> None:
    manifest = read_manifest(FINETUNED, remade)
    assert manifest is not None
    weights = remade / manifest["file"]
    assert manifest["sha256"] == sha256_file(weights)
    assert manifest["settings"]["split"] == TINY.split and manifest["command"] == "python -m core finetune"
    assert manifest["data"]["photos"] == 48  # the extra corpus only: no practicum photo is learnt
    figures = manifest["figures"]
    # The threshold rule holds on the out-of-sample scores it was chosen on.
    assert figures["child_flagged_out_of_sample"] >= TINY.target_recall
    assert 0 <= figures["other_withheld_out_of_sample"] <= 1
    assert 0 <= figures["practicum_test_own_towers"]["r1"] <= figures["practicum_test_own_towers"]["r10"]


def test_remade_encoder_loads_by_name_and_gives_unit_vectors(
        remade: Path, practicum_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITHSENSE_MODELS", str(remade))
    photos = sorted((practicum_dir / "test_images").iterdir())[:6]
    tuned, failures = fresh_encoder(FINETUNED).encode_paths(photos)
    frozen, _ = fresh_encoder("efficientnet-lite0").encode_paths(photos)
    assert not failures
    np.testing.assert_allclose(np.linalg.norm(tuned, axis=1), 1, atol=1e-4)
    cosine = (tuned * frozen).sum(1)
    assert (cosine < 0.9999).all()  # the tail learnt: not the ImageNet vectors...
    assert (cosine > 0.3).all()  # ...but started from them
    head = EncoderChildHead.from_encoder(FINETUNED)
    probability = head.predict_proba(tuned)[:, 1]  # the child column
    assert probability.shape == (6,) and ((probability >= 0) & (probability <= 1)).all()
    assert head.threshold_ == pytest.approx(load_own_weights(FINETUNED)["child_threshold"])


def test_damaged_or_missing_weights_name_the_command_that_remakes_them(
        remade: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(remade, damaged)
    weights = damaged / f"{FINETUNED}.pt"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setenv("WITHSENSE_MODELS", str(damaged))
    with pytest.raises(OwnWeightsError, match=r"damaged or stale.*python -m core finetune"):
        load_own_weights(FINETUNED)
    with pytest.raises(WeightsUnavailableError, match="python -m core finetune"):
        fresh_encoder(FINETUNED).trunk_shape()  # the first use loads the weights
    monkeypatch.setenv("WITHSENSE_MODELS", str(tmp_path / "empty"))
    with pytest.raises(OwnWeightsError, match=r"missing.*python -m core finetune"):
        EncoderChildHead.from_encoder(FINETUNED)
    # From the command line: one clear line, no traceback.
    monkeypatch.setenv("WITHSENSE_IMAGE_ENCODER", FINETUNED)
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(tmp_path / "artifacts"))
    assert main(["train"]) == 2
    err = capsys.readouterr().err
    assert "python -m core finetune" in err and "Traceback" not in err


def test_flip_encoder_sees_a_photo_and_its_mirror_alike(practicum_dir: Path, tmp_path: Path) -> None:
    if read_manifest(FINETUNED) is None:
        pytest.fail(f"models/{FINETUNED}.json is missing: the committed weights are part of the repo")
    photo = sorted((practicum_dir / "test_images").iterdir())[3]
    mirror = tmp_path / "mirror.png"
    Image.open(photo).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirror)
    both = [photo, mirror]
    plain, _ = fresh_encoder(FINETUNED).encode_paths(both)
    flipped, _ = fresh_encoder(f"{FINETUNED}-flip").encode_paths(both)
    assert float(flipped[0] @ flipped[1]) > 0.999  # mean of photo and mirror: the same either way
    assert float(plain[0] @ plain[1]) < float(flipped[0] @ flipped[1])
