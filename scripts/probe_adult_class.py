"""Probe: does the fine-tune learning an adult class make the child check withhold fewer? (#9)

Linear heads on the product's vectors cannot tell children from adults (scripts/probe_linear_heads.py:
told which photos are adults, they still withhold ~0.64 of them). Here the network itself is asked
to: Lite0 is fine-tuned twice on 2 CPU cores from the same views and seed, once as committed
(control) and once with an auxiliary adult head (``FinetuneConfig.adult_weight``; adults by
``core.legal.lexicon.caption_adult_labels``). Only the final model of each run is fitted: `finetune`'s two
half models set the encoder's own threshold, which the product's check does not use, and would
double the 45-minute runs. Each run's weights go to OUT/<arm>/ beside copies of the committed
Lite2 and MiniLM weights, so the product's check can be measured on each joined vector with

    WITHSENSE_MODELS=OUT/<arm> .venv/bin/python scripts/probe_linear_heads.py product

(out of fold on the 2,100 photos neither network learnt, 10 folds, fold seeds 29..67; selection
figures; holdout is never read). Control against adult, not against the committed GPU weights:
the same settings remade on the CPU moved the check by ~0.03 before (README, "Legal").

    .venv/bin/python scripts/probe_adult_class.py OUT [--pack DIR] [--adult-weight 1.0]   # ~1.5 h
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data import dataset as data
from core.encoders.own_weights import models_dir, save_own_weights, weights_files
from core.encoders.registry import PHOTO_FINETUNES
from core.foundation.settings import Settings
from core.legal.lexicon import caption_adult_labels
from core.legal.logistic import threshold_for_recall
from lab.finetune.pack import gather_inputs
from lab.finetune.photo import (
    FinetuneConfig,
    captions_of,
    fit_joint,
    own_towers_recall,
    photo_outputs,
    weights_payload,
)
from lab.finetune.views import trunk_views


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--pack", type=Path)
    parser.add_argument("--adult-weight", type=float, default=1.0)
    parser.add_argument("--arms", default="control,adult")
    args = parser.parse_args()
    settings = Settings()
    base = FinetuneConfig()
    inputs = gather_inputs(settings, base.size, args.pack)
    if inputs.adults is None:  # a pack made before adult labels: the same labels, from the captions
        captions = data.load_flickr_captions(settings.flickr_dir, set(inputs.names))
        adults = caption_adult_labels(captions).reindex(inputs.names).fillna(False).to_numpy(bool)
        inputs = dataclasses.replace(inputs, adults=adults)
    train, held = np.flatnonzero(~inputs.validation), np.flatnonzero(inputs.validation)
    print(f"{len(train)} training photos: {inputs.labels[train].sum()} child, "
          f"{inputs.adults[train].sum()} adult", flush=True)
    start = time.time()
    views = trunk_views(inputs.photos[train], base, base.views)
    plain = trunk_views(inputs.photos[held], base, 0)
    print(f"views {time.time() - start:.0f} s", flush=True)
    text, owner = captions_of(inputs, train)
    val_text, val_owner = captions_of(inputs, held)
    for arm in args.arms.split(","):
        config = dataclasses.replace(base, adult_weight=args.adult_weight if arm == "adult" else 0.0)
        start = time.time()
        model = fit_joint(views, text, owner, inputs.labels[train], config, adults=inputs.adults[train],
                          progress=lambda n: print(".", end="", flush=True))
        seconds = time.time() - start
        pooled, logits = photo_outputs(model, plain)
        labels = inputs.labels[held]
        scores = 1 / (1 + np.exp(-logits))
        threshold = threshold_for_recall(scores[labels], config.target_recall, config.confidence)
        figures = {"seconds": round(seconds),
                   "validation_own_towers": own_towers_recall(model, val_text, pooled, val_owner),
                   "own_head_withheld_validation": float((scores[~labels] >= threshold).mean()),
                   "own_head_adults_withheld_validation":
                       float((scores[inputs.adults[held]] >= threshold).mean())}
        folder = args.out / arm
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {"name": PHOTO_FINETUNES["lite0"], "settings": dataclasses.asdict(config),
                    "device": "cpu", "probe": "scripts/probe_adult_class.py (final model only)",
                    "figures": figures}
        payload = weights_payload(model, config, threshold)
        save_own_weights(PHOTO_FINETUNES["lite0"], payload, manifest, folder)
        for name in ("efficientnet-lite2-captions", "minilm-captions"):  # the product's other weights
            for path in weights_files(name, models_dir()):
                shutil.copy2(path, folder / path.name)
        (folder / "probe.json").write_text(json.dumps(figures, indent=1))
        print(f"\n{arm}: {json.dumps(figures)}", flush=True)


if __name__ == "__main__":
    main()
