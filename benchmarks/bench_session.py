"""Live-session latency: per-frame ``push()`` time at 640x480 (median, p99),
and the headless demo's end-to-end frame rate.

    python benchmarks/bench_session.py [--clips 10]

Frames are ZJU clips upscaled to 640x480 and decoded up front, so only
``push()`` is timed.  Every clip runs in a new live session (blink mode);
the first 5 pushes of each session (model warm-up) are reported apart.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_blink import default_data_dir, metadata  # noqa: E402

from livecert.config import BlinkConfig, VerifyConfig  # noqa: E402
from livecert.io.sources import open_source  # noqa: E402
from livecert.session.live import LivenessSession  # noqa: E402

log = logging.getLogger("bench_session")
ROOT = Path(__file__).resolve().parents[1]
# A live session whose blink step never ends early, so every frame of the clip is pushed.
CONFIG = VerifyConfig(blink=BlinkConfig(min_blinks=100))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import cv2

    clips = sorted((args.data / "videos" / "zju_eyeblink").glob("*/*.avi"))[: args.clips]
    if not clips:
        log.error("no ZJU clips under %s", args.data)
        return 2
    steady, warm = [], []
    for clip in clips:
        with open_source(clip) as src:
            frames = [(cv2.resize(f.rgb, (640, 480)), f.t_s) for f in src]
        with LivenessSession(config=CONFIG) as session:
            for i, (rgb, t) in enumerate(frames):
                t0 = time.perf_counter()
                session.push(rgb, t)
                (warm if i < 5 else steady).append((time.perf_counter() - t0) * 1e3)
    steady_a = np.array(steady)
    report = {
        "metadata": metadata(),
        "push_ms_640x480": {
            "median": float(np.median(steady_a)),
            "p90": float(np.percentile(steady_a, 90)),
            "p99": float(np.percentile(steady_a, 99)),
            "max": float(steady_a.max()),
            "frames": int(steady_a.size),
            "warmup_median": float(np.median(warm)),
        },
    }
    # Headless demo end to end on one clip (decode + push + overlay + encode).
    from livecert.app.demo import run_demo

    out = Path("/tmp/livecert-bench-demo.mp4")
    t0 = time.perf_counter()
    result = run_demo(video=str(clips[0]), headless=True, record=out, lang="en")
    seconds = time.perf_counter() - t0
    with open_source(out) as src:
        n = sum(1 for _ in src)
    report["demo_headless"] = {"frames": n, "seconds": seconds, "fps": n / seconds, "passed": result.passed}
    path = args.out or ROOT / "benchmarks" / "results" / "session-latest.json"
    path.write_text(json.dumps(report, indent=2))
    p = report["push_ms_640x480"]
    log.info(
        "push() at 640x480: median %.2f ms, p90 %.2f, p99 %.2f, max %.2f over %d frames (warm-up median %.1f ms)",
        p["median"],
        p["p90"],
        p["p99"],
        p["max"],
        p["frames"],
        p["warmup_median"],
    )
    d = report["demo_headless"]
    log.info("headless demo: %d frames in %.2f s = %.1f fps (includes model load)", d["frames"], d["seconds"], d["fps"])
    log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
