"""Running rows in worker processes with a progress bar: the library's batch runner.

The pool is :func:`livecert.batch.runner.map_tasks`, the one ``livecert
batch`` uses: spawned processes (or Ray tasks with ``ray_address``), every
worker warmed up before the first row starts, so the throughput window runs
from the first row's start to the last row's end.  Rows come back in
manifest order whatever the number of workers.  A worker that dies (a crash
in native code) takes down the rows in flight: they are run again one by one
in fresh processes, and a row that kills its process again becomes an error
row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from benchmarks.manifest import ClipSpec
from benchmarks.worker import RunConfig, empty_row, init_worker, run_clip
from livecert.batch.progress import ProgressBar
from livecert.batch.runner import TaskFailure, map_tasks

log = logging.getLogger(__name__)


def crashed_row(spec: ClipSpec, failure: TaskFailure) -> dict[str, Any]:
    """Error row of a clip that gave no result (its worker process died twice, or it raised)."""
    row = empty_row(spec, "error", None)
    row["error"] = {"type": "WorkerCrashed", "code": failure.code.value, "message": failure.message}
    return row


def run_specs(
    specs: Sequence[ClipSpec],
    *,
    workers: int,
    config: RunConfig,
    label: str = "clips",
    progress: bool = True,
    ray_address: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run every row in ``workers`` spawned processes (or Ray tasks).

    Parameters
    ----------
    specs : sequence of ClipSpec
    workers : int
        Processes (at most one per row).
    config : RunConfig
    label : str
        Name shown on the progress bar.
    progress : bool
    ray_address : str, optional
        Run as tasks on this Ray cluster (or on the one this process is
        already connected to, whatever the address) instead of a local
        process pool.

    Returns
    -------
    rows : list of dict
        One per spec, in manifest order.
    run : dict
        ``workers``, ``wall_s`` (first row start to last row end, after the
        warm-up), ``clips``, ``frames``, ``clips_per_s``, ``frames_per_s``,
        ``video_s_per_s`` and ``peak_rss_mb`` per worker pid.
    """
    n = max(1, min(workers, len(specs)))
    rows: dict[int, dict[str, Any]] = {}
    bar = ProgressBar(len(specs), label, enabled=progress)
    try:
        results = map_tasks(
            run_clip, list(specs), workers=n, ray_address=ray_address, initializer=init_worker, initargs=(config,)
        )
        for i, result in results:
            spec = specs[i]
            rows[spec.index] = crashed_row(spec, result) if isinstance(result, TaskFailure) else result
            bar.update(spec.clip, error=rows[spec.index]["status"] != "ok")
    finally:
        bar.close()
    ordered = [rows[s.index] for s in specs]
    return ordered, throughput(ordered, n)


def throughput(rows: list[dict[str, Any]], workers: int) -> dict[str, Any]:
    """Clips, frames and seconds of video processed per wall-clock second."""
    spans = [r["worker"] for r in rows if r.get("worker")]
    wall = max(s["ended_unix"] for s in spans) - min(s["started_unix"] for s in spans) if spans else 0.0
    ok = [r for r in rows if r["status"] == "ok"]
    frames = sum(r["frames"] or 0 for r in ok)
    video_s = sum(r["duration_s"] or 0.0 for r in ok)
    per_worker: dict[str, float] = {}
    for s in spans:
        per_worker[str(s["pid"])] = max(per_worker.get(str(s["pid"]), 0.0), s["peak_rss_mb"])
    return {
        "workers": workers,
        "wall_s": wall,
        "clips": len(rows),
        "frames": frames,
        "video_s": video_s,
        "clips_per_s": len(rows) / wall if wall > 0 else None,
        "frames_per_s": frames / wall if wall > 0 else None,
        "video_s_per_s": video_s / wall if wall > 0 else None,
        "peak_rss_mb_per_worker": per_worker,
    }
