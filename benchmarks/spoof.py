"""Presentation-attack check: what it adds per frame at 640x480, beside the same
pipeline with the check switched off, in one run.

    python -m benchmarks spoof [--data DIR] [--clips 6] [--repeats 3] [--out FILE]

ZJU clips re-encoded to 640x480 are verified in blink mode with
``SpoofConfig(enabled=True)`` and ``enabled=False``, alternating, after one
warm-up of each, in two layouts: the clip resized to fill the frame (a
selfie), and the clip unscaled in the middle of a still textured room (the
face 15-20 % of the width, so that the held-picture cue measures too).
Reported per frame: the whole ``verify()`` (median and IQR over clips and
repeats), the check's own time (``timings.spoof``: the
per-frame recorder plus the clip-level scoring), and the difference of the
two pipelines' medians; the goal is at most +1.0 ms per frame.
"""

from __future__ import annotations

import argparse
import functools
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import livecert
from benchmarks.blink import upscale
from benchmarks.common import default_data_dir, default_out, metadata, positive_int, write_json, zju_clips
from livecert.evaluation.metrics import median_iqr
from tests.realdata.degrade import still_room

log = logging.getLogger("benchmarks.spoof")


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``spoof`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=None, help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--clips", type=positive_int, default=6, help="ZJU clips (default 6)")
    ap.add_argument("--repeats", type=positive_int, default=3, help="timed passes (default 3)")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/spoof-DATE-HOST.json)")


def _per_frame_ms(clip: Path, config: livecert.VerifyConfig) -> tuple[float, float]:
    """(whole verify() ms per frame, spoof check ms per frame) on one clip."""
    t0 = time.perf_counter()
    result = livecert.verify(clip, config=config)
    wall = (time.perf_counter() - t0) * 1e3
    n = max(1, result.frames_total)
    return wall / n, result.timings.spoof / n


def run(args: argparse.Namespace) -> int:
    """Run the ``spoof`` subcommand; 2 when the ZJU clips are missing."""
    data = args.data or default_data_dir()
    clips = zju_clips(data, args.clips)
    if not clips:
        return 2
    base = livecert.VerifyConfig()
    configs = {"with_check": base, "without_check": replace(base, spoof=replace(base.spoof, enabled=False))}
    report: dict[str, Any] = {
        "metadata": metadata(data_dir=str(data.resolve()), clips=len(clips), repeats=args.repeats)
    }
    with tempfile.TemporaryDirectory() as tmp:
        for key, compose in (("640x480_ms_per_frame", None), ("640x480_in_room_ms_per_frame", _in_room)):
            folder = Path(tmp) / key
            folder.mkdir()
            report[key] = summary = _timed(upscale(clips, folder, compose), configs, args.repeats)
            log.info(
                "%s: %.2f ms/frame with the check, %.2f without, the check alone %.2f",
                key,
                summary["with_check"]["median"] if summary["with_check"] else float("nan"),
                summary["without_check"]["median"] if summary["without_check"] else float("nan"),
                summary["check_alone"]["median"] if summary["check_alone"] else float("nan"),
            )
    log.info("wrote %s", write_json(report, args.out or default_out("spoof")))
    return 0


def _timed(clips: list[Path], configs: dict[str, livecert.VerifyConfig], repeats: int) -> dict[str, Any]:
    """Per-frame figures of each configuration on the clips, alternating, after one warm-up of each."""
    samples: dict[str, list[float]] = {"with_check": [], "without_check": [], "check_alone": []}
    for config in configs.values():
        _per_frame_ms(clips[0], config)  # warm-up: models loaded, caches filled
    for _ in range(repeats):
        for clip in clips:
            for name, config in configs.items():
                whole, check = _per_frame_ms(clip, config)
                samples[name].append(whole)
                if name == "with_check":
                    samples["check_alone"].append(check)
    summary: dict[str, Any] = {name: median_iqr(values) for name, values in samples.items()}
    with_check, without = summary["with_check"], summary["without_check"]
    if with_check and without:
        summary["added_ms_per_frame"] = with_check["median"] - without["median"]
        summary["goal_ms_per_frame"] = 1.0
    return summary


def _in_room(rgb: np.ndarray) -> np.ndarray:
    """A 320x240 frame unscaled in the middle of a still, textured 640x480 room."""
    out = _room().copy()
    h, w = rgb.shape[:2]
    y0, x0 = (480 - h) // 2, (640 - w) // 2
    out[y0 : y0 + h, x0 : x0 + w] = rgb
    return out


@functools.cache
def _room() -> np.ndarray:
    """The 640x480 backdrop, made once, when first used."""
    return still_room(640, 480, seed=0)
