"""Image files to RGB pixels, with every check a user's file needs: missing, empty, oversized,
a format not accepted (a camera RAW file among them), not an image, HTML or a ZIP archive under
a photo's name, truncated, or a decompression bomb. Each failure is an :class:`ImageError` whose
message names the file and the reason.

The one place that opens photos: it registers the HEIC/HEIF reader (pillow-heif) once, and
holds the one list of accepted formats that the upload boxes and every check read.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from core.foundation.errors import Problem, WithSenseError

# Phones' HEIC/HEIF photos; Pillow reads AVIF (and WebP) itself. Orientation is applied below.
pillow_heif.register_heif_opener()

# Guard against decompression bombs: refuse anything beyond ~50 megapixels outright.
MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# The per-file limit; .streamlit/config.toml's server.maxUploadSize says the same in MB (a test
# holds them equal).
MAX_IMAGE_BYTES = 40 * 1024 * 1024

# The accepted formats, one list: (the name people know, Pillow's format names, file suffixes).
ACCEPTED_FORMATS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("JPEG", ("JPEG", "MPO"), ("jpg", "jpeg")),  # MPO: a phone's JPEG with a second picture inside
    ("PNG", ("PNG",), ("png",)),
    ("WebP", ("WEBP",), ("webp",)),
    ("TIFF", ("TIFF",), ("tif", "tiff")),
    ("HEIC/HEIF", ("HEIF",), ("heic", "heif")),
    ("AVIF", ("AVIF",), ("avif",)),
)
ACCEPTED_NAMES = ", ".join(name for name, _, _ in ACCEPTED_FORMATS)
# What an upload box accepts (st.file_uploader's type=): the suffixes, without dots.
UPLOAD_TYPES: tuple[str, ...] = tuple(s for _, _, suffixes in ACCEPTED_FORMATS for s in suffixes)
# Files an indexing run reads as photos; any other file is passed over with the accepted formats named.
IMAGE_SUFFIXES = frozenset(f".{s}" for s in UPLOAD_TYPES)
# A stored photo's extension by its decoded format: the user's file name never decides it.
STORED_SUFFIX = {fmt: suffixes[0] for _, formats, suffixes in ACCEPTED_FORMATS for fmt in formats}
# Camera RAW files: named as such, so a photographer knows to export them first.
RAW_SUFFIXES = frozenset({".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".kdc",
                          ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw", ".rw2",
                          ".rwl", ".sr2", ".srf", ".srw", ".x3f"})
# Markup a browser would run if the bytes were ever served as a page: never part of a photo.
_MARKUP = re.compile(rb"<(?:!doctype|html|head|body|script|iframe|object|embed|svg|meta)[\s>/]", re.I)


class ImageError(WithSenseError, ValueError):
    """A file is not a usable image (unreadable, truncated, empty, too large, not an image)."""

    problem = Problem.BAD_PHOTO


def not_accepted(name: str, what: str | None = None) -> str:
    """Why a file of this name (of format ``what``, when known) is not read, naming the accepted formats."""
    suffix = Path(name).suffix.lower()
    if suffix in RAW_SUFFIXES:
        kind = f"a camera RAW file ({suffix}): export it as JPEG or TIFF first"
    else:
        kind = f"{what or suffix or 'a file without an extension'} is not an accepted format"
    return f"{kind}; accepted: {ACCEPTED_NAMES}"


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

    Same checks as load_image, and more, since a stranger chose these bytes: a camera RAW name,
    a format not accepted, and HTML or a ZIP archive in a photo's clothes are refused.
    ``label`` only names the image in error messages.
    """
    if Path(label).suffix.lower() in RAW_SUFFIXES:
        raise ImageError(f"{label}: {not_accepted(label)}")
    _check_size(len(data), label)
    hidden = _hidden_content(data)
    if hidden:
        raise ImageError(f"{label}: not a photo ({hidden})")
    return _decode(io.BytesIO(data), label)


def _check_size(size: int, label: str) -> None:
    if size == 0:
        raise ImageError(f"{label}: empty file")
    if size > MAX_IMAGE_BYTES:
        raise ImageError(f"{label}: file larger than {MAX_IMAGE_BYTES // 2**20} MB")


def _hidden_content(data: bytes) -> str | None:
    """What else the bytes are, when a photo's decoder could be fooled into reading them as one
    (a polyglot: a JPEG that is also a ZIP archive, HTML after a photo's header)."""
    if _MARKUP.search(data):
        return "it holds HTML markup"
    if data[:4] == b"PK\x03\x04" or zipfile.is_zipfile(io.BytesIO(data)):
        return "it is a ZIP archive"
    return None


def _decode(source: Path | io.BytesIO, label: str, draft_side: int | None = None) -> tuple[Image.Image, str]:
    try:
        with Image.open(source) as img:
            # PIL only warns between 1x and 2x its limit: refuse everything over it, before decoding.
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise ImageError(f"{label}: image too large ({img.width}x{img.height}, over "
                                 f"{MAX_IMAGE_PIXELS:,} pixels)")
            fmt = str(img.format or "")
            if fmt not in STORED_SUFFIX:  # GIF, BMP, PSD...: whatever the file's name says
                raise ImageError(f"{label}: {not_accepted(label, fmt or 'this format')}")
            if draft_side and fmt == "JPEG":
                img.draft("RGB", (draft_side, draft_side))  # DCT scaling: 1/2, 1/4 or 1/8
            img.load()
            # A camera stores a portrait sideways with an orientation tag: show it as taken (in
            # place: the usual untagged photo costs no copy).
            ImageOps.exif_transpose(img, in_place=True)
            return _rgb(img), fmt
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{label}: image too large (over {MAX_IMAGE_PIXELS:,} pixels)") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{label}: not an image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{label}: broken or truncated image ({exc})") from exc


def _rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB. Pillow's own conversion clips 16-bit and 32-bit grey (a scanner's TIFF, a
    16-bit PNG) at 255, a white page: scale them to 0..255 instead."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        values = np.asarray(img, dtype=np.float64)
        most = float(values.max(initial=0))
        top = 65535.0 if img.mode.startswith("I;16") else (255.0 if most <= 255 else max(most, 65535.0))
        grey = np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    return img.convert("RGB")
