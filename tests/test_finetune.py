"""lab.finetune.photo, core.encoders.own_weights and the fine-tuned encoder: the photo encoder
that learnt from captions, remade on a small real subset, loaded by name, and refused when its
file is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import damaged_copy, fresh_encoder
from PIL import Image
from sklearn.metrics import roc_auc_score

from core.cli.commands import main
from core.data import dataset as data
from core.encoders.base import WeightsUnavailableError
from core.encoders.cache import embed_texts
from core.encoders.lite import lite0_parts
from core.encoders.own_weights import OwnWeightsError, load_own_weights, read_manifest, sha256_file
from core.encoders.registry import FINETUNED, FINETUNED_LITE2, JOINED, JOINED_BOTH_TUNED, JOINED_TUNED
from core.foundation.settings import Settings
from core.legal.logistic import EncoderChildHead
from lab.finetune.pack import PackError, build_pack, load_pack
from lab.finetune.photo import CHILD_SCALE, FinetuneConfig, finetune, fit_joint, weights_payload
from lab.finetune.views import augment, trunk_views

TINY = FinetuneConfig(split=15, views=1, epochs=2, batch_size=16, folds=2)


@pytest.fixture(scope="module")
def remade(mini_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weights and manifest remade by `finetune` into a temporary models folder."""
    out = tmp_path_factory.mktemp("models")
    cache = tmp_path_factory.mktemp("cache")
    finetune(Settings(data_dir=mini_data, cache_dir=cache), TINY, out)
    return out


