"""core.legal.shifts, and the child rule that must hold on photos unlike the training ones (#34)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.dataset import list_photos, load_flickr_captions
from core.encoders.cache import embed_images
from core.foundation.images import load_image
from core.foundation.settings import Settings, load_model_config
from core.legal.lexicon import PERSON, caption_child_labels, mentions_child
from core.legal.logistic import ChildPhotoClassifier
from core.legal.shifts import FRAME_GREY, SHIFTS, shift_variant
from core.legal.training import shifted_vectors

ENCODER = Settings().image_encoder  # the shipped photo encoder: the rule is about its vectors
TRAINING_CHILD, TRAINING_OTHER = 90, 180  # a subset of the classifier's training photos


@pytest.fixture(scope="module")
def test_photos(practicum_dir: Path) -> list[Path]:
    return list_photos(practicum_dir / "test_images")


def test_each_shift_is_deterministic_and_changes_the_photo(test_photos: list[Path]) -> None:
    photo = load_image(test_photos[0])
    assert max(photo.size) < 1024 and photo.size != (224, 224)  # an original, so every shift shows
    for name, shift in SHIFTS.items():
        first, second = np.asarray(shift(photo.copy())), np.asarray(shift(photo.copy()))
        assert first.ndim == 3 and first.shape[2] == 3, name
        assert np.array_equal(first, second), f"{name} is not deterministic"
        same_shape = first.shape[:2] == np.asarray(photo).shape[:2]
        assert not (same_shape and np.array_equal(first, np.asarray(photo))), f"{name} changed nothing"
    width, height = photo.size
    assert SHIFTS["squeezed_224"](photo).size == (224, 224)
    assert max(SHIFTS["upscaled_1024"](photo).size) == 1024
    wide, tall = SHIFTS["letterbox_wide"](photo).size, SHIFTS["letterbox_tall"](photo).size
    assert abs(wide[0] / wide[1] - 2) < 0.01 and abs(tall[0] / tall[1] - 0.5) < 0.01
    grey = np.asarray(SHIFTS["greyscale"](photo)).astype(int)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    framed = SHIFTS["small_in_frame"](photo)
    assert framed.size == (width, height) and framed.getpixel((0, 0)) == FRAME_GREY
    with pytest.raises(KeyError, match="valid: squeezed_224"):
        shift_variant("mirror")


def test_a_shifted_photo_stays_its_own_scene(test_photos: list[Path], tmp_path: Path) -> None:
    """Shifts keep labels: under each, a photo's vector is still nearest its own original's."""
    photos = test_photos[:12]
    settings = Settings(cache_dir=tmp_path)
    plain, _ = embed_images(photos, ENCODER, tmp_path)
    for name, vectors in shifted_vectors(settings, photos).items():
        nearest = (vectors @ plain.T).argmax(axis=1)
        assert (nearest == np.arange(len(photos))).sum() >= len(photos) - 1, name


@pytest.fixture(scope="module")
def shipped_rule_classifier(practicum_dir: Path, flickr_dir: Path) -> ChildPhotoClassifier:
    """The shipped rule (configs/default.toml's [child]) fitted on a subset of its training photos:
    practicum train photos, labelled by their captions, which the photo encoder never learnt."""
    rule = load_model_config().child
    assert rule.classifier == "logistic" and rule.shifts  # what this file is about
    photos = list_photos(practicum_dir / "train_images")
    labels = caption_child_labels(load_flickr_captions(flickr_dir, {p.name for p in photos}))
    child = [n for n in labels.index if labels[n]][:TRAINING_CHILD]
    other = [n for n in labels.index if not labels[n]][:TRAINING_OTHER]
    paths = [practicum_dir / "train_images" / n for n in child + other]
    settings = Settings()
    plain, _ = embed_images(paths, ENCODER, settings.cache_dir)
    views = list(shifted_vectors(settings, paths).values())
    y = np.r_[np.ones(len(child), bool), np.zeros(len(other), bool)]
    clf = ChildPhotoClassifier(rule.target_recall, rule.confidence, folds=rule.folds,
                               augment=rule.augment, shift_threshold=True).fit(plain, y, shifted=views)
    assert clf.cv_recall_worst_shift_ >= rule.target_recall  # what the threshold promises
    return clf


def _captions(flickr_dir: Path, photos: list[Path]) -> dict[str, list[str]]:
    table = load_flickr_captions(flickr_dir, {p.name for p in photos})
    return {name: group["caption"].tolist() for name, group in table.groupby("image")}


def _child_probability(clf: ChildPhotoClassifier, paths: list[Path], shift: str | None = None) -> np.ndarray:
    settings = Settings()
    if shift is None:
        vectors, _ = embed_images(paths, ENCODER, settings.cache_dir)
    else:
        vectors, _ = embed_images(paths, ENCODER, settings.cache_dir,
                                  shift=(shift_variant(shift), SHIFTS[shift]))
    return clf.predict_proba(vectors)[:, 1]


def test_a_child_photo_from_the_test_set_stays_withheld_after_each_shift(
        shipped_rule_classifier: ChildPhotoClassifier, test_photos: list[Path], flickr_dir: Path) -> None:
    captions = _captions(flickr_dir, test_photos)
    labels = caption_child_labels(load_flickr_captions(flickr_dir, set(captions)))
    children = [p for p in test_photos if labels.get(p.name, False)]
    assert children, "the practicum test set has photos of children"
    # the test photo the rule is surest of: a clear child photo must survive every shift
    photo = children[int(_child_probability(shipped_rule_classifier, children).argmax())]
    for name in SHIFTS:
        probability = _child_probability(shipped_rule_classifier, [photo], name)[0]
        assert probability >= shipped_rule_classifier.threshold_, f"{photo.name} shown after {name}"


def test_a_photo_with_no_people_is_not_withheld_after_recompression(
        shipped_rule_classifier: ChildPhotoClassifier, test_photos: list[Path], flickr_dir: Path) -> None:
    captions = _captions(flickr_dir, test_photos)
    empty = [p for p in test_photos if p.name in captions
             and not any(PERSON.search(c) or mentions_child(c) for c in captions[p.name])]
    assert empty, "the practicum test set has photos without people"
    photo = empty[int(_child_probability(shipped_rule_classifier, empty).argmin())]
    assert _child_probability(shipped_rule_classifier, [photo])[0] < shipped_rule_classifier.threshold_
    recompressed = _child_probability(shipped_rule_classifier, [photo], "jpeg_q30")[0]
    assert recompressed < shipped_rule_classifier.threshold_, f"{photo.name} withheld after JPEG q30"
