"""Benchmark livecert on recorded videos: speed, accuracy and liveness errors.

    python -m benchmarks suite DATA_DIR [--manifest FILE] [--out results.json]
                         [--plot report.png] [--repeats N] [--workers N] [--scaling]
                         [--readings N] [--readings-dir DIR] [--attacks N] [--attacks-dir DIR]

Without --manifest, DATA_DIR must be the shared data folder and the manifest
of ``python -m benchmarks manifest`` is used (its digits rows are readings
built from GRID s1 into ``--readings-dir``; the JSON's
``metadata.run.digits_readings`` says how they were made; its
presentation-attack rows are built into ``--attacks-dir``, see
``metadata.run.attack_clips``).  Exit codes: 0 the run
finished (clips that could not be processed are error rows in the JSON),
2 a usage or manifest problem (one line on stderr).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import finite, metadata, positive_int, write_json
from benchmarks.make_manifest import (
    ATTACKS_DATASET,
    add_attacks_arguments,
    add_readings_arguments,
    attacks_plan,
    readings_plan,
)
from benchmarks.manifest import ClipSpec, ManifestError, load_manifest, parse_manifest

log = logging.getLogger("benchmarks")
EXIT_OK, EXIT_USAGE = 0, 2


def _lengths(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of seconds") from None
    if not values or any(not 0 < v <= 600 for v in values):
        raise argparse.ArgumentTypeError("lengths must be between 0 and 600 seconds")
    return values


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``suite`` subcommand's options."""
    ap.add_argument("data_dir", type=Path, help="folder the manifest's relative paths start from")
    ap.add_argument("--manifest", type=Path, help="manifest CSV (default: the shared-data manifest)")
    ap.add_argument("--out", type=Path, default=Path("results.json"), help="JSON to write (default results.json)")
    ap.add_argument("--plot", type=Path, help="PNG report to write")
    ap.add_argument("--repeats", type=positive_int, default=3, help="timed runs per clip (default 3)")
    ap.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    ap.add_argument("--scaling", action="store_true", help="also measure 1 vs 2 workers and speed vs clip length")
    ap.add_argument(
        "--scaling-lengths",
        type=_lengths,
        default=[5.0, 10.0, 20.0],
        metavar="S,S,...",
        help="clip lengths for --scaling, seconds (default 5,10,20)",
    )
    ap.add_argument("--scaling-clips", type=positive_int, default=8, help="clips for the worker throughput (default 8)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the tutorial EAR<0.3 x3 baseline")
    ap.add_argument("--no-cold-start", action="store_true", help="skip the cold-start subprocess")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    ap.add_argument("--filter", metavar="TEXT", help="only the rows whose clip path contains TEXT")
    ap.add_argument("--limit", type=positive_int, help="only the first N rows (after --filter)")
    add_readings_arguments(ap)
    add_attacks_arguments(ap)


def load_specs(args: argparse.Namespace) -> list[ClipSpec]:
    """The validated manifest rows (raises ManifestError)."""
    if not args.data_dir.is_dir():
        raise ManifestError(f"{args.data_dir}: DATA_DIR is not a folder")
    args.data_dir = args.data_dir.resolve()  # workers and the cold-start process may run elsewhere
    if args.manifest is not None:
        return load_manifest(args.manifest, args.data_dir)
    from benchmarks.make_manifest import build_rows, looks_like_shared_data, manifest_text

    if not looks_like_shared_data(args.data_dir):
        raise ManifestError(
            f"{args.data_dir} is not the shared data folder; pass --manifest FILE (format: benchmarks/README.md)"
        )
    rows = build_rows(args.data_dir, readings_plan(args), attacks_plan(args))
    return parse_manifest(manifest_text(rows), args.data_dir, name="built-in manifest")


