"""`python -m lab ablate`: one row of the photo-encoder ablation table, measured the same way
for every encoder (docs/experiments.md, "Encoders: what learning from captions bought").

Every figure here is a selection figure: the rows are compared to choose the encoder. None
reads holdout; `evaluate` reads it once, for the chosen encoder.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.data.dataset import list_photos
from core.encoders.own_weights import read_manifest
from core.encoders.registry import REGISTRY, get_encoder
from core.foundation.atomic import atomic_write_json
from core.foundation.settings import Settings
from core.measure.reports import read_rows
from core.models.two_tower import TwoTower


# What each column of the table means, in the order shown (the page and the README use it).
def indexing_rate(settings: Settings, photos: int = 100, repeats: int = 2) -> float:
    """Photos per second for the image encoder alone, over the practicum test photos
    (originals, decoded and resized as at indexing); the best of `repeats` passes."""
    paths = list_photos(settings.practicum_dir / "test_images")[:photos]
    encoder = get_encoder(settings.image_encoder, "image")
    encoder.encode_paths(paths[:8])  # load weights outside the timing
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        encoder.encode_paths(paths)
        best = min(best, time.perf_counter() - started)
    return len(paths) / best


def logistic_child_figures(settings: Settings) -> dict[str, float]:
    """Out-of-fold child photos flagged and other photos withheld by logistic regression on the
    encoder's pooled vectors (the config's recall rule; seconds, so every frozen row has them)."""
    from core.foundation.settings import load_model_config
    from core.legal.training import fit_child_classifier

    rule = replace(load_model_config().child, classifier="logistic")
    clf = fit_child_classifier(settings, rule=rule)
    return {"child_flagged_out_of_sample": clf.cv_recall_,
            "other_withheld_out_of_sample": clf.cv_false_positive_rate_}


def learnt_without_validation(encoder: str) -> bool:
    """Whether an encoder never learnt from the validation photos of ``val_r1``: shipped weights,
    or the project's own whose manifest says their training left those photos out."""
    own = REGISTRY[encoder].own_weights
    return own is None or bool((read_manifest(own) or {}).get("validation_photos_excluded"))


def ablation_row(settings: Settings, progress: Any = None) -> dict[str, Any]:
    """Practicum test R@1/R@10 (deployed-style tower: extra corpus + practicum train captions),
    zero-shot tau-c and two-tower CV RMSE (5 GroupShuffleSplit folds by photo) of the tower
    trained on the extra corpus alone, the child head's out-of-sample figures when the encoder
    has one, and the indexing rate. Raw (not lemmatized) text, as deployed."""
    from core.build.train import no_progress
    from lab.select.sweep import tower_data, tower_figures

    progress = progress or no_progress
    # The config's tower settings (TwoTower's defaults, equal to configs/default.toml's [tower]).
    measured = tower_figures(settings, tower_data(settings, False, progress), {}, False, progress=progress)
    if not all(learnt_without_validation(n) for n in (settings.image_encoder, settings.text_encoder)):
        measured.update(val_r1=None, val_r10=None)  # its encoder learnt from the validation photos
    spec = REGISTRY[settings.image_encoder]
    manifest = (read_manifest(spec.own_weights) or {}) if spec.own_weights else {}
    figures = manifest.get("figures", {}) if spec.own_weights else logistic_child_figures(settings)
    return {
        "image_encoder": settings.image_encoder,
        "text_encoder": settings.text_encoder,
        "tower_epochs": TwoTower().epochs,  # the tower every row of one protocol shares
        "weights_sha256": manifest.get("sha256"),
        **measured,
        "child_flagged_oos": figures.get("child_flagged_out_of_sample"),
        "other_withheld_oos": figures.get("other_withheld_out_of_sample"),
        "photos_per_s": indexing_rate(settings),
    }


def record(path: Path, label: str, row: dict[str, Any]) -> dict[str, Any]:
    """Add or replace the row called `label` in the ablation file (a JSON object by label)."""
    rows = read_rows(path)
    rows[label] = row
    atomic_write_json(path, rows)
    return rows
