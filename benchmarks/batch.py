"""``livecert batch`` at scale: throughput, memory per worker, resume after a kill.

    python -m benchmarks batch [--data DIR] [--clips 24] [--rounds 2] [--slope-clips 200]
                               [--no-ray] [--no-resume] [--out FILE]

Every figure goes through the library's runner (:func:`livecert.batch.runner.run_batch`,
what ``livecert batch`` runs), on blink-mode manifests of the shared ZJU clips
(repeated when more rows than clips are asked for), written to a temporary folder:

* **Throughput**: the same ``--clips`` rows with 1 and 2 worker processes
  and as Ray tasks on a local Ray instance of 2 CPUs started for that run
  (``ray.init(num_cpus=2)``, then ``ray_address="auto"`` and no worker count,
  as ``livecert batch --ray auto`` on an existing cluster), ``--rounds`` times in a
  rotating order so that a change in the machine's load falls on all three;
  the median over rounds is reported.  End to end (start-up included) and
  steady (each worker's first row, which loads the models, left out: rows
  after it over the time from the last first row's end to the last row's
  end).  CPU seconds per row (the worker's threads together) beside them:
  on a machine busy with other work, rows per second measure the share of
  the CPUs the workers got, CPU seconds per row what the work costs.
* **Memory**: each worker's resident memory after every row of a
  ``--slope-clips`` run with 2 workers; the slope is a least-squares line
  through it after each worker's first 10 rows, in MiB per 1,000 rows, and
  the median of its first and last 100 of those rows (resident memory
  swings by tens of MiB from one clip to the next).
* **Resume**: ``livecert batch`` in a subprocess, killed (SIGKILL, its own
  process group) once a few rows are written, then run again to the end;
  every manifest row must be in the results exactly once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import default_data_dir, default_out, metadata, positive_int, write_json, zju_clips
from livecert.batch.manifest import load_manifest
from livecert.batch.runner import run_batch
from livecert.evaluation.metrics import median_iqr

log = logging.getLogger("benchmarks.batch")
SLOPE_SKIP = 10
#: Rows after the skipped ones needed for a slope.
SLOPE_MIN_ROWS = 20
WINDOW = 100
RAY_CPUS = 2


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``batch`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=default_data_dir(), help="shared data folder (default LIVECERT_DATA)")
    ap.add_argument("--clips", type=positive_int, default=24, help="rows of each throughput run (default 24)")
    ap.add_argument("--rounds", type=positive_int, default=2, help="throughput runs of each kind (default 2)")
    ap.add_argument("--slope-clips", type=positive_int, default=200, help="rows of the memory run (default 200)")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray run")
    ap.add_argument("--no-resume", action="store_true", help="skip the kill-and-resume check")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/batch-DATE-HOST.json)")


def write_manifest(folder: Path, clips: list[Path], rows: int, name: str) -> Path:
    """A blink-mode manifest of ``rows`` rows cycling through ``clips``, ids ``r00000``..."""
    path = folder / f"{name}.csv"
    lines = ["id,video,mode"] + [f"r{i:05d},{clips[i % len(clips)]},blink" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def throughput(rows: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """Rows per second end to end and steady (see the module docstring), and memory per worker."""
    by_worker: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        w = r["worker"]
        by_worker.setdefault(f"{w['host']}:{w['pid']}", []).append(w)
    for spans in by_worker.values():
        spans.sort(key=lambda w: w["started_unix"])
    firsts_end = max(spans[0]["ended_unix"] for spans in by_worker.values())
    last_end = max(w["ended_unix"] for spans in by_worker.values() for w in spans)
    steady_rows = sum(1 for spans in by_worker.values() for w in spans[1:] if w["started_unix"] >= firsts_end - 1e-3)
    steady_s = last_end - firsts_end
    per_row = [w["ended_unix"] - w["started_unix"] for spans in by_worker.values() for w in spans[1:]]
    return {
        "rows": len(rows),
        "errors": sum(r["status"] != "ok" for r in rows),
        "workers": len(by_worker),
        "wall_s": wall_s,
        "rows_per_s": len(rows) / wall_s,
        "steady_rows": steady_rows,
        "steady_s": steady_s,
        "steady_rows_per_s": steady_rows / steady_s if steady_s > 0 else None,
        "row_wall_s": median_iqr(per_row) if per_row else None,
        "row_cpu_s": median_iqr([w["cpu_s"] for spans in by_worker.values() for w in spans[1:]]) if per_row else None,
        "peak_rss_mb_per_worker": {k: max(w["peak_rss_mb"] for w in v) for k, v in by_worker.items()},
    }


def run_one(manifest: Path, out: Path, **kwargs: Any) -> dict[str, Any]:
    summary = run_batch(load_manifest(manifest), out, progress=False, **kwargs)
    return throughput(read_rows(out), summary.wall_s) | {"backend": summary.backend.value}


def run_ray(manifest: Path, out: Path) -> dict[str, Any]:
    """One throughput run as Ray tasks on a local instance started (and stopped) for it."""
    import ray

    t0 = time.monotonic()
    ray.init(num_cpus=RAY_CPUS, include_dashboard=False, logging_level=logging.WARNING)
    try:
        startup = time.monotonic() - t0
        return run_one(manifest, out, ray_address="auto") | {"ray_startup_s": startup}  # as `--ray auto`
    finally:
        ray.shutdown()


def memory_slope(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Resident memory after each row, per worker: peak, and the slope after the first rows."""
    by_worker: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        w = r["worker"]
        by_worker.setdefault(f"{w['host']}:{w['pid']}", []).append(w)
    out = {}
    for key, spans in by_worker.items():
        spans.sort(key=lambda w: w["started_unix"])
        rss = np.array([w["rss_mb"] for w in spans], dtype=float)
        steady = rss[SLOPE_SKIP:]
        slope = float(np.polyfit(np.arange(steady.size), steady, 1)[0]) if steady.size >= SLOPE_MIN_ROWS else None
        out[key] = {
            "rows": len(spans),
            "peak_rss_mb": max(w["peak_rss_mb"] for w in spans),
            "rss_mb_first": float(rss[0]),
            "rss_mb_after_warmup": float(steady[0]) if steady.size else None,
            "rss_mb_last": float(rss[-1]),
            "rss_mb_median_first_100": float(np.median(steady[:WINDOW])) if steady.size else None,
            "rss_mb_median_last_100": float(np.median(steady[-WINDOW:])) if steady.size else None,
            "slope_mb_per_1000_rows": None if slope is None else slope * 1000,
        }
    return out


