"""A photo fine-tune's settings and the augmented views it learns from (`python -m lab finetune`).

Views are made once per run, before training: trunk outputs of each photo as indexing sees it and
of a few augmented copies (random resized crop, flip, mild colour jitter), seeded per photo.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.encoders.lite import lite_parts
from core.encoders.registry import LITE_MEAN, LITE_STD


@dataclass(frozen=True)
class FinetuneConfig:
    variant: str = "lite0"  # the ImageNet EfficientNet-Lite that learns (core.encoders.lite.LITE_VARIANTS)
    size: int = 224  # input side (Lite2's own: 260)
    split: int = 0  # the whole network learns (11: only the last stage, blocks 11-15 and the head)
    pool: str = "mean"
    views: int = 3  # augmented views per photo, beside the plain one
    epochs: int = 10
    batch_size: int = 128
    lr_tail: float = 3e-4  # chosen on validation R@1 over 1e-4 (reports/finetune_runs.json)
    lr_heads: float = 1e-3
    weight_decay: float = 0.05
    dropout: float = 0.4
    tower_dim: int = 256
    tower_hidden: int = 1024
    child_weight: float = 1.0
    # > 0: an auxiliary head learns which photos show adults (captions, core.legal.lexicon), so the network
    # must tell them from children, the photos the child check confuses most (#9); 0 as committed.
    adult_weight: float = 0.0
    folds: int = 2
    target_recall: float = 0.98
    confidence: float = 0.95
    seed: int = 42


def _pixels(image: Image.Image) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32) / 255.0
    return ((array - np.array(LITE_MEAN, np.float32)) / np.array(LITE_STD, np.float32)).transpose(2, 0, 1)


def augment(image: Image.Image, rng: np.random.Generator, size: int) -> np.ndarray:
    """Random resized crop (half the photo or more), horizontal flip, mild colour jitter."""
    w, h = image.size
    area = w * h * rng.uniform(0.5, 1.0)
    ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    cw, ch = min(w, round(math.sqrt(area * ratio))), min(h, round(math.sqrt(area / ratio)))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    crop = image.resize((size, size), Image.Resampling.BILINEAR, box=(x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    array = np.asarray(crop, dtype=np.float32) / 255.0
    array = array * rng.uniform(0.8, 1.2)  # brightness
    array = (array - array.mean()) * rng.uniform(0.8, 1.2) + array.mean()  # contrast
    grey = array.mean(2, keepdims=True)
    array = np.clip((array - grey) * rng.uniform(0.8, 1.2) + grey, 0, 1)  # saturation
    return _pixels(Image.fromarray((array * 255).astype(np.uint8)))


def trunk_views(photos: np.ndarray, config: FinetuneConfig, views: int, device: str = "cpu",
                progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """(photos, 1 + views, channels, height, width) float16 trunk outputs of `photos` (uint8,
    squeezed to the input size as indexing squeezes them): view 0 is the photo as indexing sees
    it, the others augmented (seeded per photo, so reruns agree). Split 0: the pixels."""
    trunk, _ = lite_parts(config.variant, config.split, config.pool)
    trunk = trunk.eval().to(device, memory_format=torch.channels_last)

    def prepare(i: int) -> np.ndarray:
        image = Image.fromarray(photos[i])
        if image.size != (config.size, config.size):
            image = image.resize((config.size, config.size), Image.Resampling.BILINEAR)
        rng = np.random.default_rng([config.seed, i])
        return np.stack([_pixels(image), *(augment(image, rng, config.size) for _ in range(views))])

    out: torch.Tensor | None = None
    step = 64
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool, torch.inference_mode():
        for start in range(0, len(photos), step):
            batch = np.concatenate(list(pool.map(prepare, range(start, min(start + step, len(photos))))))
            middle = trunk(torch.from_numpy(batch).to(device).contiguous(memory_format=torch.channels_last))
            middle = middle.contiguous().half().view(-1, 1 + views, *middle.shape[1:]).cpu()
            if out is None:
                out = torch.empty((len(photos), *middle.shape[1:]), dtype=torch.float16)
            out[start : start + len(middle)] = middle
            if progress is not None:
                progress(len(middle))
    if out is None:
        raise ValueError("no photos to fine-tune on")
    return out
