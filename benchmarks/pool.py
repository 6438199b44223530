"""Running rows in a pool of spawned worker processes, with a progress bar.

Every worker warms up, then waits at a barrier until all are warm; the
throughput window runs from the first row's start to the last row's end.
Rows come back in manifest order whatever the number of workers.  A worker
that dies (a crash in native code) breaks the pool: the rows it took down are
run again one by one in fresh processes, and a row that kills its process
again becomes an error row.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from benchmarks.manifest import ClipSpec
from benchmarks.worker import RunConfig, empty_row, error_info, init_worker, run_clip

log = logging.getLogger(__name__)


class Progress:
    """Progress on stderr: tqdm when installed, else a one-line counter.

    Parameters
    ----------
    total : int
    label : str
    enabled : bool
    """

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        self.total, self.label, self.done = total, label, 0
        self._tty = sys.stderr.isatty()
        self._bar: Any = None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, desc=label, unit="clip", file=sys.stderr)

    def update(self, name: str, failed: bool = False) -> None:
        """One more row done (``failed``: it is an error row)."""
        self.done += 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
            return
        mark = " ERROR" if failed else ""
        text = f"{self.label}: {self.done}/{self.total} {name}{mark}"
        if self._tty:
            sys.stderr.write("\r\033[K" + text[:150])
            sys.stderr.flush()
        elif failed or self.done == self.total or self.done % max(1, self.total // 10) == 0:
            sys.stderr.write(text + "\n")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self._tty:
            sys.stderr.write("\n")


def crashed_row(spec: ClipSpec) -> dict[str, Any]:
    """Error row of a clip whose worker process died twice."""
    row = empty_row(spec, "error", None)
    row["error"] = {
        "type": "WorkerCrashed",
        "code": None,
        "message": "the worker process died while running this clip (a crash in native code); "
        "run it alone with `livecert verify` to see the error",
    }
    return row


def _pool(workers: int, config: RunConfig, barrier: Any) -> ProcessPoolExecutor:
    ctx = mp.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker, initargs=(config, barrier))


def run_specs(
    specs: Sequence[ClipSpec], *, workers: int, config: RunConfig, label: str = "clips", progress: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run every row in ``workers`` spawned processes.

    Parameters
    ----------
    specs : sequence of ClipSpec
    workers : int
        Processes (at most one per row).
    config : RunConfig
    label : str
        Name shown on the progress bar.
    progress : bool

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
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n)
    rows: dict[int, dict[str, Any]] = {}
    crashed: list[ClipSpec] = []
    bar = Progress(len(specs), label, enabled=progress)
    try:
        with _pool(n, config, barrier) as pool:
            futures: dict[Future, ClipSpec] = {pool.submit(run_clip, s): s for s in specs}
            for fut in as_completed(futures):
                spec = futures[fut]
                try:
                    rows[spec.index] = fut.result()
                except BrokenProcessPool:
                    crashed.append(spec)
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled: one error row
                    rows[spec.index] = crashed_row(spec) | {"error": error_info(exc)}
                bar.update(spec.clip, rows[spec.index]["status"] != "ok")
        for spec in sorted(crashed, key=lambda s: s.index):
            log.warning("a worker died; running %s again on its own", spec.clip)
            try:
                with _pool(1, config, None) as pool:
                    rows[spec.index] = pool.submit(run_clip, spec).result()
            except BrokenProcessPool:
                rows[spec.index] = crashed_row(spec)
            bar.update(spec.clip, rows[spec.index]["status"] != "ok")
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
