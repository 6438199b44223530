"""Live-session latency: per-frame ``push()`` time at 640x480, and the
headless demo's end-to-end frame rate.

    python -m benchmarks session [--data DIR] [--clips 10] [--out FILE]

Frames are ZJU clips upscaled to 640x480 and decoded up front, so only
``push()`` is timed.  Every clip runs in a new live session (blink mode,
never ending early); the first 5 pushes of each session (model warm-up) are
reported apart.  Figures: median, IQR, p90, p99 and max over the steady
pushes of all clips.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import default_data_dir, default_out, metadata, positive_int, write_json, zju_clips
from livecert.evaluation.metrics import median_iqr

log = logging.getLogger("benchmarks.session")
WARMUP_PUSHES = 5


def push_latency(clips: list[Path]) -> dict[str, Any]:
    """Milliseconds per ``push()`` of 640x480 frames, steady and warm-up apart."""
    import cv2

    from livecert.config import BlinkConfig, VerifyConfig
    from livecert.io.sources import open_source
    from livecert.session.live import LivenessSession

    config = VerifyConfig(blink=BlinkConfig(min_blinks=100))  # every frame of the clip is pushed
    steady: list[float] = []
    warm: list[float] = []
    for clip in clips:
        with open_source(clip) as src:
            frames = [(cv2.resize(f.rgb, (640, 480)), f.t_s) for f in src]
        with LivenessSession(config=config) as session:
            for i, (rgb, t) in enumerate(frames):
                t0 = time.perf_counter()
                session.push(rgb, t)
                (warm if i < WARMUP_PUSHES else steady).append((time.perf_counter() - t0) * 1e3)
    a = np.array(steady)
    return median_iqr(a, extremes=True) | {
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "frames": int(a.size),
        "warmup": median_iqr(warm),
        "clips": len(clips),
    }


def demo_headless(clip: Path) -> dict[str, Any]:
    """The headless demo end to end on one clip (decode + push + overlay + encode, model load included)."""
    from livecert.app.demo import run_demo
    from livecert.io.sources import open_source

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo.mp4"
        t0 = time.perf_counter()
        result = run_demo(video=str(clip), headless=True, record=out, lang="en")
        seconds = time.perf_counter() - t0
        with open_source(out) as src:
            n = sum(1 for _ in src)
    return {"clip": clip.name, "frames": n, "seconds": seconds, "fps": n / seconds, "passed": result.passed}


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``session`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=None, help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--clips", type=positive_int, default=10, help="ZJU clips pushed (default 10)")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/session-DATE-HOST.json)")


def run(args: argparse.Namespace) -> int:
    """Run the ``session`` subcommand; 2 when the ZJU clips are missing."""
    data = args.data or default_data_dir()
    clips = zju_clips(data, args.clips)
    if not clips:
        return 2
    report: dict[str, Any] = {
        "metadata": metadata(data_dir=str(data.resolve()), clips=len(clips), warmup_pushes=WARMUP_PUSHES)
    }
    report["push_ms_640x480"] = push_latency(clips)
    report["demo_headless"] = demo_headless(clips[0])
    path = write_json(report, args.out or default_out("session"))
    p = report["push_ms_640x480"]
    log.info(
        "push() at 640x480: median %.2f ms (IQR %.2f), p90 %.2f, p99 %.2f, max %.2f over %d frames "
        "(warm-up median %.1f ms)",
        p["median"],
        p["iqr"],
        p["p90"],
        p["p99"],
        p["max"],
        p["frames"],
        p["warmup"]["median"],
    )
    d = report["demo_headless"]
    log.info("headless demo: %d frames in %.2f s = %.1f fps (includes model load)", d["frames"], d["seconds"], d["fps"])
    log.info("wrote %s", path)
    return 0
