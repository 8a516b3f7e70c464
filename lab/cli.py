"""`python -m lab`: the research commands. Fine-tuning the project's own weights, the two-tower
settings sweep, one row of the encoder ablation, and the probes that still inform a decision.
They read and write the same folders as `python -m core` and report errors the same way."""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.cli.commands import Command, fmt, run, tqdm_factory
from core.cli.parser import base_parser
from core.foundation.settings import Settings

# A probe: a module of lab/probes with main(argv) -> int, named by its file.
PROBES = {
    "faces": "do faces (RetinaFace, an age model) help the child-photo check? (packages by hand)",
    "page_load": "where a first visitor's wait for search results goes, in a real browser",
    "child_shifts": "which child-photo threshold rule holds on shifted photos (training photos only)",
    "runtime_speed": "PyTorch, ONNX Runtime float32 or int8: which runs the photo networks fastest?",
    "runtime_quality": "does int8 (or float32) ONNX Runtime keep R@10 and the child flags? (selection)",
    "russian": "how Russian queries reach the photo space: centring, ridge or MLP students (selection)",
}


def parse_grid(items: list[str] | None) -> dict[str, list[Any]] | None:
    """`--grid hidden=0,1024 --grid epochs=6`: tower parameters and the values to try."""
    import tomllib

    if not items:
        return None
    grid = {}
    for item in items:
        key, sep, values = item.partition("=")
        try:
            if not sep:
                raise tomllib.TOMLDecodeError("no '='")
            grid[key.strip()] = tomllib.loads(f"v = [{values}]")["v"]
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"--grid {item!r}: expected NAME=VALUE[,VALUE...] ({exc})") from exc
    return grid


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    from core.foundation.model_config import with_sweep
    from core.foundation.settings import load_model_config
    from lab.select.sweep import sweep

    config = with_sweep(load_model_config(args.config), parse_grid(args.grid), cv_splits=args.cv_splits)
    output = Path(args.output) if args.output else settings.reports_dir / "sweep.json"
    result = sweep(settings, config, progress=tqdm_factory(), output=output)
    names = list(result["optimised"]["metrics"])
    print(f"selection figures (never holdout); optimised: {result['optimised']['rule']}")
    print(f"{'row':>4}  {'setting':<40}" + "".join(f"{m:>17}" for m in names) + f"{'mean rank':>11}")
    for i, row in enumerate(result["rows"]):
        setting = ", ".join(f"{k}={v}" for k, v in row["setting"].items())
        print(f"{i:>4}  {setting:<40}" + "".join(f"{fmt(row[m]):>17}" for m in names)
              + f"{row['mean_rank']:>11.2f}")
    winner = result["winner"]
    print(f"winner: row {winner['row']} ({winner['setting']}); "
          f"{'the config already has it' if winner['same_as_config'] else 'differs from the config'}")
    print(f"written to {output}")
    return 0


