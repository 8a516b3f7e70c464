"""`python -m core`: train, sweep, evaluate, search, index and bench from the command line.

The only place that prints: library code raises, this module turns errors into messages.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.cli.parser import build_parser
from core.foundation.settings import Settings

# When the command started (this module is imported first, before torch): a search's load_ms
# counts the imports too, most of a cold start.
_STARTED = time.perf_counter()
_OPEN_BARS: list[Any] = []  # closed before an error is printed, so it gets a line of its own


def _close_bars() -> None:
    while _OPEN_BARS:
        _OPEN_BARS.pop().close()


def _tqdm_factory() -> Callable[[str, int], Callable[[int], None]]:
    from tqdm import tqdm

    def factory(stage: str, total: int) -> Callable[[int], None]:
        _close_bars()
        bar = tqdm(total=total, desc=stage, unit="it", leave=False, file=sys.stderr)
        _OPEN_BARS.append(bar)
        return bar.update

    return factory


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from core.build.train import train
    from core.foundation.model_config import load_model_config

    config = load_model_config(args.config)
    print(f"model config: {config.source}", file=sys.stderr)
    bundle = train(settings, config, progress=_tqdm_factory())
    print(f"model saved to {settings.artifacts_dir / 'model.pt'}")
    print(json.dumps(bundle.info, indent=2, default=str))
    return 0


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def print_metrics(metrics: dict[str, Any]) -> None:
    print(f"\n{'model':<16}{'RMSE':>10}{'± std':>9}{'MAE':>9}{'tau-c':>9}")
    for name, m in metrics["relevance"].items():
        print(f"{name:<16}{m['rmse']:>10.4f}{m['rmse_std']:>9.4f}{m['mae']:>9.4f}{m['kendall_tau_c']:>9.4f}")
    print(f"\nzero-shot Kendall tau-c vs experts: {metrics['expert_zero_shot_kendall_tau_c']:.4f}")
    print(f"\n{'retrieval':<16}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR':>8}{'queries':>9}{'images':>8}")
    for name, m in metrics["retrieval"].items():
        print(f"{name:<16}{m['r1']:>8.1f}{m['r5']:>8.1f}{m['r10']:>8.1f}{m['mrr']:>8.3f}"
              f"{m['queries']:>9}{m['images']:>8}")
    print("\nlegal: " + ", ".join(f"{k}={_fmt(v)}" for k, v in metrics.get("legal", {}).items()))
    print("lemmatization: " + json.dumps(metrics.get("lemmatization", {})))


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from core.measure.evaluate import evaluate
    from core.measure.reports import write_metrics

    metrics = evaluate(settings, progress=_tqdm_factory())
    output = Path(args.output) if args.output else settings.metrics_path
    write_metrics(output, metrics)
    print_metrics(metrics)
    print(f"\nwritten to {output}")
    return 0


def _grid(items: list[str] | None) -> dict[str, list[Any]] | None:
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
    from core.foundation.model_config import load_model_config, with_sweep
    from lab.select.sweep import sweep

    config = with_sweep(load_model_config(args.config), _grid(args.grid), cv_splits=args.cv_splits)
    output = Path(args.output) if args.output else settings.reports_dir / "sweep.json"
    result = sweep(settings, config, progress=_tqdm_factory(), output=output)
    names = list(result["optimised"]["metrics"])
    print(f"selection figures (never holdout); optimised: {result['optimised']['rule']}")
    print(f"{'row':>4}  {'setting':<40}" + "".join(f"{m:>17}" for m in names) + f"{'mean rank':>11}")
    for i, row in enumerate(result["rows"]):
        setting = ", ".join(f"{k}={v}" for k, v in row["setting"].items())
        print(f"{i:>4}  {setting:<40}" + "".join(f"{_fmt(row[m]):>17}" for m in names)
              + f"{row['mean_rank']:>11.2f}")
    winner = result["winner"]
    print(f"winner: row {winner['row']} ({winner['setting']}); "
          f"{'the config already has it' if winner['same_as_config'] else 'differs from the config'}")
    print(f"written to {output}")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    if (args.query is None) == (args.like is None):
        raise ValueError("give either a description to search for or --like PHOTO, not both")
    from core.search.service import SearchService, load_model, open_gallery

    bundle = load_model(settings)  # warmed: took_ms below is the search alone
    load_ms = _since_process_start_ms()  # imports (torch, scikit-learn) and the model
    if args.gallery:
        from core.gallery.ingest import ingest_folder

        folder = Path(args.gallery)
        report = ingest_folder(settings, folder, bundle=bundle)
        name = report.gallery
        if report.skipped:
            print(f"skipped {len(report.skipped)} unreadable file(s)", file=sys.stderr)
    else:
        name = "test"
    service = SearchService(bundle, open_gallery(settings, name, bundle))
    if args.like is None:
        response = service.search(args.query, args.top)
    else:  # a photo file, or the name of one of the gallery's photos
        response = service.search_like(Path(args.like) if Path(args.like).is_file() else args.like, args.top)
    explained = _save_match_maps(bundle, response, Path(args.explain)) if args.explain else {}
    if args.json:
        out = {**response.to_json(), "load_ms": round(load_ms, 1)}
        if args.explain:
            out["explain"] = list(explained.values())
        print(json.dumps(out, indent=2))
        return 0
    if response.disclaimer:
        print(response.disclaimer)
        return 0
    if response.kind == "photo":
        print("similarity: cosine between the photos' vectors (no 0..1 score for a search by photo)")
    for hit in response.results:
        why = explained.get(hit.image)
        where = f"  (matched most: {why['where']}; {why['file']})" if why else ""
        print(f"{hit.rank:>3}  {hit.similarity if hit.score is None else hit.score:.2f}  {hit.image}{where}")
    if response.withheld:
        print(f"({response.withheld} photo(s) withheld: they may show children)")
    print(f"took {response.took_ms:.1f} ms (starting and loading the model took {load_ms:.0f} ms)")
    return 0


def _since_process_start_ms() -> float:
    return (time.perf_counter() - _STARTED) * 1000


def _save_match_maps(bundle: Any, response: Any, folder: Path) -> dict[str, dict[str, str]]:
    """Each result's photo with its match map, as <rank>_<photo>.png in `folder`; nothing for a
    disclaimer (no photos are shown, nor explained)."""
    from core.search.explain import explain

    if response.disclaimer:
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    saved = {}
    for hit, match in zip(response.results, explain(bundle, response), strict=True):
        file = folder / f"{hit.rank:02d}_{Path(hit.image).stem}.png"
        file.write_bytes(match.overlay_png())
        saved[hit.image] = {"image": hit.image, "where": match.where(), "file": str(file)}
    return saved


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from core.gallery.ingest import ingest_folder

    report = ingest_folder(settings, Path(args.folder), gallery=args.name, progress=_tqdm_factory(),
                           on_wait=lambda: print("another run is indexing this gallery: waiting for it "
                                                 "to finish", file=sys.stderr))
    print(json.dumps(report.to_json(), indent=2))
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
                        progress=_tqdm_factory(), pack=Path(args.pack) if args.pack else None,
                        device=args.device)
    print(json.dumps(manifest, indent=2))
    return 0


def cmd_finetune_text(args: argparse.Namespace, settings: Settings) -> int:
    from lab.finetune.text import TextFinetuneConfig, finetune_text

    chosen = {k: v for k, v in (("image_encoder", args.image_encoder), ("layers", args.layers),
                                ("epochs", args.epochs), ("lr_text", args.lr_text)) if v is not None}
    manifest = finetune_text(settings, TextFinetuneConfig(**chosen),
                             Path(args.output) if args.output else None, progress=_tqdm_factory())
    print(json.dumps(manifest, indent=2))
    return 0


def cmd_ablate(args: argparse.Namespace, settings: Settings) -> int:
    from lab.select.ablation import ablation_row, indexing_rate, read_rows, record

    if args.image_encoder:
        settings = replace(settings, image_encoder=args.image_encoder)
    if args.text_encoder:
        settings = replace(settings, text_encoder=args.text_encoder)
    output = Path(args.output) if args.output else settings.reports_dir / "ablation.json"
    if args.speed_only:  # re-time a recorded row, e.g. all rows in one quiet moment
        row = {**read_rows(output)[args.label], "photos_per_s": indexing_rate(settings)}
    else:
        row = {**ablation_row(settings, progress=_tqdm_factory()), "note": args.note or ""}
    record(output, args.label, row)
    print(json.dumps(row, indent=2))
    print(f"written to {output} as {args.label!r}")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from core.measure.bench import run_bench

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    result = run_bench(settings, sizes=sizes, backends=args.backends.split(",") if args.backends else None,
                       log=lambda message: print(message, file=sys.stderr),
                       **({"pg_max_size": args.pg_max_size} if args.pg_max_size else {}))
    print(json.dumps(result, indent=2) if args.json else json.dumps(result))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "train": cmd_train, "evaluate": cmd_evaluate, "search": cmd_search, "index": cmd_index,
    "bench": cmd_bench, "finetune": cmd_finetune, "ablate": cmd_ablate, "sweep": cmd_sweep,
    "finetune-text": cmd_finetune_text,
}


def main(argv: Sequence[str] | None = None) -> int:
    from core.data.dataset import DataError
    from core.encoders.own_weights import OwnWeightsError
    from core.encoders.registry import UnknownEncoderError, WeightsUnavailableError
    from core.foundation.atomic import UnwritableError
    from core.foundation.images import ImageError
    from core.foundation.settings import ArtifactsMissingError
    from core.gallery.ingest import IngestError
    from core.index.exact import IndexFileError
    from core.search.service import PhotoNotInGalleryError
    from core.text.wordnet import QueryError, WordNetMissingError

    args = build_parser().parse_args(argv)
    try:
        settings = Settings()  # reads the model config's encoders: a bad file is an error here
        if args.data:
            settings = replace(settings, data_dir=Path(args.data))
        if args.artifacts:
            settings = replace(settings, artifacts_dir=Path(args.artifacts))
        return COMMANDS[args.command](args, settings)
    except (ArtifactsMissingError, DataError, QueryError, ImageError, UnknownEncoderError,
            WeightsUnavailableError, OwnWeightsError, WordNetMissingError, IngestError, IndexFileError,
            UnwritableError, PhotoNotInGalleryError,
            ValueError, OSError) as exc:  # OSError: a disk or folder problem
        _close_bars()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _close_bars()
        print("interrupted: finished batches are kept; run the command again to resume",
              file=sys.stderr)
        return 130
