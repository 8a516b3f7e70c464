"""Image files to RGB pixels, with every check a user's file needs: missing, empty, oversized,
not an image, truncated, or a decompression bomb. Each failure is an :class:`ImageError` whose
message names the file and the reason."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from core.foundation.errors import Problem, WithSenseError

# Guard against decompression bombs: refuse anything beyond ~50 megapixels outright.
MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
MAX_IMAGE_BYTES = 40 * 1024 * 1024


# Files an indexing run reads as photos; any other file is passed over with its type named.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


class ImageError(WithSenseError, ValueError):
    """A file is not a usable image (unreadable, truncated, empty, too large, not an image)."""

    problem = Problem.BAD_PHOTO


def load_image(path: Path | str, draft_side: int | None = None) -> Image.Image:
    """Open, fully decode, turn upright (EXIF orientation) and convert to RGB, or raise
    ImageError with the reason. With ``draft_side``, a large JPEG is decoded at a reduced scale
    that keeps both sides at least that long: a 24-megapixel original then costs about what a
    small photo costs, in time and memory."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"{path.name}: cannot read file ({exc.strerror})") from exc
    _check_size(size, path.name)
    return _decode(path, path.name, draft_side)[0]


def load_image_bytes(data: bytes, label: str) -> tuple[Image.Image, str]:
    """Decode an image held in memory (an upload): (RGB image, PIL format name such as "JPEG").

    Same checks as load_image; ``label`` only names the image in error messages.
    """
    _check_size(len(data), label)
    return _decode(io.BytesIO(data), label)


def _check_size(size: int, label: str) -> None:
    if size == 0:
        raise ImageError(f"{label}: empty file")
    if size > MAX_IMAGE_BYTES:
        raise ImageError(f"{label}: file larger than {MAX_IMAGE_BYTES // 2**20} MB")


def _decode(source: Path | io.BytesIO, label: str, draft_side: int | None = None) -> tuple[Image.Image, str]:
    try:
        with Image.open(source) as img:
            # PIL only warns between 1x and 2x its limit: refuse everything over it, before decoding.
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise ImageError(f"{label}: image too large ({img.width}x{img.height}, over "
                                 f"{MAX_IMAGE_PIXELS:,} pixels)")
            fmt = str(img.format or "")
            if draft_side and fmt == "JPEG":
                img.draft("RGB", (draft_side, draft_side))  # DCT scaling: 1/2, 1/4 or 1/8
            img.load()
            # A camera stores a portrait sideways with an orientation tag: show it as taken (in
            # place: the usual untagged photo costs no copy).
            ImageOps.exif_transpose(img, in_place=True)
            return img.convert("RGB"), fmt
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{label}: image too large (over {MAX_IMAGE_PIXELS:,} pixels)") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{label}: not an image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{label}: broken or truncated image ({exc})") from exc
