"""`python -m core`: train, evaluate, search, index and bench from the command line.

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
from core.foundation.errors import USAGE, WithSenseError
from core.foundation.memory import keep_freed_memory
from core.foundation.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]

# When the command started (this module is imported first, before torch): a search's load_ms
# counts the imports too, most of a cold start.
_STARTED = time.perf_counter()
_OPEN_BARS: list[Any] = []  # closed before an error is printed, so it gets a line of its own


def close_bars() -> None:
    while _OPEN_BARS:
        _OPEN_BARS.pop().close()


def tqdm_factory() -> Callable[[str, int], Callable[[int], None]]:
    from tqdm import tqdm

    def factory(stage: str, total: int) -> Callable[[int], None]:
        close_bars()
        bar = tqdm(total=total, desc=stage, unit="it", leave=False, file=sys.stderr)
        _OPEN_BARS.append(bar)
        return bar.update

    return factory


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from core.build.train import train
    from core.foundation.settings import load_model_config

    config = load_model_config(args.config)
    print(f"model config: {config.source}", file=sys.stderr)
    bundle = train(settings, config, progress=tqdm_factory())
    print(f"model saved to {settings.artifacts_dir / 'model.pt'}")
    print(json.dumps(bundle.info, indent=2, default=str))
    return 0


def cmd_train_russian(args: argparse.Namespace, settings: Settings) -> int:
    from core.build.russian import train_russian
    from core.foundation.settings import load_model_config

    config = load_model_config()
    manifest = train_russian(settings, config.text_encoder, config.lemmatize, progress=tqdm_factory())
    close_bars()
    print(f"student saved to models/{manifest['file']} (sha256 {manifest['sha256'][:12]}…)")
    print(json.dumps(manifest["data"], indent=2))
    return 0


def fmt(value: Any) -> str:
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
    print("\nlegal: " + ", ".join(f"{k}={fmt(v)}" for k, v in metrics.get("legal", {}).items()))
    print("lemmatization: " + json.dumps(metrics.get("lemmatization", {})))


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from core.measure.evaluate import evaluate
    from core.measure.reports import write_metrics

    output = Path(args.output) if args.output else settings.metrics_path
    if args.only:
        from core.measure.sections import update_sections

        metrics = update_sections(settings, args.only.split(","), output, progress=tqdm_factory())
    else:
        metrics = evaluate(settings, progress=tqdm_factory())
    write_metrics(output, metrics)
    print_metrics(metrics)
    print(f"\nwritten to {output}")
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
    from core.gallery.engines import in_process
    from core.gallery.ingest import ingest_folder

    engine = in_process
    if args.engine == "ray":
        from core.gallery.ray_engine import RayEngine

        engine = RayEngine(address=args.ray_address, workers=args.ray_workers)
    elif args.ray_address or args.ray_workers:
        raise ValueError("--ray-address and --ray-workers go with --engine ray")
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError("--batch-size must be at least 1")
    sized = {"batch_size": args.batch_size} if args.batch_size else {}
    report = ingest_folder(settings, Path(args.folder), gallery=args.name, progress=tqdm_factory(), **sized,
                           on_wait=lambda: print("another run is indexing this gallery: waiting for it "
                                                 "to finish", file=sys.stderr), engine=engine)
    print(json.dumps(report.to_json(), indent=2))
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from core.measure.bench import run_bench

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    result = run_bench(settings, sizes=sizes, backends=args.backends.split(",") if args.backends else None,
                       log=lambda message: print(message, file=sys.stderr),
                       **({"pg_max_size": args.pg_max_size} if args.pg_max_size else {}))
    print(json.dumps(result, indent=2) if args.json else json.dumps(result))
    return 0


COMMANDS: dict[str, Command] = {
    "train": cmd_train, "train-russian": cmd_train_russian, "evaluate": cmd_evaluate,
    "search": cmd_search, "index": cmd_index,
    "bench": cmd_bench,
}


def run(args: argparse.Namespace, commands: dict[str, Command]) -> int:
    """Carry out `args.command` with the settings `--data` and `--artifacts` give; an error meant
    for the person is printed as one line and exits with the code core.foundation.errors gives
    it (`python -m lab` runs its commands through here too)."""
    keep_freed_memory()  # every command may encode photos: batches reuse memory, not fault it in
    try:
        settings = Settings()  # reads the model config's encoders: a bad file is an error here
        if args.data:
            settings = replace(settings, data_dir=Path(args.data))
        if args.artifacts:
            settings = replace(settings, artifacts_dir=Path(args.artifacts))
        return commands[args.command](args, settings)
    except WithSenseError as exc:
        close_bars()
        print(f"error: {exc}", file=sys.stderr)
        return exc.handling.exit_code
    except (ValueError, OSError) as exc:  # a bad option value; a disk or folder problem
        close_bars()
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        close_bars()
        print("interrupted: finished batches are kept; run the command again to resume",
              file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv), COMMANDS)
