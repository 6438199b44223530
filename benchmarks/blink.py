"""Blink pipeline: speed and event-level accuracy on the ZJU clips, livecert
beside the tutorial rule (EAR < 0.3 for 3 frames), in one process.

    python -m benchmarks blink [--data DIR] [--repeats 3] [--clips N] [--cold-runs 5] [--out FILE]

Speed is frames per second of the whole pipeline (decode + landmarks +
blink) at the clips' native 320x240 and re-encoded to 640x480: one warm-up
clip, then ``--repeats`` passes over the clips; median and IQR over the
passes.  Accuracy is event precision / recall / F1
(:func:`livecert.evaluation.events.match_events`) on the label times
(``csv``) and on this decoder's times of the labelled frames (``frames``),
overall, per recording condition and per tuned / held-out subject.
"""

from __future__ import annotations

import argparse
import csv
import fractions
import logging
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baseline import tutorial_run
from benchmarks.common import ROOT, default_data_dir, default_out, metadata, positive_int, write_json, zju_clips
from livecert.evaluation.events import EventScore, match_events
from livecert.evaluation.metrics import median_iqr
from tests.realdata.splits import ZJU_TUNING

log = logging.getLogger("benchmarks.blink")
"""ZJU subjects whose clips the blink settings were tuned on."""


