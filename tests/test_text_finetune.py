"""lab.finetune.text and the `minilm-captions` encoder: MiniLM's last layers learn from captions,
remade on a small real subset, loaded by name, refused when their file is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import damaged_copy, fresh_encoder

from core.data import dataset as data
from core.encoders.base import WeightsUnavailableError
from core.encoders.own_weights import read_manifest, sha256_file
from core.encoders.registry import MINILM_CAPTIONS
from core.foundation.settings import Settings
from lab.finetune.text import TextFinetuneConfig, finetune_text

TINY = TextFinetuneConfig(image_encoder="efficientnet-lite0", layers=1, epochs=1, batch_size=32)
QUERIES = ["two dogs running on snow", "a man riding a bicycle down a city street"]


@pytest.fixture(scope="module")
def remade_text(mini_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("text-models")
    finetune_text(Settings(data_dir=mini_data, cache_dir=tmp_path_factory.mktemp("cache")), TINY, out)
    return out


def test_finetune_text_learns_only_from_photos_outside_validation(remade_text: Path, mini_data: Path) -> None:
    manifest = read_manifest(MINILM_CAPTIONS, remade_text)
    assert manifest is not None and manifest["sha256"] == sha256_file(remade_text / manifest["file"])
    assert manifest["command"] == "python -m lab finetune-text"
    assert manifest["settings"]["layers"] == 1
    assert manifest["settings"]["image_encoder"] == "efficientnet-lite0"
    assert manifest["validation_photos_excluded"] is True
    photos = sorted(p.name for p in (mini_data / "flickr8k" / "images").iterdir())
    held = data.validation_photos(photos, Settings().seed)
    assert len(held) == 24  # half of 48: the validation retrieval's photos are never learnt
    assert manifest["data"]["photos"] == 48 - 24 and manifest["data"]["captions"] == 5 * 24


def test_remade_text_encoder_loads_by_name_and_moved_from_minilm(
        remade_text: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITHSENSE_MODELS", str(remade_text))
    tuned, base = fresh_encoder(MINILM_CAPTIONS).encode(QUERIES), fresh_encoder("minilm").encode(QUERIES)
    np.testing.assert_allclose(np.linalg.norm(tuned, axis=1), 1, atol=1e-4)
    cosine = (tuned * base).sum(1)
    assert (cosine < 0.99999).all() and (cosine > 0.5).all()  # learnt, from MiniLM's start


def test_damaged_text_weights_name_the_command_that_remakes_them(
        remade_text: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    damaged = damaged_copy(remade_text, MINILM_CAPTIONS, tmp_path / "damaged")
    monkeypatch.setenv("WITHSENSE_MODELS", str(damaged))
    with pytest.raises(WeightsUnavailableError, match=r"damaged or stale.*finetune-text"):
        fresh_encoder(MINILM_CAPTIONS).encode(QUERIES)
