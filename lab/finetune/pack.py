"""What `python -m lab finetune` learns from, in one small folder (a pack).

The extra corpus's photos squeezed to the encoder's input size (as indexing squeezes them) and
stored as WebP, their caption vectors (8-bit, one scale per row), child labels from the
captions, and which photos are held out for validation (``core.data.dataset.validation_photos``, the
photos `sweep` and `finetune-text` hold out too). About 51 MB for the 5,899 photos: small
enough to carry to a lent GPU machine, where `finetune --pack DIR` trains without the dataset,
WordNet or MiniLM. A CPU run builds the same pack first, so both learn from identical inputs.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.data import dataset as data
from core.foundation.atomic import atomic_save_npz, atomic_write_json
from core.foundation.settings import Settings

PACK_VERSION = 1
QUALITY = 60  # WebP quality (method 6): 224-px photos of ~6.6 KB each; holdout's photos are 224-px copies too


class PackError(ValueError):
    """A pack folder is missing, incomplete or of another version."""


@dataclass(frozen=True)
class FinetuneInputs:
    names: list[str]  # photo file names, one per row of `photos`
    photos: np.ndarray  # (photos, size, size, 3) uint8
    text: np.ndarray  # (captions, dim) float32, unit length
    owner: np.ndarray  # (captions,) row of each caption's photo
    labels: np.ndarray  # (photos,) bool: a child, by the captions
    validation: np.ndarray  # (photos,) bool: held out of training
    text_encoder: str
    adults: np.ndarray | None = None  # (photos,) bool: an adult, by the captions; None in older packs


def corpus_photos(settings: Settings) -> list[Path]:
    """The extra corpus's photos (flickr8k/images), sorted: what the fine-tune reads."""
    return data.list_photos(settings.flickr_dir / "images")


def _encode_photo(path: Path, size: int) -> bytes:
    from core.foundation.images import load_image

    buffer = io.BytesIO()
    squeezed = load_image(path).resize((size, size), Image.Resampling.BILINEAR)
    squeezed.save(buffer, "WEBP", quality=QUALITY, method=6)
    return buffer.getvalue()


def build_pack(settings: Settings, folder: Path, size: int = 224,
               progress: Callable[[int], None] | None = None) -> Path:
    """Write the pack of the extra corpus (flickr8k/images) into `folder`; return it."""
    from core.encoders.cache import embed_texts
    from core.legal.lexicon import caption_adult_labels, caption_child_labels

    photos = corpus_photos(settings)
    if not photos:
        raise data.DataError(settings.flickr_dir / "images", "no .jpg photos to fine-tune on")
    names = [p.name for p in photos]
    captions = data.load_flickr_captions(settings.flickr_dir, set(names))
    labels, adults = caption_child_labels(captions), caption_adult_labels(captions)
    missing = set(names) - set(labels.index)
    if missing:
        raise data.DataError(settings.flickr_dir, f"{len(missing)} photo(s) have no captions, "
                             f"e.g. {sorted(missing)[0]}")
    row = {n: i for i, n in enumerate(names)}
    text = embed_texts(captions["caption"].tolist(), settings.text_encoder, settings.cache_dir)
    scale = np.maximum(np.abs(text).max(1), 1e-12) / 127.0
    held = data.validation_photos(names, settings.seed)
    with ThreadPoolExecutor(max_workers=2) as pool:
        encoded = []
        for blob in pool.map(lambda p: _encode_photo(p, size), photos):
            encoded.append(np.frombuffer(blob, np.uint8))
            if progress is not None:
                progress(1)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_save_npz(folder / "photos.npz", webp=np.concatenate(encoded),
                    offsets=np.cumsum([0] + [len(b) for b in encoded]))
    atomic_save_npz(folder / "captions.npz", text=np.round(text / scale[:, None]).astype(np.int8),
                    scale=scale.astype(np.float32), owner=captions["image"].map(row).to_numpy())
    atomic_write_json(folder / "pack.json", {
        "version": PACK_VERSION, "size": size, "quality": QUALITY, "seed": settings.seed,
        "text_encoder": settings.text_encoder, "source": "flickr8k/images + Flickr8k.token.txt",
        "names": names, "child": [bool(labels[n]) for n in names], "adult": [bool(adults[n]) for n in names],
        "validation": [n in held for n in names]})
    return folder


def load_pack(folder: Path) -> FinetuneInputs:
    """Decode a pack written by :func:`build_pack`."""
    try:
        meta = json.loads((folder / "pack.json").read_text())
        photos, captions = np.load(folder / "photos.npz"), np.load(folder / "captions.npz")
    except (OSError, ValueError) as exc:
        raise PackError(f"{folder}: not a fine-tuning pack ({exc}); make one with "
                        "python -m lab finetune --make-pack DIR") from exc
    if meta.get("version") != PACK_VERSION:
        raise PackError(f"{folder}: pack version {meta.get('version')}, this code reads {PACK_VERSION}")
    blob, offsets = photos["webp"], photos["offsets"]

    def decode(i: int) -> np.ndarray:
        with Image.open(io.BytesIO(blob[offsets[i] : offsets[i + 1]].tobytes())) as image:
            return np.asarray(image.convert("RGB"))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        decoded = np.stack(list(pool.map(decode, range(len(meta["names"])))))
    text = captions["text"].astype(np.float32) * captions["scale"][:, None]
    return FinetuneInputs(
        names=list(meta["names"]), photos=decoded,
        text=text / np.linalg.norm(text, axis=1, keepdims=True),
        owner=captions["owner"].astype(np.int64), labels=np.array(meta["child"], dtype=bool),
        validation=np.array(meta["validation"], dtype=bool), text_encoder=str(meta["text_encoder"]),
        adults=np.array(meta["adult"], dtype=bool) if "adult" in meta else None)


def pack_folder(settings: Settings, size: int) -> Path:
    """Where a CPU run keeps its pack: the cache, keyed by what the pack depends on."""
    from core.encoders.registry import REGISTRY

    text = f"{settings.text_encoder}-r{REGISTRY[settings.text_encoder].revision}"
    return settings.cache_dir / "finetune" / f"pack-v{PACK_VERSION}-{size}px-{text}-seed{settings.seed}"


def gather_inputs(settings: Settings, size: int, pack: Path | None = None,
                  progress: Callable[[str, int], Callable[[int], None]] | None = None) -> FinetuneInputs:
    """The inputs from `pack` when given, else from the cache's pack (built on first use)."""
    if pack is None:
        pack = pack_folder(settings, size)
        if not (pack / "pack.json").is_file():
            count = len(corpus_photos(settings))
            build_pack(settings, pack, size, progress("packing photos", count) if progress else None)
    return load_pack(pack)
