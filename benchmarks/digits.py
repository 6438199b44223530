"""What the read-digits check costs on top of the blink pipeline.

    python -m benchmarks digits [--data DIR] [--repeats 3] [--clips 30] [--readings 12] [--only-readings] [--out FILE]

Measured in one process against a baseline measured in the same run:

* **overhead**: ``verify(clip)`` (blink mode) against
  ``verify(clip, mode="digits", ...)`` on the GRID s1 clips (3 s, 25 fps,
  with speech), run alternately, ``--repeats`` times each after one warm-up
  of each.  Reported per frame: median over clips of the per-clip median,
  and the overhead ``digits / blink - 1``.  Digits mode runs twice: with a
  new recogniser per call (what ``verify()`` does by default) and with one
  recogniser reused across calls (a server that keeps it).
* **5 s clip**: decoding the audio of a 5 s h264 + AAC video and
  recognising 4 digits in it (GRID digit words joined with background),
  decoder created beforehand; median and IQR of 7 runs, wall and CPU time.

Where the digits time goes (read audio, voice activity, recogniser load,
recognition, lip-voice sync, mouth events) is measured on the same clips.
Then the default recogniser on 4-digit strings of 8 kHz FSDD speech (the
telephone-band path through Moonshine): time per string and model load.

Last, **readings** (``--readings`` per GRID half, 0 to skip): the read-digits
decision's error rates on recordings that sound and look like a
``one_by_one`` reading, since the data has none.  Each genuine reading is
4-6 GRID s1 digit words cut from their sentences, picture and sound, each
said 0.45-1.2 s after its prompt, with a still closed-mouth frame and the
room's noise between them (``tests/realdata/readings.py``, the same builder
and seeds as ``tests/realdata/test_readings_real.py``; tuning and held-out
halves of the clips kept apart).  Each runs through a
:class:`~livecert.session.live.LivenessSession` frame by frame with the
default English recogniser (presentation-attack check off: the still frames
between answers are the builder's, not a person's).  Attacks on its trace:
the sound another reader would make for the same prompts (dubbed), and the
recording checked against another challenge's prompts.  Reported per half:
genuine passing (with the recogniser, and on timing and sync alone) and
attacks passing.
"""

from __future__ import annotations

import argparse
import csv
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import livecert
from benchmarks.common import default_data_dir, default_out, metadata, positive_int, write_json
from benchmarks.make_manifest import READING_SEEDS
from livecert.config import SpoofConfig, VerifyConfig
from livecert.evaluation.metrics import median_iqr
from livecert.io.audio import AudioTrack, load_wav, read_audio, resample
from livecert.liveness.challenge import Challenge
from livecert.liveness.digits import ChallengeOptions, check_digits
from livecert.liveness.mouth import mouth_events
from livecert.liveness.sync import av_sync
from livecert.results import FrameTrace
from livecert.speech.english import EnglishDigitRecogniser
from livecert.speech.moonshine import moonshine_unusable
from livecert.speech.recogniser import DIGIT_WORDS
from livecert.speech.sphinx import PocketSphinxDigitRecogniser
from livecert.speech.vad import voice_activity
from tests.realdata.readings import (
    Clips,
    draw_readings,
    draw_schedule,
    dubbed,
    grid_words,
    picture,
    sound,
    write_video,
)

log = logging.getLogger("benchmarks.digits")


