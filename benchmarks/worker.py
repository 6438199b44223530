"""Work done for one manifest row inside a worker process: ``verify`` (and
the tutorial baseline) ``repeats`` times, scored against the row's labels.

A clip that cannot be processed is an error row, never an exception: the
run goes on.  Only the public API is called (``livecert.verify`` and what it
returns); the baseline is ``bench_blink.tutorial_run``.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.manifest import ClipSpec
from benchmarks.sources import make_source, verify_kwargs
from livecert.evaluation.metrics import median_iqr

log = logging.getLogger(__name__)

#: Reason codes that concern identity, not liveness.
IDENTITY_REASONS = frozenset({"FACE_MISMATCH"})


@dataclass(frozen=True)
class RunConfig:
    """What every worker does.

    Attributes
    ----------
    repeats : int
        Timed runs per clip (median and IQR are reported).
    baseline : bool
        Also run the tutorial rule on blink-mode rows.
    warmup : tuple of ClipSpec
        Rows run once, untimed, when the worker starts.
    log_level : int
    """

    repeats: int = 3
    baseline: bool = True
    warmup: tuple[ClipSpec, ...] = ()
    log_level: int = logging.INFO


_CONFIG = RunConfig()


def init_worker(config: RunConfig) -> None:
    """Worker initializer: set up logging and warm up (the runner,
    :func:`livecert.batch.runner.map_tasks`, starts the first row once every
    worker is warm).

    Parameters
    ----------
    config : RunConfig
    """
    global _CONFIG
    _CONFIG = config
    logging.basicConfig(level=config.log_level, format=f"benchmarks[{os.getpid()}]: %(message)s", stream=sys.stderr)
    t0 = time.perf_counter()
    for spec in config.warmup:
        try:
            run_livecert(spec, 1)
            if config.baseline and spec.mode == "blink":
                run_baseline(spec, 1, None, None)
        except Exception as exc:  # noqa: BLE001 - a warm-up problem shows again in the clip's own row
            log.warning("warm-up on %s failed: %s", spec.clip, exc)
    log.debug("warm-up took %.1f s", time.perf_counter() - t0)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (``ru_maxrss``), MiB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def error_info(exc: BaseException) -> dict[str, Any]:
    """``{"type", "code", "message"}`` of an exception (code from LivecertError)."""
    return {"type": type(exc).__name__, "code": getattr(exc, "code", None), "message": str(exc) or repr(exc)}


def score_blinks(spec: ClipSpec, events: list[tuple[float, float]], t: np.ndarray | None) -> dict | None:
    """Event P/R/F1 against the row's labels, on the label times (``csv``) and,
    when the labels give frame indices, on this decoder's times of those frames
    (``frames``); None when the row has no labels."""
    if spec.truth is None:
        return None
    from livecert.evaluation.events import match_events

    out = {"csv": match_events(events, list(spec.truth)).to_dict()}
    if spec.truth_frames is not None and t is not None and len(t):
        last = len(t) - 1
        truth = [(float(t[min(a, last)]), float(t[min(b, last)])) for a, b in spec.truth_frames]
        out["frames"] = match_events(events, truth).to_dict()
    return out


def _outcome(result: Any) -> dict[str, Any]:
    """The result without what may differ between two runs of the same clip (times)."""
    d = result.to_dict()
    d.pop("timings_ms", None)
    d.get("meta", {}).pop("checked_at", None)
    return d


def run_livecert(spec: ClipSpec, repeats: int) -> tuple[dict[str, Any], np.ndarray | None]:
    """Run ``livecert.verify`` on the row ``repeats`` times.

    Returns
    -------
    part : dict
        Row fields: status, error, result (``to_dict()`` of the first run),
        decisions, scores and timing.
    t : ndarray or None
        Frame times of the first run (to score the baseline on ``frames``).
    """
    import livecert

    results, walls = [], []
    try:
        for _ in range(repeats):
            source, kwargs = make_source(spec), verify_kwargs(spec)
            t0 = time.perf_counter()
            results.append(livecert.verify(source, **kwargs))
            walls.append(time.perf_counter() - t0)
    except livecert.LivecertError as exc:
        return {"status": "error", "error": error_info(exc)}, None
    except Exception as exc:  # noqa: BLE001 - e.g. a mode or argument not wired yet: recorded, the run goes on
        log.debug("%s raised", spec.clip, exc_info=True)
        return {"status": "error", "error": error_info(exc)}, None
    first = results[0]
    t = first.trace.t_s if first.trace is not None else None
    events = [(b.start_s, b.end_s) for b in first.blinks]
    frames, duration = first.frames_total, first.duration_s
    runs = [{"wall_s": w, "stages_ms": r.timings.to_dict()} for r, w in zip(results, walls)]
    stages = sorted({k for run in runs for k in run["stages_ms"]})
    stage_stats = {k: median_iqr([run["stages_ms"][k] for run in runs if k in run["stages_ms"]]) for k in stages}
    wall = median_iqr(walls)
    digits = match = None
    if first.digits is not None:
        heard = getattr(first.digits, "heard", None)
        digits = {
            "expected": spec.expected_digits,
            "heard": heard,
            "correct": None if heard is None else heard == spec.expected_digits,
            "passed": getattr(first.digits, "passed", None),
        }
    if first.match is not None:
        distance = getattr(first.match, "distance", None)
        distance = float(distance) if distance is not None and np.isfinite(distance) else None
        match = {
            "distance": distance,
            "passed": bool(getattr(first.match, "passed", False)),
            "threshold": getattr(first.match, "threshold", None),
            "frames_used": getattr(first.match, "frames_used", None),
        }
    part = {
        "status": "ok",
        "error": None,
        "passed": bool(first.passed),
        "liveness_accepted": set(first.reason_codes) <= IDENTITY_REASONS,
        "reason_codes": list(first.reason_codes),
        "frames": frames,
        "frames_with_face": first.frames_with_face,
        "duration_s": duration,
        "stable_across_repeats": all(_outcome(r) == _outcome(first) for r in results[1:]),
        "blink_score": score_blinks(spec, events, t),
        "digits": digits,
        "match": match,
        "result": first.to_dict(),
        "timing": {
            "wall_s": wall,
            "fps": frames / wall["median"] if wall["median"] > 0 else None,
            "rtf": wall["median"] / duration if duration > 0 else None,
            "stages_ms": stage_stats,
            "ms_per_frame": {k: v["median"] / frames for k, v in stage_stats.items()} if frames else {},
            "runs": runs,
        },
    }
    return part, t


def run_baseline(spec: ClipSpec, repeats: int, t: np.ndarray | None, duration: float | None) -> dict[str, Any]:
    """The tutorial rule (EAR < 0.3 for 3 frames) on the same source, timed the
    same way; it accepts a clip as live when it finds at least one blink."""
    from benchmarks.baseline import tutorial_run

    events, walls, frames = [], [], 0
    try:
        for i in range(repeats):
            ev, frames, seconds = tutorial_run(make_source(spec))
            walls.append(seconds)
            events = ev if i == 0 else events
    except Exception as exc:  # noqa: BLE001 - the baseline failing must not stop the run
        return {"status": "error", "error": error_info(exc)}
    wall = median_iqr(walls)
    return {
        "status": "ok",
        "events": [[a, b] for a, b in events],
        "frames": frames,
        "liveness_accepted": len(events) >= 1,
        "blink_score": score_blinks(spec, events, t),
        "wall_s": wall,
        "runs_s": walls,
        "fps": frames / wall["median"] if wall["median"] > 0 else None,
        "rtf": wall["median"] / duration if duration else None,
    }


def empty_row(spec: ClipSpec, status: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """A row with the manifest fields and every measured field empty."""
    row: dict[str, Any] = spec.describe()
    row.update(
        {
            "status": status,
            "error": error,
            "passed": None,
            "liveness_accepted": None,
            "reason_codes": [],
            "frames": None,
            "duration_s": None,
            "blink_score": None,
            "digits": None,
            "match": None,
            "result": None,
            "timing": None,
            "baseline": None,
            "worker": None,
        }
    )
    return row


def run_clip(spec: ClipSpec) -> dict[str, Any]:
    """Everything measured for one manifest row (the task of a pool worker).

    Returns
    -------
    dict
        The row's manifest fields, livecert's outcome and timing, the
        baseline's, and the worker's pid, peak RSS and start/end times.
    """
    config = _CONFIG
    started = time.time()
    part, t = run_livecert(spec, config.repeats)
    row = empty_row(spec, part["status"], part["error"])
    row.update(part)
    if config.baseline and spec.mode == "blink":
        row["baseline"] = run_baseline(spec, config.repeats, t, row.get("duration_s"))
    row["worker"] = {
        "pid": os.getpid(),
        "peak_rss_mb": peak_rss_mb(),
        "started_unix": started,
        "ended_unix": time.time(),
    }
    return row
