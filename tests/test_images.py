"""Photographers' originals: large JPEGs decoded at a reduced scale, EXIF orientation honoured,
every accepted format (HEIC, AVIF, 16-bit TIFF...) read, and what is not a photo refused."""

from __future__ import annotations

import io
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.encoders.image import DRAFT_SIDE
from core.encoders.registry import get_encoder
from core.foundation.images import (
    ACCEPTED_NAMES,
    MAX_IMAGE_BYTES,
    UPLOAD_TYPES,
    ImageError,
    load_image,
    load_image_bytes,
)
from core.foundation.settings import PROJECT_ROOT


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


# --------------------------------------------------------------------------------------------
# What photographers upload: every accepted format read upright; anything else refused by name
# --------------------------------------------------------------------------------------------

ORIENTED = Image.Exif()
ORIENTED[0x0112] = 6  # stored sideways: rotate 90° clockwise to view


def _saved(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _marked() -> Image.Image:
    """64x48 red with a blue top-left corner: where the corner lands shows the turn."""
    image = Image.new("RGB", (64, 48), (200, 20, 20))
    image.paste((20, 20, 220), (0, 0, 16, 16))
    return image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF", "AVIF"])
def test_each_accepted_format_is_read_upright(fmt: str) -> None:
    data = _saved(_marked(), fmt, exif=ORIENTED.tobytes())
    image, read_as = load_image_bytes(data, f"phone.{fmt.lower()}")
    assert read_as == fmt and image.mode == "RGB"
    assert image.size == (48, 64)  # turned as the tag says
    red, green, blue = image.getpixel((image.width - 4, 4))  # the corner, now top right
    assert blue > 180 and red < 60, (red, green, blue)


def test_a_16_bit_tiff_keeps_its_tones(tmp_path: Path) -> None:
    """A scanner's 16-bit grey TIFF (mode I;16): a gradient stays a gradient, not a white page."""
    ramp = np.tile(np.linspace(0, 65535, 256), (32, 1)).astype(np.uint16)
    tiff = tmp_path / "scan.tif"
    Image.fromarray(ramp).save(tiff)
    with Image.open(tiff) as raw:
        assert raw.mode == "I;16"
    pixels = np.asarray(load_image(tiff))[:, :, 0].astype(int)
    assert pixels[0, 0] <= 1 and pixels[0, -1] >= 254 and abs(int(pixels[0, 128]) - 128) <= 2
    assert np.all(np.diff(pixels[0]) >= 0)


def _zip(name: str, body: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, body)
    return out.getvalue()


def test_files_that_are_not_accepted_photos_are_refused_with_their_reason() -> None:
    jpeg = _saved(_marked(), "JPEG")
    cases = {
        "IMG_0001.CR2": (jpeg, "a camera RAW file (.cr2): export it as JPEG or TIFF first; "
                               f"accepted: {ACCEPTED_NAMES}"),
        "DSC_0002.nef": (b"II*\0" + bytes(64), "a camera RAW file (.nef)"),
        "anim.jpg": (_saved(_marked(), "GIF"), f"GIF is not an accepted format; accepted: {ACCEPTED_NAMES}"),
        "page.jpg": (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
                     "not a photo (it holds HTML markup)"),
        "inside.jpg": (jpeg[:20] + b"<script>alert(1)</script>" + jpeg[20:], "not a photo (it holds HTML"),
        "archive.jpg": (_zip("a.txt", b"hello"), "not a photo (it is a ZIP archive)"),
        "both.jpg": (jpeg + _zip("a.html", b"<p>hi</p>"), "not a photo (it is a ZIP archive)"),
        "half.jpg": (jpeg[: len(jpeg) // 2], "broken or truncated image"),
        "big.jpg": (jpeg + bytes(MAX_IMAGE_BYTES), f"file larger than {MAX_IMAGE_BYTES // 2**20} MB"),
        "empty.jpg": (b"", "empty file"),
    }
    for name, (data, reason) in cases.items():
        with pytest.raises(ImageError) as refused:
            load_image_bytes(data, name)
        assert str(refused.value).startswith(f"{name}: {reason}"), str(refused.value)


def test_upload_types_are_the_accepted_formats_and_the_server_limit_matches() -> None:
    assert set(UPLOAD_TYPES) == {"jpg", "jpeg", "png", "webp", "tif", "tiff", "heic", "heif", "avif"}
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == MAX_IMAGE_BYTES  # MB, as Streamlit counts
