"""Probe: can another child head withhold fewer other photos at the product's recall rule? (#9)

Until 2026-11-27 the product's head was logistic regression on the joined photo vector, fitted on
the 2,100 photos the fine-tuned encoder never learnt (core.legal.training.child_training_set). Out of fold
on those same photos, at the rule (recall >= 0.98 at 95% confidence), for five fold seeds, this
compares it with heads that may learn from all 6,999 non-holdout photos because their features
are frozen ImageNet ones (Lite0 + Lite2), an even mix of the two scores, training labels that
leave out photos only one caption in five calls a child, (--cells) a multiple-instance head on
Lite2's 9x9 grid before pooling (per-cell logistic, log-sum-exp pooling) so a small child can
count, and the head now in use (core.legal.blend: the logistic head blended 0.7 / 0.3 with one on
the vector's frozen Lite2 part fitted on every photo). Selection figures; holdout is never read.

--more (added 2026-11-27, second stop) adds, each blended into the head in use where it is a
third score: nonlinear heads on the frozen part learnt from all photos (k nearest neighbours, an
RBF kernel by Nystroem features, a small MLP); the fine-tune's own child head (learnt with the
encoder from the 4,899 photos it saw, so honest on the others); Lite2's grid pooled by max beside
the mean; the whole-vector head trained with mirrored and cropped copies of its photos; and the
frozen part's head out of fold on all 6,999 photos, its threshold set by all 2,173 child photos.

Its heads read a frozen part: since 2026-11-28 the default encoder has none, so set
WITHSENSE_IMAGE_ENCODER=efficientnet-lite0-captions+lite2 (what these figures were measured on).

    .venv/bin/python scripts/probe_child_heads.py          # ~2 min with a warm vector cache
    .venv/bin/python scripts/probe_child_heads.py --cells  # +5 min for the grids, +1.5 min a seed
    .venv/bin/python scripts/probe_child_heads.py --more   # +grids, +4 min for the copies, +2 min a seed
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from probe_faces import withheld_at_rule  # noqa: E402  (a sibling script)
from scipy.special import expit  # noqa: E402

from core.data import dataset as data  # noqa: E402
from core.encoders.cache import embed_images  # noqa: E402
from core.foundation.settings import Settings  # noqa: E402
from core.legal.blend import BlendedChildClassifier, frozen_columns_of, member_columns  # noqa: E402
from core.legal.lexicon import mentions_child  # noqa: E402
from core.legal.training import child_training_photos  # noqa: E402

SEEDS = (42, 7, 1, 3, 5)


def photos(settings: Settings) -> tuple[list[Path], np.ndarray, np.ndarray, np.ndarray]:
    """Every non-holdout photo (core.legal.training.child_training_photos): paths, child labels (>= 2 of
    5 captions), how many captions mention a child, never learnt by the photo encoder."""
    paths, labels, fresh = child_training_photos(settings)
    captions = data.load_flickr_captions(settings.flickr_dir, {p.name for p in paths})
    mentions = captions["caption"].map(mentions_child).groupby(captions["image"], sort=True).sum()
    return paths, labels, mentions.reindex([p.name for p in paths]).to_numpy(), fresh


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def logistic(C: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", max_iter=3000)


def lite2_grids(settings: Settings, paths: list[Path]) -> np.ndarray:
    """(photos, 81, 1280) float16 (the encoder's cell_vectors, as "Why this photo" reads them),
    kept in the cache folder between runs."""
    from core.encoders.registry import get_encoder
    from core.foundation.images import load_image

    keep = settings.cache_dir / "probe-lite2-grids.npy"
    if keep.is_file():
        return np.load(keep)
    member = get_encoder("efficientnet-lite2", "image")
    grids = np.stack([member.cell_vectors(load_image(p)).reshape(-1, 1280).astype(np.float16)
                      for p in paths])
    np.save(keep, grids)
    return grids


def cell_head_scores(grids: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                     sharpness: float = 4.0, epochs: int = 8) -> np.ndarray:
    """Per-cell logistic on unit cells, pooled by log-sum-exp: between the mean and the max."""
    import torch

    torch.manual_seed(0)
    cells = torch.from_numpy(grids)
    head = torch.nn.Linear(cells.shape[-1], 1)

    def score(rows: np.ndarray) -> torch.Tensor:
        x = cells[rows].float()
        logits = head(x / x.norm(dim=-1, keepdim=True).clamp_min(1e-6)).squeeze(-1)
        return (torch.logsumexp(sharpness * logits, 1) - np.log(logits.shape[1])) / sharpness

    labels = torch.from_numpy(y[train].astype(np.float32))
    optimiser = torch.optim.AdamW(head.parameters(), lr=3e-3, weight_decay=1e-3)
    steps = epochs * -(-len(train) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 3e-3, total_steps=steps)
    balance = (1 - labels.mean()) / labels.mean()
    for _ in range(epochs):
        order = torch.randperm(len(train))
        for start in range(0, len(train), 64):
            batch = order[start:start + 64]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                score(train[batch.numpy()]), labels[batch], pos_weight=balance)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    with torch.no_grad():
        return np.concatenate([score(test[i:i + 256]).numpy() for i in range(0, len(test), 256)])


def augmented_copies(settings: Settings, paths: list[Path], rows: np.ndarray) -> np.ndarray:
    """(3, len(rows), dim): the photo encoder's vectors of each photo mirrored and of two random
    crops of 60-90% of each side (seed 0), kept in the cache folder between runs."""
    from PIL import ImageOps

    from core.encoders.image import normalise
    from core.encoders.registry import get_encoder
    from core.foundation.images import load_image

    keep = settings.cache_dir / f"probe-copies-{settings.image_encoder}-{len(rows)}.npy"
    if keep.is_file():
        return np.load(keep)
    members, rng = get_encoder(settings.image_encoder, "image").members(), np.random.default_rng(0)

    def views(image: Any) -> list[Any]:
        width, height = image.size
        out = [ImageOps.mirror(image)]
        for _ in range(2):
            side = rng.uniform(0.6, 0.9)
            w, h = int(width * side), int(height * side)
            x, y = rng.integers(0, width - w + 1), rng.integers(0, height - h + 1)
            out.append(image.crop((x, y, x + w, y + h)))
        return out

    copies = np.zeros((3, len(rows), sum(m.dim for m in members)), np.float32)
    for start in range(0, len(rows), 32):
        batch = [views(load_image(paths[i])) for i in rows[start:start + 32]]
        for v in range(3):
            parts = [m.encode_arrays(np.stack([m.preprocess(b[v]) for b in batch])) for m in members]
            copies[v, start:start + len(batch)] = normalise(np.hstack(parts))
    np.save(keep, copies)
    return copies


def encoder_head_scores(settings: Settings, raw: np.ndarray) -> np.ndarray:
    """The fine-tune's own child head on the fine-tuned member's part of each vector."""
    from core.encoders.registry import REGISTRY
    from core.legal.logistic import EncoderChildHead

    for member, (start, stop) in member_columns(settings.image_encoder):
        own = REGISTRY[member].own_weights
        if own is not None:
            return EncoderChildHead.from_encoder(own).decision_function(raw[:, start:stop])
    raise SystemExit(f"{settings.image_encoder} has no fine-tuned member with a child head")


def more_scores(X: dict[str, np.ndarray], y: np.ndarray, mine: np.ndarray, theirs: np.ndarray,
                others: np.ndarray, copies: np.ndarray, train: np.ndarray) -> dict[str, np.ndarray]:
    """--more's heads for one fold: `mine` fresh training rows (`train` their places among the
    fresh photos, for the copies), `others` every photo but the fold's held-out `theirs`."""
    from scipy.special import logit
    from sklearn.kernel_approximation import Nystroem
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline

    part, pooled = X["part"], X["mean+max"]
    sims = part[theirs] @ part[others].T
    near = np.argpartition(-sims, 50, axis=1)[:, :50]
    weight = np.exp(20 * np.take_along_axis(sims, near, 1))
    share = (weight * y[others][near]).sum(1) / weight.sum(1)
    kernel = make_pipeline(Nystroem(gamma=1.0, n_components=1500, random_state=0), logistic())
    mlp = MLPClassifier((256,), alpha=1e-2, early_stopping=True, random_state=0).fit(part[others], y[others])
    whole = X["whole"]
    extra = np.vstack([whole[mine]] + [copies[v][train] for v in range(3)])
    return {"part": logistic().fit(part[others], y[others]).decision_function(part[theirs]),
            "knn 50": logit(np.clip(share, 0.005, 0.995)),
            "rbf kernel": kernel.fit(part[others], y[others]).decision_function(part[theirs]),
            "mlp": logit(np.clip(mlp.predict_proba(part[theirs])[:, 1], 1e-4, 1 - 1e-4)),
            "grid mean+max": logistic().fit(pooled[others], y[others]).decision_function(pooled[theirs]),
            "whole + copies": logistic().fit(extra, np.tile(y[mine], 4)).decision_function(whole[theirs])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", action="store_true", help="also the head on Lite2's 9x9 grid")
    parser.add_argument("--more", action="store_true", help="also the heads of the second stop")
    parser.add_argument("--folds", type=int, default=3, help="folds (the product's rule uses 3)")
    args = parser.parse_args()
    settings = Settings()
    paths, y, mentions, fresh = photos(settings)
    raw = embed_images(paths, settings.image_encoder, settings.cache_dir)[0]
    joined = unit(raw)
    frozen = np.hstack([unit(embed_images(paths, name, settings.cache_dir)[0])
                        for name in ("efficientnet-lite0", "efficientnet-lite2")])
    grids = lite2_grids(settings, paths) if args.cells or args.more else None
    fi = np.flatnonzero(fresh)
    more: dict[str, np.ndarray] = {}
    if args.more:
        assert grids is not None
        grid = np.concatenate([np.hstack([unit(g.mean(1)), unit(g.max(1))])
                               for g in (grids[i:i + 500].astype(np.float32) for i in range(0, len(y), 500))])
        more = {"whole": joined, "part": unit(raw[:, slice(*frozen_columns_of(settings.image_encoder))]),
                "mean+max": unit(grid), "copies": augmented_copies(settings, paths, fi),
                "encoder head": encoder_head_scores(settings, raw)}
    print(f"{len(y)} photos, {y.sum()} child; never learnt by the encoder: {len(fi)}, "
          f"{y[fi].sum()} child. Other photos withheld at the rule (child photos flagged), "
          f"{args.folds} folds:")
    for seed in SEEDS:
        scores: dict[str, np.ndarray] = {k: np.zeros(len(fi)) for k in
                                         ("logistic", "frozen, all photos", "even mix", "no 1-of-5")}
        if grids is not None and args.cells:
            scores["cells, all photos"] = np.zeros(len(fi))
        for train, test in StratifiedKFold(args.folds, shuffle=True, random_state=seed).split(fi, y[fi]):
            mine, theirs = fi[train], fi[test]
            scores["logistic"][test] = logistic().fit(joined[mine], y[mine]).decision_function(joined[theirs])
            others = np.setdiff1d(np.arange(len(y)), theirs)  # frozen features know no labels
            scores["frozen, all photos"][test] = logistic(3.0).fit(frozen[others], y[others]) \
                .decision_function(frozen[theirs])
            clear = mine[mentions[mine] != 1]
            scores["no 1-of-5"][test] = logistic().fit(joined[clear], y[clear]) \
                .decision_function(joined[theirs])
            if grids is not None and args.cells:
                scores["cells, all photos"][test] = cell_head_scores(grids, y, others, theirs)
            if more:
                for name, value in more_scores(more, y, mine, theirs, others, more["copies"], train).items():
                    scores.setdefault(name, np.zeros(len(fi)))[test] = value
        whole, frozen_score = scores["logistic"], scores["frozen, all photos"]
        scores["even mix"] = whole / whole.std() + frozen_score / frozen_score.std()
        row = [f"{k} {withheld_at_rule(expit(v), y[fi])[1]:.3f} ({withheld_at_rule(expit(v), y[fi])[0]:.3f})"
               for k, v in scores.items()]
        # the product's head since 2026-11-27, as train fits it (its own folds: the same splits)
        blend = BlendedChildClassifier(frozen_columns_of(settings.image_encoder), folds=args.folds,
                                       seed=seed).fit(raw, y, fresh)
        row.append(f"blend (in use) {blend.cv_false_positive_rate_:.3f} ({blend.cv_recall_:.3f})")
        if more:  # the blend in use rebuilt from its two scores, then each as a third score
            z = {k: v / v.std() for k, v in scores.items()}
            z["encoder head"] = more["encoder head"][fi] / more["encoder head"][fi].std()
            in_use = 0.7 * z["logistic"] + 0.3 * z["part"]
            row.append(f"rebuilt {withheld_at_rule(expit(in_use), y[fi])[1]:.3f}")
            row += [f"+ {k} {withheld_at_rule(expit(0.7 * in_use + 0.3 * z[k]), y[fi])[1]:.3f}"
                    for k in ("knn 50", "rbf kernel", "mlp", "grid mean+max", "encoder head")]
            copies = 0.7 * z["whole + copies"] + 0.3 * z["part"]
            row.append(f"copies in the whole head {withheld_at_rule(expit(copies), y[fi])[1]:.3f}")
            # the frozen part's head judged on every photo: 2,173 child photos set the threshold
            everywhere = np.zeros(len(y))
            part_only = more["part"]
            for learn, judge in StratifiedKFold(args.folds, shuffle=True, random_state=seed).split(raw, y):
                head = logistic().fit(part_only[learn], y[learn])
                everywhere[judge] = head.decision_function(part_only[judge])
            row.append(f"part alone, all photos {withheld_at_rule(expit(everywhere), y)[1]:.3f}")
        print(f"seed {seed}: " + "; ".join(row), flush=True)


if __name__ == "__main__":
    main()