def load_labels(zju: Path) -> dict[str, list[dict[str, str]]]:
    """Rows of ``zju_blink_intervals.csv`` per clip file name."""
    labels: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(zju / "zju_blink_intervals.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            labels[row["file"]].append(row)
    return labels


def livecert_run(clip: Path) -> tuple[Any, float]:
    """``livecert.verify(clip)`` and its wall time, seconds."""
    import livecert

    t0 = time.perf_counter()
    result = livecert.verify(clip)
    return result, time.perf_counter() - t0


def upscale(clips: list[Path], folder: Path, compose: Callable[[np.ndarray], np.ndarray] | None = None) -> list[Path]:
    """The clips re-encoded at 640x480 (h264, millisecond timestamps) into ``folder``.

    ``compose`` makes each 640x480 RGB frame from the clip's frame (default: resized to fill it).
    """
    import av
    import cv2

    from livecert.io.sources import open_source

    def resized(rgb: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.resize(rgb, (640, 480)))

    compose = compose or resized
    out_paths = []
    for clip in clips:
        out_path = folder / (clip.stem + "_640.mp4")
        with open_source(clip) as src, av.open(str(out_path), "w") as out:
            stream = out.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
            stream.time_base = stream.codec_context.time_base = fractions.Fraction(1, 1000)
            for frame in src:
                vf = av.VideoFrame.from_ndarray(compose(frame.rgb), format="rgb24")
                vf.pts = round(frame.t_s * 1000)
                for p in stream.encode(vf):
                    out.mux(p)
            for p in stream.encode():
                out.mux(p)
        out_paths.append(out_path)
    return out_paths


def speed(clips: list[Path], repeats: int) -> dict[str, Any]:
    """Frames per second of livecert and of the tutorial rule over all clips,
    per pass; livecert's ms/frame per stage."""
    livecert_run(clips[0])  # warm-up
    tutorial_run(clips[0])
    ours: list[float] = []
    theirs: list[float] = []
    stages: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        frames, total = 0, 0.0
        per_stage: dict[str, float] = defaultdict(float)
        for clip in clips:
            result, seconds = livecert_run(clip)
            frames += result.frames_total
            total += seconds
            for k, v in result.timings.to_dict().items():
                per_stage[k] += v
        ours.append(frames / total)
        for k, v in per_stage.items():
            stages[k].append(v / frames)
        frames, total = 0, 0.0
        for clip in clips:
            _, n, seconds = tutorial_run(clip)
            frames += n
            total += seconds
        theirs.append(frames / total)
    lc, tut = median_iqr(ours), median_iqr(theirs)
    return {
        "livecert_fps": lc,
        "tutorial_fps": tut,
        "speed_ratio_livecert_over_tutorial": lc["median"] / tut["median"],
        "livecert_ms_per_frame_by_stage": {k: median_iqr(v) for k, v in stages.items()},
        "repeats": repeats,
        "clips": len(clips),
    }


def accuracy(clips: list[Path], labels: dict[str, list[dict[str, str]]]) -> dict[str, dict[str, float]]:
    """Event scores keyed ``who/timeline/group`` (who: livecert, tutorial;
    timeline: csv, frames; group: all, the condition, tuned or held_out)."""
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
        group = "tuned" if clip.stem[:7] in ZJU_TUNING else "held_out"
        ours = [(b.start_s, b.end_s) for b in result.blinks]
        for timeline, tr in truth.items():
            for name, det in (("livecert", ours), ("tutorial", tut_events)):
                s = match_events(det, tr)
                for key in ("all", cond, group):
                    scores[f"{name}/{timeline}/{key}"] = scores[f"{name}/{timeline}/{key}"] + s
    return {key: s.to_dict() for key, s in sorted(scores.items())}


def cold_verify(sample: Path, runs: int, seconds: float = 5.0) -> dict[str, Any]:
    """Wall seconds of ``livecert verify CLIP --json`` in a new process, without and with
    ``--enrolled`` (the astronaut photo the sample was made from, written to a temporary PNG),
    CLIP being the sample's first ``seconds`` (640x480, re-encoded as H.264): one discarded run
    of each (it writes bytecode where Python may), then ``runs`` of each in turn; median, IQR,
    min and max."""
    import av
    import cv2
    import skimage.data

    times: dict[str, list[float]] = {"plain_s": [], "enrolled_s": []}
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "astronaut.png"
        cv2.imwrite(str(photo), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
        clip = Path(tmp) / "sample.mp4"
        with av.open(str(sample)) as src, av.open(str(clip), "w") as out:
            stream = out.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
            for frame in src.decode(video=0):
                if frame.time is None or frame.time >= seconds:
                    break
                out.mux(stream.encode(frame.reformat(640, 480, "yuv420p")))
            out.mux(stream.encode(None))
        commands = {
            "plain_s": [sys.executable, "-m", "livecert", "verify", str(clip), "--json"],
            "enrolled_s": [sys.executable, "-m", "livecert", "verify", str(clip), "--enrolled", str(photo), "--json"],
        }
        for k in range(runs + 1):
            for key, command in commands.items():
                t0 = time.perf_counter()
                subprocess.run(command, capture_output=True, check=False)
                if k > 0:
                    times[key].append(time.perf_counter() - t0)
    return {
        **{key: median_iqr(v, extremes=True) for key, v in times.items()},
        "runs": runs,
        "clip_s": seconds,
        "bytecode_written": not sys.dont_write_bytecode,
    }


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``blink`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=None, help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--repeats", type=positive_int, default=3, help="timed passes over the clips (default 3)")
    ap.add_argument("--clips", type=positive_int, default=None, help="only the first N ZJU clips (default all 40)")
    ap.add_argument("--cold-runs", type=positive_int, default=5, help="cold verify runs of the sample (default 5)")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/blink-DATE-HOST.json)")


def run(args: argparse.Namespace) -> int:
    """Run the ``blink`` subcommand; 2 when the ZJU clips are missing."""
    data = args.data or default_data_dir()
    clips = zju_clips(data, args.clips)
    if not clips:
        return 2
    report: dict[str, Any] = {
        "metadata": metadata(data_dir=str(data.resolve()), repeats=args.repeats, clips=len(clips), warmup_clips=1)
    }
    log.info("accuracy on %d clips ...", len(clips))
    report["accuracy"] = accuracy(clips, load_labels(data / "videos" / "zju_eyeblink"))
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
        log.info("cold verify of the sample, %d runs each ...", args.cold_runs)
        report["cold_verify_sample"] = cold_verify(sample, args.cold_runs)
    path = write_json(report, args.out or default_out("blink"))
    acc = report["accuracy"]
    for key in ("livecert/csv/all", "tutorial/csv/all", "livecert/frames/all", "tutorial/frames/all"):
        log.info("%-22s %s", key, acc[key])
    for cond in ("FNN", "FTN", "FBN", "UNN", "tuned", "held_out"):
        if f"livecert/csv/{cond}" in acc:
            log.info(
                "livecert F1 %-9s csv %.3f  frames %.3f",
                cond,
                acc[f"livecert/csv/{cond}"]["f1"],
                acc[f"livecert/frames/{cond}"]["f1"],
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
            {k: round(v["median"], 2) for k, v in s["livecert_ms_per_frame_by_stage"].items()},
        )
    cold = report.get("cold_verify_sample", {})
    log.info(
        "import %.2f s; cold verify of the sample, median of %s: %.2f s, with --enrolled %.2f s",
        report["import_s"],
        cold.get("runs", 0),
        cold.get("plain_s", {}).get("median", float("nan")),
        cold.get("enrolled_s", {}).get("median", float("nan")),
    )
    log.info("wrote %s", path)
    return 0