def run(args: argparse.Namespace) -> int:
    """Run the suite; see the module docstring."""
    try:
        specs = load_specs(args)
        if args.filter:
            specs = [s for s in specs if args.filter in str(s.clip)]
        specs = specs[: args.limit]
        if not specs:
            raise ManifestError(f"no manifest row left after --filter {args.filter!r} / --limit {args.limit}")
        for out in (args.out, args.plot):
            if out is not None and not out.resolve().parent.is_dir():
                raise ManifestError(f"{out}: the folder {out.resolve().parent} does not exist")
    except ManifestError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from benchmarks import coldstart, metrics, report
    from benchmarks.pool import run_specs
    from benchmarks.worker import RunConfig, peak_rss_mb

    t_start = time.time()
    meta = metadata(  # load average before the run starts
        data_dir=str(args.data_dir),
        manifest=str(args.manifest) if args.manifest else "built-in (benchmarks.make_manifest)",
        rows=len(specs),
        repeats=args.repeats,
        workers=args.workers,
        baseline=not args.no_baseline,
        still_photo_video="5 s at 25 fps (tests/realdata/attacks.py photo_video)",
        digits_readings=_readings_meta(args, specs),
        attack_clips=_attacks_meta(args, specs),
    )
    load, cpus = meta["load_average_1_5_15min"]["start"], os.cpu_count() or 1
    if load and load[0] >= 0.75 * cpus:
        log.warning(
            "the machine is busy (load %.1f on %d CPUs): speed figures will be slower and noisier than when idle",
            load[0],
            cpus,
        )
    log.info("%d rows, %d repeat(s), %d worker(s)", len(specs), args.repeats, args.workers)
    cold = None
    if not args.no_cold_start:
        log.info("cold start on %s ...", specs[0].clip)
        cold = coldstart.measure(specs[0])
    warmup = tuple({s.mode: s for s in reversed(specs)}.values())  # first row of each mode
    level = logging.DEBUG if args.verbose else logging.INFO
    config = RunConfig(repeats=args.repeats, baseline=not args.no_baseline, warmup=warmup, log_level=level)
    rows, run_info = run_specs(specs, workers=args.workers, config=config, progress=not args.no_progress)
    scaling = None
    if args.scaling:
        log.info("scaling: 1 and 2 workers, clip lengths %s s ...", ", ".join(f"{x:g}" for x in args.scaling_lengths))
        scaling = run_scaling_safe(specs, rows, args)
    summary = metrics.summarize(rows)
    summary["run"] = run_info | {
        "repeats": args.repeats,
        "baseline": not args.no_baseline,
        "note": "wall_s covers every repeat and the baseline; see scaling for livecert-only throughput",
    }
    summary["memory"]["main_process_peak_rss_mb"] = peak_rss_mb()
    summary["cold_start"] = cold
    summary["scaling"] = scaling
    summary["elapsed_s"] = time.time() - t_start
    result: dict[str, Any] = {"metadata": meta, "results": rows, "summary": summary}
    write_json(result, args.out)
    log.info("wrote %s", args.out)
    result = finite(result)
    view = {"metadata": result["metadata"], "summary": result["summary"], "cold_start": cold, "scaling": scaling}
    if args.plot is not None:
        report.write_plot(view, args.plot)
        log.info("wrote %s", args.plot)
    print(report.summary_table(view))
    return EXIT_OK


def _readings_meta(args: argparse.Namespace, specs: list[ClipSpec]) -> dict[str, Any] | None:
    """How the built-in manifest's digits rows were made, with their counts; None without such rows."""
    if args.manifest is not None or not any(s.mode == "digits" for s in specs):
        return None
    counts: dict[str, int] = {}
    for s in specs:
        if s.mode == "digits":
            key = f"{s.dataset}/{s.attack_type or 'genuine'}"
            counts[key] = counts.get(key, 0) + 1
    return readings_plan(args).describe() | {"rows": counts}


def _attacks_meta(args: argparse.Namespace, specs: list[ClipSpec]) -> dict[str, Any] | None:
    """How the built-in manifest's presentation-attack clips were made, with their counts; None without them."""
    made = [s for s in specs if s.dataset == ATTACKS_DATASET]
    if args.manifest is not None or not made:
        return None
    from benchmarks.attack_clips import describe

    counts: dict[str, int] = {}
    for s in made:
        counts[s.attack_type] = counts.get(s.attack_type, 0) + 1
    return describe(attacks_plan(args)) | {"rows": counts}


def run_scaling_safe(specs: list[ClipSpec], rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """:func:`benchmarks.scaling.run_scaling`, its failure recorded instead of raised."""
    from benchmarks.scaling import run_scaling

    try:
        return run_scaling(
            specs,
            rows,
            args.scaling_lengths,
            repeats=args.repeats,
            n_clips=args.scaling_clips,
            progress=not args.no_progress,
        )
    except Exception as exc:  # noqa: BLE001 - the main results are still written
        log.warning("scaling failed: %s", exc)
        return {"error": f"{type(exc).__name__}: {exc}"}