def resume_check(manifest: Path, out: Path, kill_after: int) -> dict[str, Any]:
    """Kill ``livecert batch`` after ``kill_after`` rows, run it again, count rows lost and duplicated."""
    cmd = [sys.executable, "-m", "livecert", "batch", str(manifest), "--out", str(out), "--workers", "2"]
    cmd.append("--no-progress")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= kill_after:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers: the process group this function started
    proc.wait()
    data = out.read_bytes()
    before = data.count(b"\n")
    torn = not data.endswith(b"\n") and bool(data)
    again = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    ids = [r["id"] for r in read_rows(out)]
    expected = [f"r{i:05d}" for i in range(len(load_manifest(manifest)))]
    return {
        "rows": len(expected),
        "rows_before_kill": before,
        "torn_line_at_kill": torn,
        "rerun_exit_code": again.returncode,
        "rows_after_resume": len(ids),
        "lost": len(set(expected) - set(ids)),
        "duplicated": len(ids) - len(set(ids)),
        "ok": sorted(ids) == expected,
    }


def run(args: argparse.Namespace) -> int:
    """Run the batch benchmark; see the module docstring."""
    clips = zju_clips(args.data, 40)
    if not clips:
        return 2
    meta = metadata(
        data_dir=str(args.data),
        clips=args.clips,
        rounds=args.rounds,
        slope_clips=args.slope_clips,
        source_clips=len(clips),
    )
    report: dict[str, Any] = {"metadata": meta}
    with tempfile.TemporaryDirectory(prefix="livecert-batch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        manifest = write_manifest(tmp, clips, args.clips, "throughput")
        kinds = ["processes_1", "processes_2"] + ([] if args.no_ray else ["ray_2"])
        rounds: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for r in range(args.rounds):
            for kind in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:  # rotating order
                log.info("throughput, round %d: %d rows, %s ...", r + 1, args.clips, kind)
                out = tmp / f"{kind}-{r}.jsonl"
                result = run_ray(manifest, out) if kind == "ray_2" else run_one(manifest, out, workers=int(kind[-1]))
                if result["errors"] == result["rows"]:
                    first = read_rows(out)[0]["error"]
                    log.error("every row of the %s run was an error row, the first: %s", kind, first["message"])
                    return 1
                rounds[kind].append(result)
        runs: dict[str, Any] = {}
        for kind, results in rounds.items():
            runs[kind] = {
                "rows_per_s": float(np.median([x["rows_per_s"] for x in results])),
                "steady_rows_per_s": float(np.median([x["steady_rows_per_s"] for x in results])),
                "rounds": results,
            }
        one, two = runs["processes_1"], runs["processes_2"]
        ratios: dict[str, Any] = {}
        for kind in ("rows_per_s", "steady_rows_per_s"):
            ratios[f"speedup_2_over_1_{kind}"] = two[kind] / one[kind]
            if "ray_2" in runs:
                ratios[f"ray_over_processes_{kind}"] = runs["ray_2"][kind] / two[kind]
        report["throughput"] = runs | ratios
        log.info("memory: %d rows, 2 workers ...", args.slope_clips)
        big = write_manifest(tmp, clips, args.slope_clips, "memory")
        summary = run_batch(load_manifest(big), tmp / "memory.jsonl", workers=2, progress=False)
        mem_rows = read_rows(tmp / "memory.jsonl")
        report["memory"] = {
            "rows": len(mem_rows),
            "errors": sum(r["status"] != "ok" for r in mem_rows),
            "wall_s": summary.wall_s,
            "rows_per_s": summary.rows_per_s,
            "slope_skips_first_rows": SLOPE_SKIP,
            "workers": memory_slope(mem_rows),
        }
        if not args.no_resume:
            log.info("resume: kill and run again ...")
            small = write_manifest(tmp, clips, 16, "resume")
            report["resume"] = resume_check(small, tmp / "resume.jsonl", kill_after=5)
    out = write_json(report, args.out or default_out("batch"))
    log.info("wrote %s", out)
    t = report["throughput"]
    print(
        f"rows/s steady: 1 worker {t['processes_1']['steady_rows_per_s']:.3f}, "
        f"2 workers {t['processes_2']['steady_rows_per_s']:.3f} "
        f"(x{t['speedup_2_over_1_steady_rows_per_s']:.2f})"
        + (
            f", Ray {t['ray_2']['steady_rows_per_s']:.3f} ({t['ray_over_processes_steady_rows_per_s']:.2f} of the pool)"
            if "ray_2" in t
            else ""
        )
    )
    for key, w in report["memory"]["workers"].items():
        slope = w["slope_mb_per_1000_rows"]
        slope_text = "too few rows for a slope" if slope is None else f"slope {slope:+.1f} MiB per 1000 rows"
        first, last = w["rss_mb_median_first_100"], w["rss_mb_median_last_100"]
        if first is not None and last is not None:
            slope_text += f", median RSS {first:.0f} MiB over the first 100 rows, {last:.0f} MiB over the last 100"
        print(f"worker {key}: {w['rows']} rows, peak {w['peak_rss_mb']:.0f} MiB, {slope_text}")
    if "resume" in report:
        print(f"resume: {report['resume']}")
    return 0