def grid_rows(data: Path) -> list[dict[str, str]]:
    """Rows of ``grid_transcripts.tsv`` in clip order."""
    with open(data / "videos" / "grid" / "grid_transcripts.tsv", newline="") as fh:
        return sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: r["local_path"])


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and its wall time, milliseconds."""
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1e3


def overhead(rows: list[dict[str, str]], data: Path, repeats: int) -> dict[str, Any]:
    """Per-frame wall time of blink and digits verify() on each clip."""
    shared = EnglishDigitRecogniser()
    per_clip: dict[str, list[float]] = {"blink": [], "digits_new_recogniser": [], "digits_reused_recogniser": []}
    for row in rows:
        clip = data / row["local_path"]
        challenge = Challenge.for_known_digits(DIGIT_WORDS[row["digit_word"]])
        runs: dict[str, Callable[[], Any]] = {
            "blink": lambda clip=clip: livecert.verify(clip),
            "digits_new_recogniser": lambda clip=clip, c=challenge: livecert.verify(
                clip, mode="digits", challenge=ChallengeOptions(challenge=c)
            ),
            "digits_reused_recogniser": lambda clip=clip, c=challenge: livecert.verify(
                clip, mode="digits", challenge=ChallengeOptions(challenge=c, recogniser=shared)
            ),
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        frames = 0
        for run in runs.values():  # warm-up
            result, _ = timed(run)
            frames = result.frames_total
        for _ in range(repeats):
            for k, run in runs.items():
                _, ms = timed(run)
                times[k].append(ms / frames)
        for k in runs:
            per_clip[k].append(statistics.median(times[k]))
        log.info(
            "%s: %s ms/frame",
            clip.name,
            ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in times.items()),
        )
    blink = np.array(per_clip["blink"])
    out: dict[str, Any] = {"clips": len(rows), "repeats": repeats, "ms_per_frame": {}, "overhead": {}}
    for k, v in per_clip.items():
        out["ms_per_frame"][k] = median_iqr(v, extremes=True)
        if k != "blink":
            ratio = median_iqr(np.array(v) / blink - 1.0)
            out["overhead"][k] = {
                "median_of_clips": ratio["median"],
                "iqr_of_clips": ratio["iqr"],
                "of_medians": float(np.median(v) / np.median(blink) - 1.0),
            }
    return out


def breakdown(rows: list[dict[str, str]], data: Path) -> dict[str, dict[str, float]]:
    """Milliseconds per clip of each digits stage, run on its own."""
    names = ("read_audio", "voice_activity", "load", "recognise", "av_sync", "mouth_events")
    parts: dict[str, list[float]] = {k: [] for k in names}
    for row in rows:
        clip = data / row["local_path"]
        trace = livecert.verify(clip).trace
        rec = PocketSphinxDigitRecogniser()
        t = [time.perf_counter()]
        track = read_audio(clip)
        t.append(time.perf_counter())
        speech = voice_activity(track)
        t.append(time.perf_counter())
        rec.load(1)
        t.append(time.perf_counter())
        a, b = max(track.start_s, speech[0][0] - 0.3), speech[-1][1] + 0.3
        rec.recognise(track.between(a, b), track.sample_rate, 1)
        t.append(time.perf_counter())
        av_sync(trace.t_s, trace.outer_lip_height, track)
        t.append(time.perf_counter())
        mouth_events(trace.t_s, trace.inner_lip_gap)
        t.append(time.perf_counter())
        for name, t0, t1 in zip(names, t, t[1:]):
            parts[name].append((t1 - t0) * 1e3)
    return {k: median_iqr(v, extremes=True) for k, v in parts.items()}


def five_second_clip(path: Path, speech: np.ndarray) -> None:
    """h264 480x480 at 30 fps (x264's default quality) plus 48 kHz AAC holding ``speech`` (16 kHz)."""
    audio = np.zeros(5 * 48000, np.float32)
    loud = resample(speech, 16000, 48000)[: len(audio)]
    audio[: len(loud)] = loud
    audio += np.random.default_rng(0).normal(0, 2e-3, len(audio)).astype(np.float32)
    frames = ((np.full((480, 480, 3), i % 255, np.uint8), i / 30) for i in range(150))
    write_video(path, frames, AudioTrack(audio, 48000), crf=23, fps=30)


def five_seconds(rows: list[dict[str, str]], data: Path, runs: int = 7) -> dict[str, Any]:
    """Audio decode + 4-digit recognition of a 5 s video."""
    picked = [rows[i] for i in (3, 11, 17, 26)]
    first = read_audio(data / picked[0]["local_path"])
    background = first.between(0.05, 0.35)
    parts = [background, background]
    for row in picked:
        track = read_audio(data / row["local_path"])
        parts += [track.between(float(row["digit_start_s"]) - 0.03, float(row["digit_end_s"]) + 0.03)]
        parts += [background, background]
    want = "".join(DIGIT_WORDS[r["digit_word"]] for r in picked)
    rec = PocketSphinxDigitRecogniser()
    rec.load(4)
    wall, cpu, got = [], [], ""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "five.mp4"
        five_second_clip(path, np.concatenate(parts))
        for _ in range(runs):
            c0, w0 = time.process_time(), time.perf_counter()
            track = read_audio(path)
            got = rec.recognise(track.samples, track.sample_rate, 4)
            cpu.append((time.process_time() - c0) * 1e3)
            wall.append((time.perf_counter() - w0) * 1e3)
    return {
        "wall_ms": median_iqr(wall, extremes=True),
        "cpu_ms": median_iqr(cpu, extremes=True),
        "expected": want,
        "heard": got,
        "target_ms": 300,
    }


def narrowband(data: Path, strings: int = 12) -> dict[str, Any]:
    """The default recogniser on 4-digit strings of 8 kHz FSDD speech (Moonshine's path)."""
    folder = data / "digits_audio" / "fsdd"
    if not folder.is_dir():
        return {"skipped": f"no {folder}"}
    rng = np.random.default_rng(0)
    rec = EnglishDigitRecogniser()
    t0 = time.perf_counter()
    if rec.moonshine is None:
        return {"skipped": f"Moonshine cannot run here: {moonshine_unusable()}"}
    rec.moonshine.load()
    rec.load(4)
    load_ms = (time.perf_counter() - t0) * 1e3
    wall, right = [], 0
    for i in range(strings):
        digits = rng.integers(0, 10, 4)
        speaker = ("george", "jackson", "theo")[i % 3]
        gap = np.zeros(2400, np.float32)
        parts = [gap]
        for d in digits:
            parts += [load_wav(folder / f"{d}_{speaker}_{rng.integers(0, 5)}.wav", sample_rate=8000).samples, gap]
        x = np.concatenate(parts) + rng.normal(0, 1e-3, sum(map(len, parts))).astype(np.float32)
        want = "".join(map(str, digits))
        got, ms = timed(lambda x=x: rec.recognise(x, 8000, 4))
        wall.append(ms)
        right += got == want
    return {"load_ms": load_ms, "ms_per_string": median_iqr(wall, extremes=True), "strings": strings, "right": right}


def _passes(
    challenge: Challenge,
    trace: FrameTrace,
    audio: AudioTrack,
    config: VerifyConfig,
    recogniser: EnglishDigitRecogniser | None,
) -> bool:
    """Whether the read-digits decision passes a session's trace with ``audio`` against ``challenge``."""
    _, reasons = check_digits(
        challenge,
        trace.t_s,
        trace.where_usable("inner_lip_gap"),
        audio,
        config.digits,
        recogniser,
        mouth_height=trace.where_usable("outer_lip_height"),
    )
    return not reasons


def readings(data: Path, n: int) -> dict[str, Any]:
    """Pass counts of genuine readings and attacks per GRID half (see the module docstring)."""
    words = grid_words(data)
    clips = Clips()
    recogniser = EnglishDigitRecogniser()
    config = VerifyConfig(spoof=SpoofConfig(enabled=False))
    out: dict[str, Any] = {"how": __doc__.split("Last, ")[1].strip() if __doc__ else "", "halves": {}}
    for half, seed in READING_SEEDS.items():
        pool = words[0::2] if half == "tuning" else words[1::2]
        rng = np.random.default_rng(seed)
        built = draw_readings(pool, n, rng)
        counts = {k: 0 for k in ("genuine", "genuine_timing_only", "dubbed", "dubbed_timing_only", "other_prompts")}
        rows, ms = [], []
        for i, reading in enumerate(built):
            track = sound(reading, clips)
            options = ChallengeOptions(reading.challenge, recogniser=recogniser)
            t0 = time.perf_counter()
            with livecert.LivenessSession(mode="digits", config=config, challenge=options, live=False) as session:
                for rgb, t in picture(reading, clips):
                    session.push(rgb, t)
                result = session.result(audio=track)
            ms.append((time.perf_counter() - t0) * 1e3)
            trace = session.trace()
            other = [p.word for p in built[(i + 1) % n].picture]
            dub = sound(dubbed(reading, (other * 2)[: len(reading.picture)], rng), clips)
            redrawn = draw_schedule(reading.challenge.digits, rng)
            passed = {
                "genuine": result.passed,
                "genuine_timing_only": _passes(reading.challenge, trace, track, config, None),
                "dubbed": _passes(reading.challenge, trace, dub, config, recogniser),
                "dubbed_timing_only": _passes(reading.challenge, trace, dub, config, None),
                "other_prompts": _passes(redrawn, trace, track, config, None),
            }
            for key, ok in passed.items():
                counts[key] += ok
            digits = result.digits
            rows.append(
                {
                    "expected": reading.challenge.digits,
                    "heard": digits.heard if digits else None,
                    "reasons": list(result.reason_codes),
                    "prompt_sync": digits.prompt_sync if digits else None,
                    "passed": passed,
                }
            )
            log.info("%s reading %d %s: %s", half, i, reading.challenge.digits, passed)
        out["halves"][half] = {
            "readings": n,
            "passed": counts,
            "bpcer": {k: 1 - counts[k] / n for k in ("genuine", "genuine_timing_only")},
            "apcer": {k: counts[k] / n for k in ("dubbed", "dubbed_timing_only", "other_prompts")},
            "ms_per_reading": median_iqr(ms, extremes=True),
            "rows": rows,
        }
    return out


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``digits`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=None, help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--clips", type=positive_int, default=30, help="GRID s1 clips (default 30)")
    ap.add_argument("--repeats", type=positive_int, default=3, help="timed runs per clip and mode (default 3)")
    ap.add_argument("--readings", type=int, default=12, help="one-by-one readings per GRID half (default 12, 0: none)")
    ap.add_argument("--only-readings", action="store_true", help="skip the cost measurements")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/digits-DATE-HOST.json)")


def run(args: argparse.Namespace) -> int:
    """Run the ``digits`` subcommand; 2 when the GRID clips are missing."""
    data = args.data or default_data_dir()
    if not (data / "videos" / "grid" / "grid_transcripts.tsv").is_file():
        log.error("no GRID clips under %s (set LIVECERT_DATA or --data)", data)
        return 2
    rows = grid_rows(data)[: args.clips]
    report: dict[str, Any] = {
        "metadata": metadata(data_dir=str(data.resolve()), clips=len(rows), repeats=args.repeats, warmup_runs=1)
    }
    if args.readings > 0:
        report["readings"] = readings(data, args.readings)
        for half, r in report["readings"]["halves"].items():
            log.info("readings, %s half: %s of %d pass", half, r["passed"], r["readings"])
    if args.only_readings:
        log.info("wrote %s", write_json(report, args.out or default_out("digits")))
        return 0
    report |= {
        "overhead": overhead(rows, data, args.repeats),
        "breakdown_ms_per_clip": breakdown(rows, data),
        "five_second_clip": five_seconds(grid_rows(data), data),
        "narrowband_fsdd": narrowband(data),
    }
    path = write_json(report, args.out or default_out("digits"))
    o = report["overhead"]
    for k, v in o["ms_per_frame"].items():
        log.info("%-26s %.2f ms/frame (IQR over clips %.2f)", k, v["median"], v["iqr"])
    for k, v in o["overhead"].items():
        log.info(
            "overhead %-26s median of clips %+.1f%% (IQR %.1f pts), of medians %+.1f%%  (goal <= +20%%)",
            k,
            100 * v["median_of_clips"],
            100 * v["iqr_of_clips"],
            100 * v["of_medians"],
        )
    for k, v in report["breakdown_ms_per_clip"].items():
        log.info("  %-15s %.1f ms per clip (IQR %.1f)", k, v["median"], v["iqr"])
    f = report["five_second_clip"]
    log.info(
        "5 s clip, audio decode + recognition: wall %.0f ms (IQR %.0f), cpu %.0f ms (goal < 300 ms); %s -> %s",
        f["wall_ms"]["median"],
        f["wall_ms"]["iqr"],
        f["cpu_ms"]["median"],
        f["expected"],
        f["heard"],
    )
    n = report["narrowband_fsdd"]
    if "skipped" not in n:
        log.info(
            "8 kHz FSDD 4-digit strings (Moonshine path): %.0f ms per string (IQR %.0f), models loaded in %.0f ms, "
            "%d/%d right",
            n["ms_per_string"]["median"],
            n["ms_per_string"]["iqr"],
            n["load_ms"],
            n["right"],
            n["strings"],
        )
    load = report["metadata"]["load_average_1_5_15min"]
    log.info("load average %s -> %s; wrote %s", load["start"], load["end"], path)
    return 0
