"""The model's settings as data: configs/default.toml, its checks, its copy inside model.pt, and
the sweep command that chose the tower settings."""

from __future__ import annotations

import inspect
import json
import math
import re
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.foundation.model_config import (
    SWEEP_METRICS,
    ChildConfig,
    ModelConfigError,
    TowerConfig,
    config_from_dict,
    with_sweep,
)
from core.foundation.settings import PROJECT_ROOT, ArtifactsMissingError, Settings, load_model_config

DEFAULT = PROJECT_ROOT / "configs" / "default.toml"


def default_config():  # type: ignore[no-untyped-def]
    return load_model_config(DEFAULT, environ={})  # no encoder overrides from this shell


def test_default_file_holds_the_code_defaults_it_replaced() -> None:
    """train used TwoTower(), ChildPhotoNet() and calibration_knots() defaults, raw text, the
    caption-tuned MiniLM + fine-tuned Lite0 and Lite2 joined and seed 42; the file must give the same
    model, so the two never drift."""
    from core.encoders.registry import MINILM_CAPTIONS
    from core.legal.blend import BlendedChildClassifier, frozen_columns_of
    from core.legal.logistic import ChildPhotoClassifier
    from core.legal.network import ChildPhotoNet
    from core.models.two_tower import TwoTower, calibration_knots

    config = default_config()
    tower = TwoTower().get_params()
    assert asdict(config.tower) == {f.name: tower[f.name] for f in fields(TowerConfig)}
    child = ChildPhotoNet().get_params()
    network = config.child.network_params()
    # every classifier's defaults are the shipped rule's (folds: 10 since 2026-11-28)
    assert network == {f.name: child[f.name] for f in fields(ChildConfig)
                       if f.name not in ("classifier", "shifts", "augment")}
    blend = BlendedChildClassifier().get_params()
    assert (blend["target_recall"], blend["confidence"], blend["folds"]) == (
        config.child.target_recall, config.child.confidence, config.child.folds)
    assert config.child.classifier == "logistic"  # fewest photos withheld out of fold (docs: Legal)
    logistic = ChildPhotoClassifier().get_params()
    assert (config.child.target_recall, config.child.confidence, config.child.folds) == (
        logistic["target_recall"], logistic["confidence"], logistic["folds"])
    # the rule that holds under shift (#34): learn from the shifted copies, hold each one's recall
    assert (config.child.shifts, config.child.augment) == (logistic["shift_threshold"], logistic["augment"])
    with pytest.raises(ValueError, match="no frozen part"):  # so "blend" cannot serve it
        frozen_columns_of(config.image_encoder)
    for section, code in ((asdict(config.tower), tower), (network, child)):  # 6, not 6.0
        assert all(type(v) is type(code[k]) for k, v in section.items())
    knots = inspect.signature(calibration_knots).parameters
    assert (config.calibration.kind, config.calibration.low, config.calibration.high,
            config.calibration.knots) == ("sigmoid", knots["low"].default, knots["high"].default,
                                          knots["count"].default)
    assert (config.text_encoder, config.image_encoder) == (MINILM_CAPTIONS, ChildPhotoNet().image_encoder)
    assert config.lemmatize is False
    assert config.seed == TwoTower().seed == ChildPhotoNet().seed == 42
    assert set(config.sweep.metrics) == set(SWEEP_METRICS) and config.sweep.grid


