"""Probe: which child-photo rule holds when photos look unlike the training ones? (issue #34)

On the child classifier's training photos only (the 2,100 the photo encoder never learnt; never
holdout), out of fold (the product's 10 folds and recall rule), three rules for the logistic head:

- plain: today's rule, the threshold on the photos as they are;
- worst: the same regression, the threshold the lowest of each shift's (core.legal.shifts);
- worst+augment: the regression also learns from the shifted copies, the threshold as `worst`.

For each: recall and other photos withheld, plain and per shift, and the worst case. The rule is
chosen by what was fixed before the run: the fewest other photos withheld (plain) among rules
whose out-of-fold recall is >= the target on every shift. Indexing cost is the same for all three
(one vector, one dot product); the shifted copies cost train time only. Selection figures:

    .venv/bin/python -m lab probe child_shifts   # ~20 min on 2 cores with a cold shift cache
"""

from __future__ import annotations

import json

from scipy.special import expit

from core.encoders.cache import embed_images
from core.foundation.settings import Settings, load_model_config
from core.legal.logistic import ChildPhotoClassifier
from core.legal.training import child_training_set, shifted_vectors

RULES = {"plain": {"augment": False, "shifts": False}, "worst": {"augment": False, "shifts": True},
         "worst+augment": {"augment": True, "shifts": True}}


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    rule = load_model_config().child
    paths, labels = child_training_set(settings)
    plain, _ = embed_images(paths, settings.image_encoder, settings.cache_dir)
    shifted = shifted_vectors(settings, paths)
    names = ["plain", *shifted]
    views = [plain, *shifted.values()]
    rows = {}
    for rule_name, how in RULES.items():
        clf = ChildPhotoClassifier(rule.target_recall, rule.confidence, folds=rule.folds,
                                   seed=settings.seed, augment=how["augment"],
                                   shift_threshold=how["shifts"]).fit(plain, labels, shifted=views[1:])
        probability = expit(clf.oof_logits_)  # every view's, whichever views chose the threshold
        threshold = clf.threshold_
        per_view = {name: {"recall": float((p[labels] >= threshold).mean()),
                           "withheld": float((p[~labels] >= threshold).mean())}
                    for name, p in zip(names, probability, strict=True)}
        rows[rule_name] = {
            "threshold": threshold, "per_view": per_view,
            "worst_recall": min(v["recall"] for v in per_view.values()),
            "worst_withheld": max(v["withheld"] for v in per_view.values()),
        }
    held = [n for n, r in rows.items() if r["worst_recall"] >= rule.target_recall]
    chosen = min(held, key=lambda n: rows[n]["per_view"]["plain"]["withheld"]) if held else None
    print(json.dumps({"photos": len(labels), "child_photos": int(labels.sum()), "rules": rows,
                      "chosen": chosen}, indent=1))
    return 0