def cmd_finetune(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import fields

    from lab.finetune.photo import FinetuneConfig, finetune

    chosen = {f.name: getattr(args, f.name) for f in fields(FinetuneConfig)
              if getattr(args, f.name, None) is not None}
    if args.make_pack:
        from lab.finetune.pack import build_pack

        folder = build_pack(settings, Path(args.make_pack), FinetuneConfig(**chosen).size)
        print(f"pack written to {folder}")
        return 0
    manifest = finetune(settings, FinetuneConfig(**chosen), Path(args.output) if args.output else None,
                        progress=tqdm_factory(), pack=Path(args.pack) if args.pack else None,
                        device=args.device)
    print(json.dumps(manifest, indent=2))
    return 0


def cmd_finetune_text(args: argparse.Namespace, settings: Settings) -> int:
    from lab.finetune.text import TextFinetuneConfig, finetune_text

    chosen = {k: v for k, v in (("image_encoder", args.image_encoder), ("layers", args.layers),
                                ("epochs", args.epochs), ("lr_text", args.lr_text)) if v is not None}
    manifest = finetune_text(settings, TextFinetuneConfig(**chosen),
                             Path(args.output) if args.output else None, progress=tqdm_factory())
    print(json.dumps(manifest, indent=2))
    return 0


def cmd_ablate(args: argparse.Namespace, settings: Settings) -> int:
    from core.measure.reports import read_rows
    from lab.select.ablation import ablation_row, indexing_rate, record

    if args.image_encoder:
        settings = replace(settings, image_encoder=args.image_encoder)
    if args.text_encoder:
        settings = replace(settings, text_encoder=args.text_encoder)
    output = Path(args.output) if args.output else settings.reports_dir / "ablation.json"
    if args.speed_only:  # re-time a recorded row, e.g. all rows in one quiet moment
        row = {**read_rows(output)[args.label], "photos_per_s": indexing_rate(settings)}
    else:
        row = {**ablation_row(settings, progress=tqdm_factory()), "note": args.note or ""}
    record(output, args.label, row)
    print(json.dumps(row, indent=2))
    print(f"written to {output} as {args.label!r}")
    return 0


def cmd_killtest(args: argparse.Namespace, settings: Settings) -> int:
    from lab.killtest import command

    return command(args, settings)


def cmd_loadcheck(args: argparse.Namespace, settings: Settings) -> int:
    from lab.loadcheck import command

    return command(args, settings)


def cmd_probe(args: argparse.Namespace, settings: Settings) -> int:
    module = importlib.import_module(f"lab.probes.{args.name}")
    return int(module.main(args.rest) or 0)


COMMANDS: dict[str, Command] = {
    "sweep": cmd_sweep, "finetune": cmd_finetune, "finetune-text": cmd_finetune_text,
    "ablate": cmd_ablate, "probe": cmd_probe, "killtest": cmd_killtest,
    "loadcheck": cmd_loadcheck,
}


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("python -m lab", "With Sense research: how the shipped choices were made")
    sub = parser.add_subparsers(dest="command", required=True)
    sw = sub.add_parser("sweep", help="the two-tower grid search (selection figures; never holdout)")
    sw.add_argument("--config", help="model config whose [tower] and [sweep] to use "
                                     "(default: configs/default.toml or $WITHSENSE_MODEL_CONFIG)")
    sw.add_argument("--grid", action="append", metavar="NAME=V1,V2",
                    help="tower values to try instead of [sweep.grid] (repeatable)")
    sw.add_argument("--cv-splits", type=int, help="GroupShuffleSplit splits (default: [sweep] cv_splits)")
    sw.add_argument("--output", help="result file (default: reports/sweep.json)")
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
    kt = sub.add_parser("killtest", help="SIGKILL `python -m core index` at random moments, check the "
                                         "gallery after each (lab/killtest.py)")
    kt.add_argument("--photos", type=int, default=60, help="real photos in the folder (default 60)")
    kt.add_argument("--kills", type=int, default=20)
    kt.add_argument("--per-round", type=int, default=5, help="kills before a round's run to the end")
    kt.add_argument("--batch-size", type=int, default=4, help="photos per save (index --batch-size)")
    kt.add_argument("--seed", type=int, default=37)
    kt.add_argument("--model", help="model.pt to index with (default: the artifacts folder's)")
    kt.add_argument("--output", help="also write the kills and rounds as JSON here")
    lc = sub.add_parser("loadcheck", help="visitors at once through the app in real Chromium contexts: "
                                          "errors, time to first results, server CPU and memory")
    lc.add_argument("--visitors", default="1,2,4,8", help="visitors at once, a round each (default 1,2,4,8)")
    lc.add_argument("--no-pin", dest="pin", action="store_false",
                    help="let server and browsers share every core (default: server alone on core 0)")
    lc.add_argument("--output", help="write the figures as JSON here (e.g. reports/load.json)")
    pr = sub.add_parser("probe", help="run a probe: " + "; ".join(f"{k} ({v})" for k, v in PROBES.items()))
    pr.add_argument("name", choices=sorted(PROBES))
    pr.add_argument("rest", nargs=argparse.REMAINDER, help="the probe's own options")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv), COMMANDS)
