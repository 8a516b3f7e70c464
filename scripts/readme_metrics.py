"""Render reports/*.json into the generated blocks of README.md and docs/experiments.md
(`<!-- NAME:start -->` ... `<!-- NAME:end -->`), so every figure they quote comes from the last
evaluate, bench, ablate or finetune run. Each block lives in one file (BLOCK_FILES)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from core.measure import reports
from core.measure.hybrid_report import hybrid_table

ROOT = Path(__file__).resolve().parent.parent
README = Path("README.md")
EXPERIMENTS = Path("docs") / "experiments.md"
# Which file holds each block, relative to the project folder: the user's figures in the README,
# the research tables with the experiments' story.
BLOCK_FILES = {"metrics": README, "bench": README, "ablation": EXPERIMENTS, "finetune-runs": EXPERIMENTS}


def _kind(section: str) -> str:
    """The figure's provenance, in italics after its heading."""
    return f"*{reports.provenance(section)}*"


def render(m: dict) -> str:
    cfg = m["config"]
    lines = [
        f"Measured by `python -m core evaluate` on {m.get('generated_at', '?')}, {cfg.get('machine', '?')};",
        f"encoders `{cfg['text_encoder']}` + `{cfg['image_encoder']}`, seed {cfg['seed']}.",
        "",
        f"Relevance to the 0.6·expert + 0.4·crowd target on the practicum train pairs, "
        f"{cfg.get('folds', 5)} GroupShuffleSplit splits by photo (test_size {cfg.get('test_size', 0.2)} "
        "each, drawn independently, so test sets overlap: not a k-fold). " + _kind("relevance"),
        "",
        "| model | RMSE (mean ± std) | MAE | Kendall tau-c |",
        "|---|---|---|---|",
    ]
    for key, row in m["relevance"].items():
        name = reports.MODELS[key].description if key in reports.MODELS else key
        lines.append(f"| {name} | {row['rmse']:.4f} ± {row['rmse_std']:.4f} | "
                     f"{row['mae']:.4f} | {row['kendall_tau_c']:.4f} |")
    lines += [
        "",
        f"Zero-shot Kendall tau-c of the two-tower similarity against the mean expert score on all "
        f"expert pairs, for a tower trained on the extra corpus alone (no expert, crowd or practicum "
        f"photo): **{m['expert_zero_shot_kendall_tau_c']:.4f}** (CLIP's published figure: 0.512). "
        + _kind("expert_zero_shot_kendall_tau_c"),
        "",
        "Text → image retrieval with the deployed tower:",
        "",
        "| set | R@1 | R@5 | R@10 | MRR | queries | photos | kind |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, r in m["retrieval"].items():
        kind = reports.PROVENANCE.get(f"retrieval.{key}")
        lines.append(f"| {key} | {r['r1']:.1f} | {r['r5']:.1f} | {r['r10']:.1f} | {r['mrr']:.3f} | "
                     f"{r['queries']} | {r['images']} | {kind.kind if kind else 'unknown'} |")
    kinds = {key: reports.PROVENANCE[f"retrieval.{key}"] for key in m["retrieval"]
             if f"retrieval.{key}" in reports.PROVENANCE}
    lines += ["", " ".join(f"*{reports.SPLIT_LABELS.get(key, key)}: {p.kind} figure, {p.why}.*"
                           for key, p in kinds.items())]
    lem = m.get("lemmatization", {})
    if lem:
        lines += ["", "Lemmatizing the text fed to MiniLM (chosen on the CV two-tower RMSE; "
                  f"default: {'lemmatized' if cfg['lemmatize'] else 'raw'}). " + _kind("lemmatization"), "",
                  "| text | two-tower RMSE | tau-c | zero-shot tau-c | test R@1 (corpus-only tower) |",
                  "|---|---|---|---|---|"]
        for key, r in lem.items():
            r1 = r["practicum_test_r1_corpus_only_tower"]
            lines.append(f"| {key} | {r['two_tower_rmse']:.4f} | {r['two_tower_kendall_tau_c']:.4f} | "
                         f"{r['zero_shot_kendall_tau_c']:.4f} | {r1:.1f} |")
    legal = m.get("legal", {})
    if legal:
        lines += ["", "Legal checks: query check recall on child queries "
                  f"{legal['query_recall']:.3f}, false alarms {legal['query_false_alarm']:.4f} "
                  "(tests/legal_queries.tsv). " + _kind("legal.query"),
                  "", "Image classifier on holdout (labels from its captions; photos it never learnt "
                  "from): child photos flagged "
                  f"{legal['image_recall_holdout']:.3f}, other photos withheld "
                  f"{legal['image_withheld_nonchild_holdout']:.3f}. " + _kind("legal.image_holdout")]
        candidates = legal.get("classifiers", {})
        if candidates:
            lines += ["", "Child-photo classifiers compared on training photos only (out-of-fold, at the "
                      "threshold each one chose; the first is in use). " + _kind("legal.classifiers"), "",
                      "| classifier | child photos flagged | other photos withheld |", "|---|---|---|"]
            lines += [f"| {reports.CHILD_CLASSIFIER_LABELS.get(k, k)} | {r['cv_recall']:.3f} | "
                      f"{r['cv_withheld_nonchild']:.3f} |" for k, r in candidates.items()]
        shifted = legal.get("image_shifts_holdout", {})
        if shifted:
            lines += ["", "The image classifier on holdout photos changed one way at a time, as a host's "
                      "photos differ from the training copies (worst case: child photos flagged "
                      f"{legal['image_recall_holdout_worst_shift']:.3f}, other photos withheld "
                      f"{legal['image_withheld_nonchild_holdout_worst_shift']:.3f}). "
                      + _kind("legal.image_shifts"), "",
                      "| photos | child photos flagged | other photos withheld |", "|---|---|---|"]
            lines += [f"| {reports.SHIFT_LABELS.get(k, k)} | {r['recall']:.3f} | {r['withheld']:.3f} |"
                      for k, r in shifted.items()]
    hybrid = hybrid_table(m.get("hybrid_simulated", {}))
    if not hybrid.empty:
        lines += ["", "Search by photographers' descriptions, **simulated** (each photo's first caption "
                  "stands in for its description, its other captions are the queries; R@k in %). "
                  + _kind("hybrid_simulated.selection") + " " + _kind("hybrid_simulated.holdout"), "",
                  "| " + " | ".join(hybrid.columns) + " |", "|" + "---|" * len(hybrid.columns)]
        lines += ["| " + " | ".join(v if isinstance(v, str) else f"{v:.1f}" for v in row) + " |"
                  for row in hybrid.itertuples(index=False)]
    return "\n".join(lines)


def render_bench(b: dict) -> str:
    sizes = sorted({int(n) for per in b["query_latency_ms"].values() for n in per})
    lines = [f"Measured by `python -m core bench --json > reports/bench.json` on {b.get('machine', '?')}.",
             "", "Warm query latency, p50 / p95 in ms (text encoding + search + calibration + legal check):",
             "", "| backend | " + " | ".join(f"{n:,} photos" for n in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for backend, per in b["query_latency_ms"].items():
        cells = [f"{per[str(n)]['p50']:.1f} / {per[str(n)]['p95']:.1f}" if str(n) in per else "not run"
                 for n in sizes]
        lines.append(f"| {backend} | " + " | ".join(cells) + " |")
    extra = [(f"with `{b.get('filtered_query', '')}` added (#36)", b.get("filtered_query_latency_ms")),
             ("a Russian query, e5 and the student (#39)", b.get("russian_query_latency_ms"))]
    parts = [f"{what}: {ms['p50']:.1f} / {ms['p95']:.1f}" for what, ms in extra if ms and "p50" in ms]
    if parts:
        lines += ["", f"At {sizes[0]:,} photos (exact), p50 / p95 in ms, " + "; ".join(parts) + "."]
    c = b["concurrency"]
    lines += ["", f"Indexing: {b['indexing_photos_per_s']:.0f} photos/s in {b.get('runtime', 'torch')} "
              "(decode + resize + encode + child check). "
              f"Peak memory: {b['peak_rss_mb']:.0f} MB. Concurrency: {c['threads']} threads x "
              f"{c['queries'] // c['threads']} queries, {c['errors']} errors, {c['qps']:.0f} queries/s."]
    agreement = b.get("agreement_at_10") or {}
    if agreement:
        built = b.get("build_s", {}).get("pgvector", {})
        def took(seconds: float) -> str:
            return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

        parts = "; ".join(f"{int(n):,} photos: {agreement[n]:.1f}%, loaded and built in "
                          f"{took(built.get(n, 0))}" for n in sorted(agreement, key=int))
        lines += ["", "pgvector's top 10 shared with exact search's on the same gallery (100 queries): "
                  f"{parts}."]
    stages = b.get("indexing_stages") or {}
    if stages.get("ms_per_photo"):
        parts = ", ".join(f"{name} {ms:.1f}" for name, ms in stages["ms_per_photo"].items())
        lines += ["", f"Indexing stages, ms per photo, one after another over {stages['photos']} photos: "
                  f"{parts} (largest: {stages['largest']}; {stages['note']})."]
    by_runtime = {k: v for k, v in (b.get("indexing_by_runtime") or {}).items() if v.get("photos_per_s")}
    if by_runtime:
        lines += ["", "Indexing in each runtime (the same photos and pipeline), photos/s and the "
                  "networks' ms per photo:", "", "| runtime | photos/s | networks, ms per photo |",
                  "|---|---|---|"]
        for runtime, row in by_runtime.items():
            nets = ", ".join(f"{k.removeprefix('network ')} {v:.1f}"
                             for k, v in row["network_ms_per_photo"].items())
            lines.append(f"| {runtime} | {row['photos_per_s']:.0f} | {nets} |")
    ray = b.get("indexing_ray_local") or {}
    if ray.get("photos"):
        lines += ["", f"On Ray started on this machine (`index --engine ray`, one actor per core): "
                  f"{ray['photos_per_s']:.0f} photos/s over {ray['photos']} photos, after "
                  f"{ray['start_s']:.0f} s to start Ray and its actors."]
    big = b.get("big_photos") or {}
    if big.get("photos"):
        lines += ["", f"24-megapixel JPEGs ({big['size']}, {big['jpeg_mb_each']} MB each, "
                  f"{big['photos']} photos): {big['photos_per_s']:.1f} photos/s, "
                  f"{big['memory_added_mb']:.0f} MB of memory added while indexing them."]
    cold = b.get("cli_cold_start") or {}
    if cold.get("runs") and "error" not in cold:
        lines += ["", f"`python -m core search` from a cold shell ({cold['runs']} runs): "
                  f"{cold['wall_s_median']:.2f} s median, process start to exit (load_ms "
                  f"{cold['load_ms_median']:.0f}: imports and model; took_ms "
                  f"{cold['took_ms_median']:.1f}: the search)."]
    return "\n".join(lines)


def _cell(value: object, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def render_ablation(rows: dict) -> str:
    """reports/ablation.json (one `python -m lab ablate LABEL` per row) as a table."""
    lines = ["Measured by `python -m lab ablate LABEL` (reports/ablation.json) on 2 CPU cores. "
             "Selection figures: the encoders in use were chosen on these; none reads holdout. "
             "Val R@1: 1,000 extra-corpus photos held out from the tower (— where an encoder "
             "learnt from those photos).", "",
             "| row | what changes | tower epochs | val R@1 | test R@1 | test R@10 | CV RMSE | "
             "zero-shot tau-c | child photos flagged | other photos withheld | indexing photos/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, r in rows.items():
        lines.append(f"| {label} | {r.get('note', '')} | {r.get('tower_epochs', '—')} | "
                     f"{_cell(r.get('val_r1'), 1)} | "
                     f"{_cell(r['test_r1'], 1)} | "
                     f"{_cell(r['test_r10'], 1)} | {_cell(r['cv_rmse'], 4)} | "
                     f"{_cell(r['zero_shot_tau_c'], 4)} | {_cell(r.get('child_flagged_oos'), 3)} | "
                     f"{_cell(r.get('other_withheld_oos'), 3)} | {_cell(r['photos_per_s'], 0)} |")
    return "\n".join(lines)


def render_runs(runs: dict) -> str:
    """reports/finetune_runs.json: each `python -m lab finetune` run's own figures (its towers
    and child head, before `train` refits the towers), the cheap first look at each setting.
    Earlier runs measured their towers on the practicum test photos, later ones on the 1,000
    validation photos they never learnt from."""
    lines = ["Each fine-tuning run's own figures (from its manifest: retrieval with the run's own "
             "towers, trained on the extra corpus only, on the practicum test photos for the earlier "
             "runs and on the 1,000 validation photos for the later ones; child head out of sample). "
             "Selection figures.", "",
             "| run | learns | pooling | tail lr | epochs | test R@1 | val R@1 | val R@10 | "
             "child photos flagged | other photos withheld | minutes | device |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, m in runs.items():
        cfg, fig = m["settings"], m["figures"]
        test, val = fig.get("practicum_test_own_towers", {}), fig.get("validation_own_towers", {})
        net = f"{cfg.get('variant', 'lite0').title()}, {cfg['size']} px"
        learns = f"{net}, whole network" if cfg["split"] == 0 else f"{net}, blocks {cfg['split']}- + head"
        device = "GPU" if "cpu" not in m["device"].lower() else "2 CPU cores"
        lines.append(f"| {label} | {learns} | {cfg['pool']} | {cfg['lr_tail']:g} | {cfg['epochs']} | "
                     f"{_cell(test.get('r1'), 1)} | {_cell(val.get('r1'), 1)} | {_cell(val.get('r10'), 1)} | "
                     f"{fig['child_flagged_out_of_sample']:.3f} | "
                     f"{fig['other_withheld_out_of_sample']:.3f} | {m['duration_s'] / 60:.1f} | {device} |")
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str, where: Path = README) -> str:
    block = f"<!-- {name}:start -->\n{body}\n<!-- {name}:end -->"
    new, count = re.subn(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", lambda _: block, text,
                         flags=re.DOTALL)
    if count != 1:
        raise SystemExit(f"{where.as_posix()} has no {name} block")
    return new


# Block <- reports/ file and its renderer; every file but metrics.json is optional.
OPTIONAL = (("bench.json", "bench", render_bench), ("ablation.json", "ablation", render_ablation),
            ("finetune_runs.json", "finetune-runs", render_runs))


def rendered_blocks() -> dict[str, str]:
    """Each block's body, as rendered from the reports/ files there are now (BLOCK_FILES says
    which file it goes into)."""
    blocks = {"metrics": render(reports.read_metrics_json(ROOT / "reports" / "metrics.json"))}
    for file, block, renderer in OPTIONAL:
        path = ROOT / "reports" / file
        if path.is_file():
            blocks[block] = renderer(json.loads(path.read_text()))
    return blocks


def main() -> int:
    by_file: dict[Path, dict[str, str]] = {}
    for block, body in rendered_blocks().items():
        by_file.setdefault(BLOCK_FILES[block], {})[block] = body
    for where, blocks in by_file.items():
        path = ROOT / where
        text = path.read_text(encoding="utf-8")
        for block, body in blocks.items():
            text = replace_block(text, block, body, where)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
