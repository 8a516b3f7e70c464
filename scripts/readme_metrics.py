"""Render reports/metrics.json (from `python -m core evaluate`) into README.md's metrics block,
so every figure the README quotes comes from the last evaluate run."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = {
    "constant": "constant baseline (mean target)",
    "linear_concat": "linear regression (ridge) on [text | image]",
    "mlp_concat": "fully connected network on [text | image]",
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
    return "\n".join(lines)


def main() -> int:
    metrics = json.loads((ROOT / "reports" / "metrics.json").read_text())
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"<!-- metrics:start -->\n{render(metrics)}\n<!-- metrics:end -->"
    new, count = re.subn(r"<!-- metrics:start -->.*?<!-- metrics:end -->", lambda _: block, text,
                         flags=re.DOTALL)
    if count != 1:
        sys.stderr.write("README.md has no metrics block\n")
        return 1
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
