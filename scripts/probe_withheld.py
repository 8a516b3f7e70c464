"""Probe: which other photos does the child check withhold, and would more photos help? (#9)

Out of fold on the 2,100 photos the fine-tuned encoder never learnt, with the product's blend
(core.legal.blend, rebuilt from its two heads' scores as scripts/probe_child_heads.py --more does)
at the product's rule (recall >= 0.98 at 95% confidence), five fold seeds:

1. whom it withholds: the other photos by what their five captions name (one caption of five calls
   a child; three or more name an adult or a person; one or two do; none names a person);
2. what more fresh photos could buy: the threshold's confidence margin as if every child photo had
   been seen twice (as many fresh child photos again), the margin dropped (recall 0.98 only on
   the sample), and the whole-vector head fitted on half its photos (the learning curve's slope).

Selection figures: they decide what to try next; holdout is never read.

The blend needs a frozen part: since 2026-11-28 the default encoder has none, so name the one
these figures were measured on:

    WITHSENSE_IMAGE_ENCODER=efficientnet-lite0-captions+lite2 \
        .venv/bin/python scripts/probe_withheld.py   # ~1 min with a warm vector cache
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from probe_child_heads import SEEDS, logistic, photos, unit  # noqa: E402
from probe_faces import flagged_at_rule as withheld  # noqa: E402

from core.data import dataset as data  # noqa: E402
from core.encoders.cache import embed_images  # noqa: E402
from core.foundation.settings import Settings  # noqa: E402
from core.legal.blend import frozen_columns_of  # noqa: E402
from core.legal.lexicon import PERSON  # noqa: E402


def main() -> None:
    settings = Settings()
    paths, y, mentions, fresh = photos(settings)
    raw = embed_images(paths, settings.image_encoder, settings.cache_dir)[0]
    whole, part = unit(raw), unit(raw[:, slice(*frozen_columns_of(settings.image_encoder))])
    fi = np.flatnonzero(fresh)
    captions = data.load_flickr_captions(settings.flickr_dir, {paths[i].name for i in fi})
    people = captions["caption"].map(lambda c: bool(PERSON.search(c))).groupby(captions["image"]).sum()
    people = people.reindex([paths[i].name for i in fi]).to_numpy()
    child, one = y[fi], mentions[fi] == 1
    none = ~child & ~one  # other photos no caption calls a child
    groups = {"1 of 5 captions calls a child": ~child & one,
              "no child; 3+ captions name a person": none & (people >= 3),
              "no child; 1-2 captions name a person": none & (people >= 1) & (people <= 2),
              "no child; no caption names a person": none & (people == 0)}
    rows: dict[str, list[float]] = {}
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        scores = {k: np.zeros(len(fi)) for k in ("whole", "whole, half the photos", "part")}
        for train, test in StratifiedKFold(3, shuffle=True, random_state=seed).split(fi, child):
            mine, theirs = fi[train], fi[test]
            half = rng.choice(mine, len(mine) // 2, replace=False)
            others = np.setdiff1d(np.arange(len(y)), theirs)  # the frozen part learnt no label
            scores["whole"][test] = logistic().fit(whole[mine], y[mine]).decision_function(whole[theirs])
            scores["whole, half the photos"][test] = logistic().fit(whole[half], y[half]) \
                .decision_function(whole[theirs])
            scores["part"][test] = logistic().fit(part[others], y[others]).decision_function(part[theirs])
        z = {k: v / v.std() for k, v in scores.items()}
        blend = 0.7 * z["whole"] + 0.3 * z["part"]
        flagged = withheld(blend, child)
        found = {"blend in use": flagged,
                 "margin as for twice the child photos": withheld(blend, child, repeat=2),
                 "no margin (0.98 on the sample only)": withheld(blend, child, confidence=0.0),
                 "whole-vector head on half its photos": withheld(
                     0.7 * z["whole, half the photos"] + 0.3 * z["part"], child)}
        for name, mask in found.items():
            rows.setdefault(name, []).append(float(mask[~child].mean()))
        for name, mask in groups.items():
            rows.setdefault(f"  {name} ({mask.sum()} photos)", []).append(float(flagged[mask].mean()))
        print(f"seed {seed}: blend in use flags {flagged[child].mean():.3f} of child photos", flush=True)
    print(f"{len(fi)} photos the encoder never learnt, {child.sum()} child. Other photos withheld "
          "(mean over five fold seeds, then each seed):")
    for name, values in rows.items():
        print(f"{np.mean(values):.3f}  {name}: " + " ".join(f"{v:.3f}" for v in values))


if __name__ == "__main__":
    main()