def _write(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT.read_text()
    assert old in text, old
    path = tmp_path / "model.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("dim = 256", "dimm = 256", r"unknown key tower\.dimm; valid keys in \[tower\]: dim, hidden"),
    ("dropout = 0.4", "dropout = 1.5", r"tower\.dropout must be in \[0, 1\)"),
    ("epochs = 3", 'epochs = "six"', r"tower\.epochs must be int, got 'six'"),
    ("epochs = 3", "epochs = 3.0", r"tower\.epochs must be int"),
    ("lemmatize = false", "lemmatize = 1", r"lemmatize must be bool"),
    ("target_recall = 0.98", "", r"missing key child\.target_recall"),
    ('classifier = "logistic"', 'classifier = "forest"',
     r"child\.classifier must be one of network, logistic, blend"),
    ('kind = "sigmoid"', 'kind = "isotonic"', r"calibration\.kind must be 'sigmoid'"),
    ("seed = 42", "seed = 42\ncolour = 1", r"unknown key colour; valid keys: seed, lemmatize, encoders"),
    ("epochs = [1, 2, 3, 4]", "width = [3]", r"unknown key sweep\.grid\.width; valid keys in "
                                            r"\[sweep\.grid\]: dim, hidden"),
    ("epochs = [1, 2, 3, 4]", "dropout = [0.2, 2.0]", r"tower\.dropout must be in"),
    ('metrics = ["val_r1"', 'metrics = ["holdout_r1"', r"sweep\.metrics must be a non-empty list"),
    ("seed = 42", "seed = = 42", r"cannot be read as TOML"),
])
def test_a_bad_key_or_value_is_named(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = _write(tmp_path, old, new)
    with pytest.raises(ModelConfigError, match=expected) as caught:
        load_model_config(path, environ={})
    assert str(path) in str(caught.value) or "TOML" in str(caught.value)


def test_an_unknown_encoder_names_the_valid_ones() -> None:
    from core.encoders.registry import REGISTRY

    config = default_config().with_encoders(image="minilm")  # a text encoder, not an image one
    with pytest.raises(ModelConfigError, match=r"encoders\.image = 'minilm' .*valid: .*efficientnet-lite0"):
        config.check_encoders({n: s.kind for n, s in REGISTRY.items()})
    with pytest.raises(ModelConfigError, match="no model config at"):
        load_model_config(Path("/nonexistent/model.toml"))


def test_config_path_and_encoders_follow_the_environment(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, 'image = "efficientnet-lite0-captions+lite2-captions"', 'image = "resnet18"')
    monkeypatch.delenv("WITHSENSE_TEXT_ENCODER", raising=False)
    monkeypatch.delenv("WITHSENSE_IMAGE_ENCODER", raising=False)
    monkeypatch.setenv("WITHSENSE_MODEL_CONFIG", str(path))
    assert load_model_config().source == str(path)
    assert Settings().image_encoder == "resnet18"
    monkeypatch.setenv("WITHSENSE_IMAGE_ENCODER", "efficientnet-lite0-captions")
    assert Settings().image_encoder == load_model_config().image_encoder == "efficientnet-lite0-captions"


def test_to_dict_round_trips_and_sweep_overrides_are_checked() -> None:
    config = default_config()
    assert config_from_dict(config.to_dict()) == config
    tiny = with_sweep(config, grid={"hidden": [0], "epochs": [1, 2]}, cv_splits=2)
    assert tiny.sweep.grid == {"hidden": (0,), "epochs": (1, 2)} and tiny.sweep.cv_splits == 2
    assert tiny.tower == config.tower
    with pytest.raises(ModelConfigError, match=r"sweep\.grid\.depth"):
        with_sweep(config, grid={"depth": [2]})


def test_cli_grid_parsing() -> None:
    from lab.cli import parse_grid

    assert parse_grid(["hidden=0,1024", "lr=1e-3"]) == {"hidden": [0, 1024], "lr": [0.001]}
    assert parse_grid(None) is None
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_grid(["hidden"])


def _tiny_bundle():  # type: ignore[no-untyped-def]
    from core.bundle import ModelBundle
    from core.legal.logistic import ChildPhotoClassifier
    from core.models.two_tower import TwoTower

    rng = np.random.default_rng(0)
    tower = TwoTower(dim=4, hidden=0, epochs=1, batch_size=8).fit(
        rng.normal(size=(24, 6)).astype(np.float32), rng.normal(size=(24, 5)).astype(np.float32),
        np.arange(24) // 2)
    labels = np.arange(40) % 4 == 0
    child = ChildPhotoClassifier(seed=0).fit(rng.normal(size=(40, 5)) + labels[:, None], labels)
    config = replace(default_config(), seed=7)  # not the default, so the copy is really read back
    return ModelBundle(config=config, tower=tower, calibration_x=np.linspace(-2, 2, 5),
                       calibration_y=np.linspace(0, 1, 5), child_classifier=child)


def test_config_and_encoder_records_round_trip_through_model_pt(tmp_path: Path) -> None:
    from core.bundle import ModelBundle
    from core.encoders.registry import REGISTRY

    bundle = _tiny_bundle()
    path = bundle.save(tmp_path)
    loaded = ModelBundle.load(tmp_path)
    assert loaded.config == bundle.config and loaded.config.seed == 7
    assert (loaded.text_encoder, loaded.image_encoder) == (bundle.text_encoder, bundle.image_encoder)
    assert loaded.image_encoder == default_config().image_encoder and loaded.lemmatize is False
    assert loaded.sha256 == bundle.sha256 and loaded.fingerprint()["model_sha256"] == bundle.sha256
    stored = torch.load(path, weights_only=True)["encoders"]
    for kind in ("text", "image"):
        spec = REGISTRY[stored[kind]["name"]]
        assert stored[kind]["revision"] == spec.revision
        assert stored[kind]["preprocessing"] == spec.preprocessing


def test_an_old_or_mismatched_model_file_asks_for_retraining(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from core.bundle import BUNDLE_FILE, ModelBundle
    from core.encoders import registry as encoders

    path = _tiny_bundle().save(tmp_path)
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "format": 2}, path)
    with pytest.raises(ArtifactsMissingError, match=r"format 2.*retrain it with: python -m core train"):
        ModelBundle.load(tmp_path)
    torch.save(payload, tmp_path / BUNDLE_FILE)
    name = default_config().image_encoder
    spec = encoders.REGISTRY[name]
    monkeypatch.setitem(encoders.REGISTRY, name, replace(spec, revision="99"))
    with pytest.raises(ArtifactsMissingError, match=rf"image encoder '{re.escape(name)}' revision "
                                                    rf"'{re.escape(spec.revision)}'.*"
                                                    r"revision '99'.*python -m core train"):
        ModelBundle.load(tmp_path)


def test_a_tiny_sweep_names_what_it_optimised(small_data_settings, tmp_path: Path,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Two settings, one or two epochs of a small linear tower, two CV splits, on the test
    model's data: the full practicum and 1000 extra-corpus photos. No holdout folder exists there."""
    from lab.cli import main

    settings = small_data_settings
    assert not settings.holdout_dir.exists()
    monkeypatch.setenv("WITHSENSE_CACHE", str(settings.cache_dir))
    monkeypatch.delenv("WITHSENSE_TEXT_ENCODER", raising=False)
    monkeypatch.delenv("WITHSENSE_IMAGE_ENCODER", raising=False)
    output = tmp_path / "sweep.json"
    code = main(["--data", str(settings.data_dir), "sweep", "--config", str(DEFAULT),
                 "--grid", "hidden=0", "--grid", "dim=32", "--grid", "epochs=1,2", "--cv-splits", "2",
                 "--output", str(output)])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(output.read_text())
    assert result["kind"] == "selection" and "holdout never read" in result["note"]
    assert result["optimised"]["metrics"] == list(SWEEP_METRICS)
    assert f"lowest mean rank over {', '.join(SWEEP_METRICS)}" in out
    assert [row["setting"]["epochs"] for row in result["rows"]] == [1, 2]
    for row in result["rows"]:
        assert row["tower"]["batch_size"] == 128 and row["tower"]["dropout"] == 0.4  # from [tower]
        assert all(math.isfinite(row[m]) for m in SWEEP_METRICS)
        assert 0 < row["test_r1"] <= 100 and 0 < row["cv_rmse"] < 0.5
    assert result["winner"]["row"] in (0, 1) and f"winner: row {result['winner']['row']}" in out
    assert result["winner"]["same_as_config"] is False


def test_validation_rows_hold_out_whole_photos() -> None:
    from core.build.train import PairFeatures
    from lab.select.sweep import split_validation

    images = np.repeat([f"photo{i}.jpg" for i in range(10)], 3)
    rows = PairFeatures(np.arange(30, dtype=np.float32)[:, None], np.ones((30, 2), np.float32), images)
    train, held = split_validation(rows, seed=42)
    assert len(set(held.images)) == 5 and not set(train.images) & set(held.images)
    assert len(train.text) + len(held.text) == 30 and len(held.text) == 15  # every caption of a photo
    assert sorted(np.concatenate([train.text, held.text])[:, 0].tolist()) == list(range(30))
