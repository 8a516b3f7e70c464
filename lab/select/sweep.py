"""`python -m lab sweep`: the grid search that chose the two-tower settings, as a command.

Every figure here is a **selection** figure: the rows are compared to choose the tower's
settings, so the winner's figures flatter it. Holdout is never read (only the extra corpus and
the practicum train and test sets); `evaluate` reads it once, for the settings chosen.

Each grid setting replaces some of the config's [tower] values and is measured three ways, as
`ablate` measures an encoder:

- ``val_r1``: R@1 on 1,000 extra-corpus photos (5 captions each) held out from a tower trained
  on the rest plus the practicum train photos' own captions: as large as holdout, and like it
  mostly 224-px copies, so far less noisy than the 100 test photos (holdout is never read);
- ``test_r1``: practicum test R@1 of a tower trained on the extra corpus plus the practicum train
  photos' own captions (the deployed recipe; test photos are none of these);
- ``zero_shot_tau_c``: Kendall tau-c against the mean expert score of a tower trained on the
  extra corpus alone (no expert, crowd or practicum data);
- ``cv_rmse``: calibrated RMSE over GroupShuffleSplit splits by photo. The corpus-only tower
  saw no practicum photo, so it serves every fold and only the calibration is fitted per fold
  (evaluate's table trains a tower per fold instead: five times the time).

The winner has the best mean rank over the optimised metrics (``[sweep] metrics``); a tie goes
to the better first metric, then to the earlier row.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from core.build.train import (
    PairFeatures,
    ProgressFactory,
    combine,
    corpus_features,
    fit_tower,
    no_progress,
    own_caption_features,
    relevance_features,
)
from core.data.dataset import validation_photos
from core.encoders.registry import REGISTRY
from core.foundation.atomic import atomic_write_json
from core.foundation.model_config import ModelConfig
from core.foundation.settings import Settings
from core.measure.evaluate import cross_validate, practicum_test_retrieval, retrieval_metrics, zero_shot_tau
from core.measure.reports import machine
from core.models.two_tower import TwoTowerRelevance

# metric -> (higher is better, what it is)
METRICS: dict[str, tuple[bool, str]] = {
    "val_r1": (True, "R@1 on 1,000 extra-corpus photos held out from the tower (tower: the rest "
                     "+ practicum train captions)"),
    "test_r1": (True, "practicum test R@1 (tower: extra corpus + practicum train captions)"),
    "zero_shot_tau_c": (True, "Kendall tau-c vs the mean expert score (tower: extra corpus only)"),
    "cv_rmse": (False, "two-tower RMSE over GroupShuffleSplit splits by photo (corpus-only tower, "
                       "calibration fitted per fold)"),
}


@dataclass
class TowerData:
    """What every tower of a sweep or an ablation row learns from and is measured on."""

    corpus: PairFeatures  # extra-corpus caption pairs
    own: PairFeatures  # practicum train photos' own captions
    relevance: PairFeatures  # practicum train pairs with a relevance target
    target: np.ndarray


def tower_data(settings: Settings, lemmatize: bool, progress: ProgressFactory = no_progress) -> TowerData:
    corpus, _ = corpus_features(settings, lemmatize, progress)
    own = own_caption_features(settings, lemmatize, progress=progress)
    feats, table, _ = relevance_features(settings, lemmatize, progress)
    return TowerData(corpus, own, feats, table["target"].to_numpy(dtype=np.float32))


def split_validation(corpus: PairFeatures, seed: int) -> tuple[PairFeatures, PairFeatures]:
    """(training rows, validation rows) of the extra corpus, split by photo: the photos of
    :func:`core.data.dataset.validation_photos` and every caption of theirs are held out."""
    mask = np.isin(corpus.images, list(validation_photos(corpus.images.tolist(), seed)))

    def rows(keep: np.ndarray) -> PairFeatures:
        return PairFeatures(corpus.text[keep], corpus.image[keep], corpus.images[keep])

    return rows(~mask), rows(mask)


def validation_retrieval(settings: Settings, data: TowerData, params: dict[str, Any],
                         progress: ProgressFactory = no_progress) -> dict[str, float]:
    """Caption -> photo retrieval over the held-out extra-corpus photos (see ``val_r1``)."""
    train, held = split_validation(data.corpus, settings.seed)
    tower = fit_tower(combine(train, data.own), settings.seed, progress, **params)
    gallery, first = np.unique(held.images, return_index=True)
    truth = np.searchsorted(gallery, held.images)
    return retrieval_metrics(tower, held.text, held.image[first], truth)


def tower_figures(settings: Settings, data: TowerData, params: dict[str, Any], lemmatize: bool,
                  cv_splits: int = 5, progress: ProgressFactory = no_progress) -> dict[str, float]:
    """The figures of METRICS (and R@10, the RMSE's spread) for towers with `params`."""
    corpus_tower = fit_tower(data.corpus, settings.seed, progress, **params)
    zero_shot = zero_shot_tau(settings, corpus_tower, lemmatize, progress)
    deployed = fit_tower(combine(data.corpus, data.own), settings.seed, progress, **params)
    test = practicum_test_retrieval(settings, deployed, lemmatize, progress)
    text_dim = data.corpus.text.shape[1]
    cv = cross_validate({"two_tower": lambda idx: TwoTowerRelevance(corpus_tower, text_dim)},
                        data.relevance.X, data.target, data.relevance.images, n_splits=cv_splits,
                        seed=settings.seed)["two_tower"]
    val = validation_retrieval(settings, data, params, progress)
    return {"val_r1": val["r1"], "val_r10": val["r10"], "test_r1": test["r1"], "test_r10": test["r10"],
            "zero_shot_tau_c": zero_shot,
            "cv_rmse": cv["rmse"], "cv_rmse_std": cv["rmse_std"]}


def grid_settings(grid: dict[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def mean_ranks(rows: list[dict[str, Any]], metrics: tuple[str, ...]) -> np.ndarray:
    """Each row's mean rank over `metrics` (1 = best; ties share the better rank)."""
    ranks = [rankdata([-r[m] if METRICS[m][0] else r[m] for r in rows], method="min") for m in metrics]
    return np.mean(ranks, axis=0)


def sweep(settings: Settings, config: ModelConfig, progress: ProgressFactory = no_progress,
          output: Path | None = None) -> dict[str, Any]:
    """One row per setting of ``config.sweep.grid``, the winner, and what it was chosen on;
    written to `output` (JSON) when given."""
    if not config.sweep.grid:
        raise ValueError("the sweep grid is empty: give [sweep.grid] in the model config or --grid")
    config.check_encoders({name: spec.kind for name, spec in REGISTRY.items()})
    settings = replace(settings, text_encoder=config.text_encoder, image_encoder=config.image_encoder,
                       seed=config.seed)
    data = tower_data(settings, config.lemmatize, progress)
    rows = []
    for setting in grid_settings(config.sweep.grid):
        params = {**asdict(config.tower), **setting}
        rows.append({"setting": setting, "tower": params,
                     **tower_figures(settings, data, params, config.lemmatize, config.sweep.cv_splits,
                                     progress)})
    metrics = config.sweep.metrics
    ranks = mean_ranks(rows, metrics)
    for row, rank in zip(rows, ranks, strict=True):
        row["mean_rank"] = float(rank)
    first = metrics[0]
    winner = min(range(len(rows)), key=lambda i: (ranks[i], -rows[i][first] if METRICS[first][0]
                                                  else rows[i][first], i))
    result = {
        "kind": "selection",
        "note": "selection figures: compared to choose the tower settings; holdout never read",
        "optimised": {"metrics": list(metrics),
                      "higher_is_better": {m: METRICS[m][0] for m in metrics},
                      "described": {m: METRICS[m][1] for m in metrics},
                      "rule": f"lowest mean rank over {', '.join(metrics)}; ties: better {first}, "
                              "then the earlier row"},
        "winner": {"row": winner, "setting": rows[winner]["setting"], "tower": rows[winner]["tower"],
                   "same_as_config": rows[winner]["tower"] == asdict(config.tower)},
        "rows": rows,
        "config": {"file": config.source, **config.to_dict()},
        "machine": machine(),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if output is not None:
        atomic_write_json(output, result)
    return result
