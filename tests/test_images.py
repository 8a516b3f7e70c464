"""Photographers' originals: large JPEGs decoded at a reduced scale, EXIF orientation honoured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.encoders.image import DRAFT_SIDE
from core.encoders.registry import get_encoder
from core.foundation.images import load_image


@pytest.fixture(scope="module")
def photo(practicum_dir: Path) -> Path:
    """A real original-resolution landscape photo of the practicum test set."""
    for path in sorted((practicum_dir / "test_images").glob("*.jpg")):
        with Image.open(path) as img:
            if img.width > img.height and img.width >= 400:
                return path
    pytest.fail("no landscape practicum test photo found")


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_flickr_sized_photos_decode_exactly_as_before(photo: Path) -> None:
    plain, drafted = load_image(photo), load_image(photo, draft_side=DRAFT_SIDE)
    assert drafted.size == plain.size
    assert np.array_equal(np.asarray(plain), np.asarray(drafted))  # 8-bit pixels, no rounding question


def test_a_24_megapixel_jpeg_is_decoded_small_and_encoded_like_the_photo(photo: Path, tmp_path: Path) -> None:
    big = tmp_path / "original.jpg"
    with Image.open(photo) as img:
        img.convert("RGB").resize((6000, 4000), Image.Resampling.BICUBIC).save(big, quality=92)
    decoded = load_image(big, draft_side=DRAFT_SIDE)
    assert min(decoded.size) >= DRAFT_SIDE and decoded.width * decoded.height <= 6000 * 4000 // 16
    assert decoded.size[0] > decoded.size[1]  # still a landscape
    vectors, failures = get_encoder("efficientnet-lite0", "image").encode_paths([photo, big])
    assert not failures and _cosine(vectors[0], vectors[1]) > 0.95


def test_exif_rotated_photo_is_encoded_upright(photo: Path, tmp_path: Path) -> None:
    upright, sideways = tmp_path / "upright.jpg", tmp_path / "sideways.jpg"
    with Image.open(photo) as img:
        img = img.convert("RGB")
        img.save(upright, quality=95)
        stored = img.transpose(Image.Transpose.ROTATE_90)  # as a camera held on its side stores it
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
        stored.save(sideways, quality=95, exif=exif.tobytes())
    assert load_image(sideways).size == load_image(upright).size
    encoder = get_encoder("efficientnet-lite0", "image")
    vectors, failures = encoder.encode_paths([upright, sideways])
    assert not failures and _cosine(vectors[0], vectors[1]) > 0.99
    with Image.open(sideways) as raw:  # the stored pixels, as an EXIF-blind reader would see them
        raw.convert("RGB").save(tmp_path / "blind.jpg", quality=95)
    blind, _ = encoder.encode_paths([tmp_path / "blind.jpg"])
    assert _cosine(vectors[0], blind[0]) < _cosine(vectors[0], vectors[1]) - 0.02
