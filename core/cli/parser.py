"""The grammar of `python -m core`: every command and option, with its help text.

Kept apart from core/cli/commands.py, which carries the commands out, so that each reads on its own.
"""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="With Sense photo search")
    parser.add_argument("--data", help="data folder (default: data/ or $WITHSENSE_DATA)")
    parser.add_argument("--artifacts", help="artifacts folder (default: artifacts/)")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="build artifacts/ for the model a config file describes")
    tr.add_argument("--config", help="model config (default: configs/default.toml or "
                                     "$WITHSENSE_MODEL_CONFIG)")
    sw = sub.add_parser("sweep", help="the two-tower grid search (selection figures; never holdout)")
    sw.add_argument("--config", help="model config whose [tower] and [sweep] to use "
                                     "(default: configs/default.toml or $WITHSENSE_MODEL_CONFIG)")
    sw.add_argument("--grid", action="append", metavar="NAME=V1,V2",
                    help="tower values to try instead of [sweep.grid] (repeatable)")
    sw.add_argument("--cv-splits", type=int, help="GroupShuffleSplit splits (default: [sweep] cv_splits)")
    sw.add_argument("--output", help="result file (default: reports/sweep.json)")
    ev = sub.add_parser("evaluate", help="measure every model; write reports/metrics.json")
    ev.add_argument("--output", help="metrics file (default: reports/metrics.json)")
    se = sub.add_parser("search", help="search the practicum test photos (or --gallery FOLDER)")
    se.add_argument("query", nargs="?", help="a description of the photos to find")
    se.add_argument("--like", metavar="PHOTO", help="find photos that look like this one instead "
                                                    "(a file, or the name of a gallery photo)")
    se.add_argument("--top", type=int, default=10)
    se.add_argument("--json", action="store_true")
    se.add_argument("--gallery", help="a folder of photos to index and search instead")
    se.add_argument("--explain", metavar="DIR", help="also save, for each result, the photo with a "
                                                     "heat map of where the query matched, in DIR")
    ix = sub.add_parser("index", help="add the photos of a folder to a gallery")
    ix.add_argument("folder")
    ix.add_argument("--name", help="gallery name (default: the folder's name)")
    ft = sub.add_parser("finetune", help="fine-tune the photo encoder on captions (models/)")
    ft.add_argument("--output", help="folder for the weights and manifest (default: models/)")
    ft.add_argument("--pack", help="train from a pack folder (finetune --make-pack) instead of data/")
    ft.add_argument("--make-pack", help="write the inputs as a pack into this folder and stop")
    ft.add_argument("--device", help="torch device (default: cuda when there is one, else cpu)")
    for name, kind in (("variant", str), ("size", int), ("split", int), ("pool", str), ("views", int),
                       ("epochs", int), ("batch_size", int), ("folds", int), ("lr_tail", float),
                       ("lr_heads", float), ("weight_decay", float), ("child_weight", float),
                       ("adult_weight", float), ("seed", int)):
        ft.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind,
                        help="see lab/finetune/photo.py FinetuneConfig")
    ftt = sub.add_parser("finetune-text", help="fine-tune MiniLM's last layers on captions (models/)")
    ftt.add_argument("--output", help="folder for the weights and manifest (default: models/)")
    ftt.add_argument("--image-encoder", help="frozen photo vectors to learn against")
    ftt.add_argument("--layers", type=int, help="how many of MiniLM's last layers learn")
    ftt.add_argument("--epochs", type=int)
    ftt.add_argument("--lr-text", dest="lr_text", type=float)
    ab = sub.add_parser("ablate", help="one row of the photo-encoder ablation table")
    ab.add_argument("label", help="the row's name in the table")
    ab.add_argument("--image-encoder", help="registry name (default: $WITHSENSE_IMAGE_ENCODER)")
    ab.add_argument("--text-encoder", help="registry name (default: $WITHSENSE_TEXT_ENCODER)")
    ab.add_argument("--note", help="what the row changes")
    ab.add_argument("--output", help="table file (default: reports/ablation.json)")
    ab.add_argument("--speed-only", action="store_true", help="only re-time the indexing of a recorded row")
    be = sub.add_parser("bench", help="latency, throughput, memory and concurrency benchmark")
    be.add_argument("--json", action="store_true")
    be.add_argument("--sizes", help="comma-separated gallery sizes (default 1000,10000,100000,1000000)")
    be.add_argument("--backends", help="comma-separated: exact,pgvector")
    be.add_argument("--pg-max-size", type=int, help="largest gallery pgvector runs (default 100000: "
                                                    "1M means an HNSW build of minutes)")
    return parser
