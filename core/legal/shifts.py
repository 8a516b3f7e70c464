"""Photo shifts a host meets: the same scene at another size, shape, compression or colour.

Most training photos are 224-px squeezed copies; users upload originals of every shape. Each
shift is deterministic (no randomness: a figure measured on it can be measured again) and keeps
the scene whole, so a photo's child label still holds after it. evaluate reports the child
check per shift; the shipped rule picks its threshold on the worst of them (core.legal.logistic).
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageOps

Shift = Callable[[Image.Image], Image.Image]

FRAME_GREY = (128, 128, 128)


def squeezed_224(image: Image.Image) -> Image.Image:
    """As the corpus copies: 224x224, aspect ratio not kept."""
    return image.resize((224, 224), Image.Resampling.BILINEAR)


def upscaled_1024(image: Image.Image) -> Image.Image:
    """Longer side 1024 px, aspect kept (a camera original, resampled)."""
    scale = 1024 / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)),
                        Image.Resampling.BICUBIC)


def centre_crop(image: Image.Image) -> Image.Image:
    """The middle 80% of each side: a tighter framing of the same scene."""
    width, height = image.size
    left, top = round(width * 0.1), round(height * 0.1)
    return image.crop((left, top, width - left, height - top))


def _letterbox(image: Image.Image, ratio: float) -> Image.Image:
    """Padded with black bars to width/height = ratio, photo centred and unscaled."""
    width, height = image.size
    if width / height < ratio:
        size = (round(height * ratio), height)
    else:
        size = (width, round(width / ratio))
    return ImageOps.pad(image, size, color=(0, 0, 0), centering=(0.5, 0.5))


def letterbox_wide(image: Image.Image) -> Image.Image:
    """Shown in a 2:1 frame (a panorama slot): black bars left and right."""
    return _letterbox(image, 2.0)


def letterbox_tall(image: Image.Image) -> Image.Image:
    """Shown in a 1:2 frame (a phone story): black bars above and below."""
    return _letterbox(image, 0.5)


def jpeg_q30(image: Image.Image) -> Image.Image:
    """Recompressed as JPEG at quality 30 (a messenger's copy)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=30)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def greyscale(image: Image.Image) -> Image.Image:
    """Black and white, still three channels."""
    return image.convert("L").convert("RGB")


def small_in_frame(image: Image.Image) -> Image.Image:
    """The photo at half its size, centred in a grey frame of its full size (a print on a wall,
    a screenshot of a page)."""
    width, height = image.size
    frame = Image.new("RGB", (width, height), FRAME_GREY)
    small = image.resize((max(1, width // 2), max(1, height // 2)), Image.Resampling.BILINEAR)
    frame.paste(small, ((width - small.width) // 2, (height - small.height) // 2))
    return frame


# Name -> transform, in the order reports list them. "plain" is the photo as it is.
SHIFTS: dict[str, Shift] = {
    "squeezed_224": squeezed_224,
    "upscaled_1024": upscaled_1024,
    "centre_crop": centre_crop,
    "letterbox_wide": letterbox_wide,
    "letterbox_tall": letterbox_tall,
    "jpeg_q30": jpeg_q30,
    "greyscale": greyscale,
    "small_in_frame": small_in_frame,
}
# Bumped when a transform changes, so cached vectors of the old shift are not reused.
SHIFTS_REVISION = "1"


def shift_variant(name: str) -> str:
    """The embedding cache's variant for photos under shift `name`."""
    if name not in SHIFTS:
        raise KeyError(f"unknown shift {name!r}; valid: {', '.join(SHIFTS)}")
    return f"-shift-{name}-v{SHIFTS_REVISION}"
