"""Probe: a child check for a photo vector whose members are all fine-tuned (#9, 2026-11-28).

Lite0 and Lite2 both fine-tuned on captions (`efficientnet-lite0-captions+lite2-captions`) leave
no frozen part for the blend in use (core.legal.blend), so this compares, out of fold on the
photos neither fine-tune learnt (core.legal.training.child_training_set), at the product's rule
(recall >= 0.98 at 95% confidence), for five fold seeds: logistic regression on the whole vector
(fitted on those photos), each member's own child head (learnt in its fine-tune, so honest on
these photos, and fitted on nothing here), their mean, and blends of the logistic head with it.
Selection figures; holdout is never read.

    WITHSENSE_IMAGE_ENCODER=efficientnet-lite0-captions+lite2-captions \\
        .venv/bin/python scripts/probe_both_tuned.py     # ~1 min with a warm vector cache
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from probe_faces import withheld_at_rule  # noqa: E402  (a sibling script)
from scipy.special import expit  # noqa: E402

from core.encoders.cache import embed_images  # noqa: E402
from core.encoders.registry import REGISTRY  # noqa: E402
from core.foundation.settings import Settings  # noqa: E402
from core.legal.blend import member_columns  # noqa: E402
from core.legal.logistic import EncoderChildHead  # noqa: E402
from core.legal.training import child_training_set  # noqa: E402

SEEDS = (42, 7, 1, 3, 5)
MIXES = (0.3, 0.5, 0.7)  # the share of the own heads beside the logistic head


def zscore(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std()


def main() -> None:
    settings = Settings()
    paths, y = child_training_set(settings)
    raw = embed_images(paths, settings.image_encoder, settings.cache_dir)[0]
    whole = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    heads = {member: EncoderChildHead.from_encoder(REGISTRY[member].own_weights)
             .decision_function(raw[:, start:stop])
             for member, (start, stop) in member_columns(settings.image_encoder)
             if REGISTRY[member].own_weights is not None}
    own = zscore(sum(zscore(h) for h in heads.values()))
    print(f"{settings.image_encoder}: {len(y)} photos neither fine-tune learnt, {y.sum()} child. "
          "Other photos withheld at the rule (child photos flagged):")
    fixed = {**{f"own head {m}": h for m, h in heads.items()}, "own heads, mean": own}
    rates = {k: withheld_at_rule(expit(v), y) for k, v in fixed.items()}
    print("  " + "; ".join(f"{k} {withheld:.3f} ({flagged:.3f})" for k, (flagged, withheld) in rates.items()))
    for seed in SEEDS:
        logistic = np.zeros(len(y))
        for train, test in StratifiedKFold(3, shuffle=True, random_state=seed).split(whole, y):
            model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
            logistic[test] = model.fit(whole[train], y[train]).decision_function(whole[test])
        scores = {"logistic": logistic, **{f"mix {w}": (1 - w) * zscore(logistic) + w * own for w in MIXES}}
        print(f"seed {seed}: " + "; ".join(f"{k} {withheld_at_rule(expit(v), y)[1]:.3f}"
                                           for k, v in scores.items()), flush=True)


if __name__ == "__main__":
    main()
