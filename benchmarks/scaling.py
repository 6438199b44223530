"""``--scaling``: throughput with 1 and 2 workers, and speed against clip length.

* **Workers**: the same rows (live video clips from the manifest, livecert
  only, one run each) with 1 and then 2 worker processes; clips, frames and
  seconds of video per wall-clock second after the warm-up.
* **Clip length**: one clip is decoded once and looped (timestamps continued)
  into 5, 10 and 20 s sources held in memory, so decoding is not part of
  these figures; fps and real-time factor show whether the per-frame cost
  grows with the length of the recording.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks.manifest import ClipSpec
from benchmarks.pool import run_specs
from benchmarks.worker import RunConfig, init_worker
from livecert.evaluation.metrics import median_iqr

log = logging.getLogger(__name__)


def looped(frames: list[np.ndarray], times: np.ndarray, seconds: float) -> Iterator[tuple[np.ndarray, float]]:
    """The frames played again and again, times continued, for ``seconds``."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1 / 25
    period = float(times[-1] - times[0]) + step
    k = 0
    while True:
        for rgb, t in zip(frames, times):
            ts = float(t - times[0]) + k * period
            if ts >= seconds:
                return
            yield rgb, ts
        k += 1


def length_scaling(spec: ClipSpec, lengths: Sequence[float], repeats: int) -> dict[str, Any]:
    """Speed of ``verify`` on the clip looped to each length (in this process).

    Returns
    -------
    dict
        ``{"clip", "lengths": [{"seconds", "frames", "wall_s", "fps", "rtf",
        "ms_per_frame"}]}``.
    """
    import livecert

    with livecert.open_source(spec.path) as src:
        decoded = [(f.rgb, f.t_s) for f in src]
    frames = [rgb for rgb, _ in decoded]
    times = np.array([t for _, t in decoded])
    out = []
    for seconds in lengths:
        walls, stages = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = livecert.verify(looped(frames, times, seconds), mode="blink")
            walls.append(time.perf_counter() - t0)
            stages.append(result.timings.to_dict())
        wall = median_iqr(walls)
        n = result.frames_total
        out.append(
            {
                "seconds": seconds,
                "frames": n,
                "duration_s": result.duration_s,
                "blinks": len(result.blinks),
                "wall_s": wall,
                "fps": n / wall["median"],
                "rtf": wall["median"] / result.duration_s,
                "ms_per_frame": {k: float(np.median([s[k] for s in stages])) / n for k in stages[0]},
            }
        )
    return {"clip": spec.clip, "source": "decoded once, looped in memory (decode not included)", "lengths": out}


def run_scaling(
    specs: Sequence[ClipSpec],
    rows: Sequence[dict[str, Any]],
    lengths: Sequence[float],
    *,
    repeats: int,
    n_clips: int = 8,
    progress: bool = True,
) -> dict[str, Any]:
    """Both scaling measurements.

    Parameters
    ----------
    specs : sequence of ClipSpec
        The manifest; its live blink-mode video rows that ran without error
        in the main run are used, in manifest order.
    rows : sequence of dict
        The main run's result rows (same order as ``specs``).
    lengths : sequence of float
        Clip lengths in seconds (5, 10, 20).
    repeats : int
        Timed runs per length.
    n_clips : int
        Rows used for the 1- and 2-worker throughput.

    Returns
    -------
    dict
        ``{"workers": {...}, "clip_length": {...}}``; a part that could not
        run has ``{"error": message}``.
    """
    ran = {s.presentation for s, r in zip(specs, rows) if r["status"] == "ok"}
    live = [s for s in specs if s.mode == "blink" and s.expected == "live" and not s.is_still and s.presentation in ran]
    seen: set[tuple[str, str, str]] = set()
    live = [s for s in live if not (s.presentation in seen or seen.add(s.presentation))]  # each clip once, in order
    out: dict[str, Any] = {}
    if not live:
        return {"error": "no live blink-mode video row ran without error"}
    subset = [replace(s, index=i) for i, s in enumerate(live[:n_clips])]
    config = RunConfig(repeats=1, baseline=False, warmup=(subset[0],), log_level=logging.getLogger().level)
    runs = {}
    for w in (1, 2):
        rows, run = run_specs(subset, workers=w, config=config, label=f"scaling, {w} worker(s)", progress=progress)
        errors = sum(r["status"] != "ok" for r in rows)
        runs[str(w)] = run | {"errors": errors}
    one, two = runs["1"].get("frames_per_s"), runs["2"].get("frames_per_s")
    out["workers"] = {
        "clips": [s.clip for s in subset],
        "runs": runs,
        "speedup_2_over_1": two / one if one and two else None,
    }
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=init_worker, initargs=(config,)) as pool:
        try:
            out["clip_length"] = pool.submit(length_scaling, subset[0], list(lengths), repeats).result()
        except Exception as exc:  # noqa: BLE001 - reported in the JSON, the run goes on
            out["clip_length"] = {"clip": subset[0].clip, "error": f"{type(exc).__name__}: {exc}"}
    return out
