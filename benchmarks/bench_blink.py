"""Blink pipeline benchmark: speed and event-level accuracy on the ZJU clips,
livecert beside the tutorial rule (EAR < 0.3 for 3 frames), in one process.

    python benchmarks/bench_blink.py [--repeats 3] [--out benchmarks/results/blink-<date>.json]

Data from LIVECERT_DATA (default ../shared/data).  Speed is frames per second
of the whole pipeline (decode + landmarks + blink) at the clips' native
320x240 and re-encoded to 640x480; each figure is the median over repeats,
with the interquartile range, after one warm-up clip.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline import LEFT_EYE_6, RIGHT_EYE_6, ear, tutorial_blinks  # noqa: E402

import livecert  # noqa: E402
from livecert.evaluation.events import EventScore, match_events  # noqa: E402
from livecert.face.landmarks import FaceLandmarker  # noqa: E402
from livecert.io.sources import open_source  # noqa: E402

log = logging.getLogger("bench_blink")
ROOT = Path(__file__).resolve().parents[1]
TUNED = {"000001M", "000003M", "000005M", "000007M", "000009M"}


def default_data_dir() -> Path:
    """LIVECERT_DATA, or ../shared/data beside the project."""
    return Path(os.environ.get("LIVECERT_DATA", ROOT.parent / "shared" / "data"))


def metadata() -> dict:
    def version(mod: str) -> str:
        try:
            from importlib.metadata import version as v

            return v(mod)
        except Exception:  # noqa: BLE001 - a missing package is reported as such
            return "not installed"

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "git_commit": commit,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "libraries": {m: version(m) for m in ("livecert", "mediapipe", "numpy", "opencv-contrib-python", "av")},
    }


def load_labels(root: Path) -> dict[str, list[dict[str, str]]]:
    labels: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(root / "zju_blink_intervals.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            labels[row["file"]].append(row)
    return labels


def tutorial_run(clip: Path) -> tuple[list[tuple[float, float]], int, float]:
    """Decode + landmarks + tutorial rule; returns events, frames, seconds."""
    t0 = time.perf_counter()
    times, ears = [], []
    with open_source(clip) as src, FaceLandmarker() as lm:
        for frame in src:
            obs = lm.process(frame.rgb, frame.t_s)
            times.append(frame.t_s)
            if obs.points is None:
                ears.append(np.nan)
            else:
                ears.append((ear(obs.points, LEFT_EYE_6) + ear(obs.points, RIGHT_EYE_6)) / 2)
    events = tutorial_blinks(np.array(times), np.array(ears))
    return events, len(times), time.perf_counter() - t0


def livecert_run(clip: Path) -> tuple[livecert.VerificationResult, float]:
    t0 = time.perf_counter()
    result = livecert.verify(clip)
    return result, time.perf_counter() - t0


def upscale(clips: list[Path], folder: Path) -> list[Path]:
    import av

    out_paths = []
    for clip in clips:
        out_path = folder / (clip.stem + "_640.mp4")
        with open_source(clip) as src, av.open(str(out_path), "w") as out:
            stream = out.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
            stream.time_base = stream.codec_context.time_base = __import__("fractions").Fraction(1, 1000)
            import cv2

            for frame in src:
                vf = av.VideoFrame.from_ndarray(cv2.resize(frame.rgb, (640, 480)), format="rgb24")
                vf.pts = round(frame.t_s * 1000)
                for p in stream.encode(vf):
                    out.mux(p)
            for p in stream.encode():
                out.mux(p)
        out_paths.append(out_path)
    return out_paths


def iqr(values: list[float]) -> float:
    q75, q25 = np.percentile(values, [75, 25])
    return float(q75 - q25)


def speed(clips: list[Path], repeats: int) -> dict:
    livecert_run(clips[0])  # warm-up
    tutorial_run(clips[0])
    ours, theirs, stages = [], [], defaultdict(list)
    for _ in range(repeats):
        frames = 0
        total = 0.0
        per_stage = defaultdict(float)
        for clip in clips:
            result, seconds = livecert_run(clip)
            frames += result.frames_total
            total += seconds
            for k, v in result.timings.to_dict().items():
                per_stage[k] += v
        ours.append(frames / total)
        for k, v in per_stage.items():
            stages[k].append(v / frames)
        frames = 0
        total = 0.0
        for clip in clips:
            _, n, seconds = tutorial_run(clip)
            frames += n
            total += seconds
        theirs.append(frames / total)
    return {
        "livecert_fps": {"median": float(np.median(ours)), "iqr": iqr(ours)},
        "tutorial_fps": {"median": float(np.median(theirs)), "iqr": iqr(theirs)},
        "speed_ratio_livecert_over_tutorial": float(np.median(ours) / np.median(theirs)),
        "livecert_ms_per_frame_by_stage": {k: float(np.median(v)) for k, v in stages.items()},
        "repeats": repeats,
        "clips": len(clips),
    }


def accuracy(clips: list[Path], labels: dict) -> dict:
    out: dict = {}
    scores: dict[str, EventScore] = defaultdict(lambda: EventScore(0, 0, 0))
    for clip in clips:
        rows = labels[clip.name]
        result, _ = livecert_run(clip)
        tut_events, _, _ = tutorial_run(clip)
        t = result.trace.t_s
        truth = {
            "csv": [(float(r["t_start_s"]), float(r["t_end_s"])) for r in rows],
            "frames": [(t[int(r["cv_start"])], t[min(int(r["cv_end"]), len(t) - 1)]) for r in rows],
        }
        cond = clip.stem.split("_")[1]
        split = "tuned" if clip.stem[:7] in TUNED else "held_out"
        ours = [(b.start_s, b.end_s) for b in result.blinks]
        for timeline, tr in truth.items():
            for name, det in (("livecert", ours), ("tutorial", tut_events)):
                s = match_events(det, tr)
                for key in ("all", cond, split):
                    scores[f"{name}/{timeline}/{key}"] = scores[f"{name}/{timeline}/{key}"] + s
    for key, s in sorted(scores.items()):
        out[key] = s.to_dict()
    return out


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    zju = args.data / "videos" / "zju_eyeblink"
    clips = sorted(zju.glob("*/*.avi"))
    if not clips:
        log.error("no ZJU clips under %s; set LIVECERT_DATA", zju)
        return 2
    report = {"metadata": metadata()}
    log.info("accuracy on %d clips ...", len(clips))
    report["accuracy"] = accuracy(clips, load_labels(zju))
    log.info("speed at 320x240 ...")
    report["speed_320x240"] = speed(clips, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        big = upscale(clips, Path(tmp))
        log.info("speed at 640x480 ...")
        report["speed_640x480"] = speed(big, args.repeats)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import livecert"], check=True)
    report["import_s"] = time.perf_counter() - t0
    sample = ROOT / "samples" / "astronaut_blink.mp4"
    if sample.exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "livecert", "verify", str(sample)], capture_output=True)
        report["cold_verify_sample_s"] = time.perf_counter() - t0
    out = (
        args.out or ROOT / "benchmarks" / "results" / f"blink-{datetime.now():%Y%m%d}-{platform.node() or 'host'}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    for key in ("livecert/csv/all", "tutorial/csv/all", "livecert/frames/all", "tutorial/frames/all"):
        log.info("%-22s %s", key, report["accuracy"][key])
    for cond in ("FNN", "FTN", "FBN", "UNN", "tuned", "held_out"):
        log.info(
            "livecert F1 %-9s csv %.3f  frames %.3f",
            cond,
            report["accuracy"][f"livecert/csv/{cond}"]["f1"],
            report["accuracy"][f"livecert/frames/{cond}"]["f1"],
        )
    for res in ("speed_320x240", "speed_640x480"):
        s = report[res]
        log.info(
            "%s livecert %.1f fps (IQR %.1f), tutorial %.1f fps, ratio %.2f, stages ms/frame %s",
            res,
            s["livecert_fps"]["median"],
            s["livecert_fps"]["iqr"],
            s["tutorial_fps"]["median"],
            s["speed_ratio_livecert_over_tutorial"],
            {k: round(v, 2) for k, v in s["livecert_ms_per_frame_by_stage"].items()},
        )
    log.info(
        "import %.2f s, cold verify of the sample %.2f s",
        report["import_s"],
        report.get("cold_verify_sample_s", float("nan")),
    )
    log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