def test_lite2_learns_at_its_own_size_and_loads_by_name(
        mini_data: Path, practicum_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "models"
    lite2 = FinetuneConfig(variant="lite2", size=260, split=20, views=1, epochs=2, batch_size=8, folds=2,
                           lr_tail=1e-3)
    manifest = finetune(Settings(data_dir=mini_data, cache_dir=tmp_path / "cache"), lite2, out)
    assert manifest["name"] == FINETUNED_LITE2 and "Lite2" in manifest["base_weights"]
    assert manifest["settings"]["variant"] == "lite2" and manifest["settings"]["size"] == 260
    monkeypatch.setenv("WITHSENSE_MODELS", str(out))
    photos = sorted((practicum_dir / "test_images").iterdir())[:4]
    tuned, failures = fresh_encoder(FINETUNED_LITE2).encode_paths(photos)
    frozen, _ = fresh_encoder("efficientnet-lite2").encode_paths(photos)
    assert not failures and tuned.shape == (4, 1280)
    np.testing.assert_allclose(np.linalg.norm(tuned, axis=1), 1, atol=1e-4)
    cosine = (tuned * frozen).sum(1)
    assert (cosine < 0.9999).all() and (cosine > 0.3).all()  # learnt, from the ImageNet start
    # Weights learnt from photos of another size are refused with the command that remakes them.
    payload = load_own_weights(FINETUNED_LITE2)
    torch.save({**payload, "size": 224}, out / f"{FINETUNED_LITE2}.pt")
    saved = read_manifest(FINETUNED_LITE2, out)
    assert saved is not None
    (out / f"{FINETUNED_LITE2}.json").write_text(
        (out / f"{FINETUNED_LITE2}.json").read_text().replace(saved["sha256"],
                                                             sha256_file(out / f"{FINETUNED_LITE2}.pt")))
    with pytest.raises(WeightsUnavailableError, match=r"224-px.*260 px.*--variant lite2 --size 260"):
        fresh_encoder(FINETUNED_LITE2).trunk_shape()


def test_an_unknown_variant_is_refused_with_the_valid_ones(mini_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lite0, lite2"):
        finetune(Settings(data_dir=mini_data, cache_dir=tmp_path), FinetuneConfig(variant="lite9"), tmp_path)


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
    assert manifest["settings"]["split"] == TINY.split and manifest["command"] == "python -m lab finetune"
    # The extra corpus (48 photos here) less its validation half: no practicum photo is learnt,
    # nor a photo that `ablate`'s validation R@1 is measured on.
    assert manifest["data"]["photos"] == 24 and manifest["data"]["validation_photos"] == 24
    assert manifest["validation_photos_excluded"] is True
    figures = manifest["figures"]
    # The threshold rule holds on the out-of-sample scores it was chosen on.
    assert figures["child_flagged_out_of_sample"] >= TINY.target_recall
    assert 0 <= figures["other_withheld_out_of_sample"] <= 1
    assert 0 <= figures["validation_own_towers"]["r1"] <= figures["validation_own_towers"]["r10"]


def test_pack_holds_the_corpus_as_the_encoder_sees_it(mini_data: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=mini_data, cache_dir=tmp_path / "cache")
    pack = load_pack(build_pack(settings, tmp_path / "pack"))
    originals = sorted((mini_data / "flickr8k" / "images").iterdir())
    assert pack.names == [p.name for p in originals]
    assert pack.photos.shape == (48, 224, 224, 3) and pack.photos.dtype == np.uint8
    # WebP keeps the squeezed photo close to what indexing feeds the network.
    first = Image.open(originals[0]).convert("RGB")
    squeezed = np.asarray(first.resize((224, 224), Image.Resampling.BILINEAR))
    assert np.abs(pack.photos[0].astype(float) - squeezed).mean() < 8
    # 8-bit caption vectors: within cosine 0.999 of the encoder's own.
    captions = data.load_flickr_captions(settings.flickr_dir, set(pack.names))
    exact = embed_texts(captions["caption"].tolist(), settings.text_encoder, settings.cache_dir)
    assert ((pack.text * exact).sum(1) > 0.999).all()
    assert [pack.names[i] for i in pack.owner] == captions["image"].tolist()
    assert pack.validation.sum() == 24  # core.data.dataset.validation_photos: at most half of 48
    assert pack.labels.any() and not pack.labels.all()
    assert pack.adults is not None and pack.adults.any() and not (pack.adults & pack.labels).any()
    # A pack made before adult labels still loads; a run that needs them says how to remake it.
    meta = json.loads((tmp_path / "pack" / "pack.json").read_text())
    (tmp_path / "pack" / "pack.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "adult"}))
    assert load_pack(tmp_path / "pack").adults is None
    with pytest.raises(ValueError, match="make-pack"):
        finetune(settings, FinetuneConfig(adult_weight=1.0), tmp_path / "out", pack=tmp_path / "pack")


def test_an_adult_head_learns_its_labels_beside_the_search_towers(mini_data: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=mini_data, cache_dir=tmp_path / "cache")
    pack = load_pack(build_pack(settings, tmp_path / "pack"))
    assert pack.adults is not None and 0 < pack.adults.sum() < len(pack.adults)
    config = FinetuneConfig(split=15, views=0, epochs=30, batch_size=16, adult_weight=1.0, lr_heads=1e-2)
    views = trunk_views(pack.photos, config, 0)
    model = fit_joint(views, pack.text, pack.owner, pack.labels, config, adults=pack.adults)
    assert model.adult is not None
    with torch.inference_mode():
        pooled, _ = model.photo(views[:, 0])
        adult = model.adult(pooled * CHILD_SCALE).squeeze(-1).numpy()
    # It learnt which photos show adults (its training photos: the head can fit them all).
    assert roc_auc_score(pack.adults, adult) > 0.95  # random heads: 0.2-0.7
    with pytest.raises(ValueError, match="adult label per photo"):
        fit_joint(views, pack.text, pack.owner, pack.labels, config)
    assert "adult" not in str(weights_payload(model, config, 0.5).keys())  # training only


def test_a_folder_that_is_not_a_pack_is_refused_with_the_command_that_makes_one(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="--make-pack"):
        load_pack(tmp_path)


def test_split_zero_makes_the_whole_network_the_tail(practicum_dir: Path) -> None:
    trunk, tail = lite0_parts(0)
    front, last = lite0_parts(15)
    assert len(trunk) == 0  # pixels pass through: every layer learns
    assert sum(p.numel() for p in tail.parameters()) > 3 * sum(p.numel() for p in last.parameters())
    pixels = torch.from_numpy(augment(Image.open(sorted((practicum_dir / "test_images").iterdir())[0])
                                      .convert("RGB"), np.random.default_rng(0), 224))[None]
    with torch.inference_mode():  # the same ImageNet network, however it is split
        whole = tail.eval()(trunk(pixels))
        reference = last.eval()(front.eval()(pixels))
    np.testing.assert_allclose(whole.numpy(), reference.numpy(), rtol=1e-3, atol=1e-4)


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
    damaged = damaged_copy(remade, FINETUNED, tmp_path / "damaged")
    monkeypatch.setenv("WITHSENSE_MODELS", str(damaged))
    with pytest.raises(OwnWeightsError, match=r"damaged or stale.*python -m lab finetune"):
        load_own_weights(FINETUNED)
    with pytest.raises(WeightsUnavailableError, match="python -m lab finetune"):
        fresh_encoder(FINETUNED).trunk_shape()  # the first use loads the weights
    monkeypatch.setenv("WITHSENSE_MODELS", str(tmp_path / "empty"))
    with pytest.raises(OwnWeightsError, match=r"missing.*python -m lab finetune"):
        EncoderChildHead.from_encoder(FINETUNED)
    # From the command line: one clear line, no traceback.
    monkeypatch.setenv("WITHSENSE_IMAGE_ENCODER", FINETUNED)
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(tmp_path / "artifacts"))
    assert main(["train"]) == 2
    err = capsys.readouterr().err
    assert "python -m lab finetune" in err and "Traceback" not in err


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


def test_the_child_classifier_never_learns_from_photos_the_photo_encoder_learnt(
        mini_data: Path, remade: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fine-tuned encoder learnt its training photos' child labels: a classifier fitted or
    thresholded on them would look better than it is. Which photos those are is read from the
    weights' own manifest, never recomputed; frozen encoders keep every photo."""
    import shutil

    from core.encoders.registry import photos_learnt
    from core.legal.training import child_training_set

    monkeypatch.setenv("WITHSENSE_MODELS", str(remade))
    corpus = {p.name for p in data.list_photos(mini_data / "flickr8k" / "images")}
    listed = set(read_manifest(FINETUNED, remade)["data"]["photos_learnt"])
    assert listed == corpus - data.validation_photos(sorted(corpus), 42)  # what finetune learnt
    tuned, tuned_labels = child_training_set(Settings(data_dir=mini_data, image_encoder=JOINED_TUNED))
    frozen, _ = child_training_set(Settings(data_dir=mini_data, image_encoder=JOINED))
    assert {p.name for p in tuned} & corpus == corpus - listed  # only the validation half
    assert {p.name for p in frozen} & corpus == corpus
    practicum = {p.name for p in frozen} - corpus
    assert practicum and practicum <= {p.name for p in tuned}  # never learnt: kept
    assert len(tuned_labels) == len(tuned)

    # The manifest is the one source: another list there moves the photos; none is refused.
    other = tmp_path / "models"
    other.mkdir()
    shutil.copy(remade / f"{FINETUNED}.pt", other)
    manifest = read_manifest(FINETUNED, remade)
    first = sorted(corpus)[:3]
    manifest["data"]["photos_learnt"] = first
    (other / f"{FINETUNED}.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("WITHSENSE_MODELS", str(other))
    assert photos_learnt(JOINED_TUNED) == set(first)
    del manifest["data"]["photos_learnt"]
    (other / f"{FINETUNED}.json").write_text(json.dumps(manifest))
    with pytest.raises(OwnWeightsError, match="photos it learnt"):
        photos_learnt(JOINED_TUNED)
    assert photos_learnt(JOINED) == frozenset()  # frozen networks learnt no photo


def test_the_committed_weights_list_the_photos_they_learnt(flickr_dir: Path) -> None:
    """Both committed fine-tunes learnt the extra corpus less its 1,000 validation photos."""
    from core.encoders.registry import photos_learnt

    corpus = sorted(p.name for p in data.list_photos(flickr_dir / "images"))
    learnt = photos_learnt(JOINED_BOTH_TUNED)
    assert learnt == set(corpus) - data.validation_photos(corpus, 42)
    counts = {read_manifest(name)["data"]["photos"] for name in (FINETUNED, FINETUNED_LITE2)}
    assert counts == {len(learnt)}
