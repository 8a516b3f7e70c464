"""Render reports/metrics.json (from `python -m core evaluate`) into README.md's metrics block,
so every figure the README quotes comes from the last evaluate run."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = {
    "constant": "constant baseline (mean target)",
    "linear_concat": "linear regression (ridge) on text + image vectors",
    "mlp_concat": "fully connected network on text + image vectors",
    "two_tower": "two-tower, calibrated cosine (default)",
    "two_tower_mlp": "MLP head over two-tower features",
}


def render(m: dict) -> str:
    cfg = m["config"]
    lines = [
        f"Measured by `python -m core evaluate` on {m.get('generated_at', '?')}, {cfg.get('machine', '?')};",
        f"encoders `{cfg['text_encoder']}` + `{cfg['image_encoder']}`, seed {cfg['seed']}.",
        "",
        "Relevance to the 0.6·expert + 0.4·crowd target, 5-fold GroupShuffleSplit by photo "
        "(test_size 0.2) on the practicum train pairs:",
        "",
        "| model | RMSE (mean ± std) | MAE | Kendall tau-c |",
        "|---|---|---|---|",
    ]
    for key, row in m["relevance"].items():
        lines.append(f"| {NAMES.get(key, key)} | {row['rmse']:.4f} ± {row['rmse_std']:.4f} | "
                     f"{row['mae']:.4f} | {row['kendall_tau_c']:.4f} |")
    lines += [
        "",
        f"Zero-shot Kendall tau-c of the two-tower similarity against the mean expert score on all "
        f"expert pairs, for a tower trained on the extra corpus alone (no expert, crowd or practicum "
        f"photo): **{m['expert_zero_shot_kendall_tau_c']:.4f}** (CLIP's published figure: 0.512).",
        "",
        "Text → image retrieval with the deployed tower:",
        "",
        "| set | R@1 | R@5 | R@10 | MRR | queries | photos |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in m["retrieval"].items():
        lines.append(f"| {key} | {r['r1']:.1f} | {r['r5']:.1f} | {r['r10']:.1f} | {r['mrr']:.3f} | "
                     f"{r['queries']} | {r['images']} |")
    lem = m.get("lemmatization", {})
    if lem:
        lines += ["", "Lemmatizing the text fed to MiniLM (chosen on the CV two-tower RMSE; "
                  f"default: {'lemmatized' if cfg['lemmatize'] else 'raw'}):", "",
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
                  "(tests/legal_queries.tsv); image classifier on holdout (labels from its captions, "
                  f"never seen): child photos flagged {legal['image_recall_holdout']:.3f}, other photos "
                  f"withheld {legal['image_withheld_nonchild_holdout']:.3f}."]
        names = {"finetuned_tail": "fine-tuned last block + head (default)",
                 "logistic_pooled": "logistic regression on the pooled vector"}
        candidates = legal.get("classifiers", {})
        if candidates:
            lines += ["", "Child-photo classifiers compared on training photos only (out-of-fold, at the "
                      "threshold each one chose):", "",
                      "| classifier | child photos flagged | other photos withheld |", "|---|---|---|"]
            lines += [f"| {names.get(k, k)} | {r['cv_recall']:.3f} | {r['cv_withheld_nonchild']:.3f} |"
                      for k, r in candidates.items()]
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
    c = b["concurrency"]
    lines += ["", f"Indexing: {b['indexing_photos_per_s']:.0f} photos/s "
              "(decode + resize + encode + child check). "
              f"Peak memory: {b['peak_rss_mb']:.0f} MB. Concurrency: {c['threads']} threads x "
              f"{c['queries'] // c['threads']} queries, {c['errors']} errors, {c['qps']:.0f} queries/s."]
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str) -> str:
    block = f"<!-- {name}:start -->\n{body}\n<!-- {name}:end -->"
    new, count = re.subn(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", lambda _: block, text,
                         flags=re.DOTALL)
    if count != 1:
        raise SystemExit(f"README.md has no {name} block")
    return new


def main() -> int:
    readme = ROOT / "README.md"
    text = replace_block(readme.read_text(), "metrics",
                         render(json.loads((ROOT / "reports" / "metrics.json").read_text())))
    bench = ROOT / "reports" / "bench.json"
    if bench.is_file():
        text = replace_block(text, "bench", render_bench(json.loads(bench.read_text())))
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
