"""Micro-benchmarks of the per-frame building blocks.

    .venv/bin/python -m pytest benchmarks/micro [--benchmark-json out.json]

Outside the default test run (the project's testpaths is ``tests``).  Frames
are scikit-image's public-domain astronaut photo; the audio clip is four
Free Spoken Digit Dataset recordings from LIVECERT_DATA (skipped without it).
"""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark", reason="pip install pytest-benchmark (the 'bench' extra)")


def _astronaut(width: int, height: int) -> np.ndarray:
    """The astronaut photo cropped to 4:3 and resized to ``width`` x ``height``."""
    import cv2

    skdata = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut test photo")
    rgb = skdata.astronaut()  # 512 x 512, face in the upper half
    crop = rgb[: rgb.shape[1] * 3 // 4]
    return np.ascontiguousarray(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA))


@pytest.fixture(scope="module")
def astronaut_points() -> np.ndarray:
    """Face-mesh points of the 640x480 astronaut frame."""
    from livecert.face.landmarks import FaceLandmarker, RunningMode

    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        obs = lm.process(_astronaut(640, 480))
    assert obs.points is not None, "no face found in the astronaut photo"
    return obs.points


@pytest.mark.parametrize("size", [(320, 240), (640, 480)], ids=["320x240", "640x480"])
def test_landmarks_per_frame(benchmark, size: tuple[int, int]) -> None:
    """Face mesh (video mode, tracking) plus the periodic face count, one frame."""
    from livecert.face.landmarks import FaceLandmarker

    frame = _astronaut(*size)
    clock = itertools.count()
    with FaceLandmarker() as lm:
        lm.process(frame, 0.0)  # warm-up: models and tracking start
        obs = benchmark(lambda: lm.process(frame, (next(clock) + 1) / 30.0))
    assert obs.points is not None


def test_eye_apertures_per_frame(benchmark, astronaut_points: np.ndarray) -> None:
    """Eyelid aperture of both eyes from one frame's mesh."""
    from livecert.face.geometry import eye_apertures

    left, right = benchmark(eye_apertures, astronaut_points)
    assert 0.05 < left < 0.6 and 0.05 < right < 0.6


def _blink_trace(n: int = 150, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open eyes (0.30 +- noise) with two 200 ms blinks, ``n`` frames."""
    rng = np.random.default_rng(0)
    t = np.arange(n) / fps
    x = 0.30 + rng.normal(0, 0.005, n)
    for start in (1.5, 3.5):
        x[(t >= start) & (t < start + 0.2)] = 0.06
    return t, x, x + rng.normal(0, 0.005, n)


def test_blink_update_150_frames(benchmark) -> None:
    """Blink detection over a 150-frame (5 s) trace; per-frame cost in extra_info."""
    from livecert.liveness.blink import detect_blinks

    t, left, right = _blink_trace()
    result = benchmark(detect_blinks, t, left, right)
    assert len(result.events) == 2
    if benchmark.stats is not None:
        benchmark.extra_info["us_per_frame"] = benchmark.stats.stats.median * 1e6 / len(t)


def test_descriptor_one_face(benchmark, astronaut_points: np.ndarray) -> None:
    """One 128-D face descriptor (dlib ResNet) from an aligned chip."""
    from livecert.errors import ModelError
    from livecert.identity import embedding

    rgb = _astronaut(640, 480)
    try:
        chip = embedding.align_face(rgb, embedding.mesh_to_five(astronaut_points))
        embedder = embedding.DlibEmbedder()
        embedder.embed(chip)  # loads the model
    except ModelError as exc:
        pytest.skip(f"face descriptor model unavailable: {exc}")
    vec = benchmark(embedder.embed, chip)
    assert vec.shape == (128,)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        raw = w.readframes(w.getnframes())
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0, w.getframerate()


def test_asr_two_second_clip(benchmark, data_dir: Path) -> None:
    """Recognising four spoken digits in a 2 s clip (PocketSphinx, fixed-count grammar)."""
    from livecert.speech import sphinx as asr

    digits = "4729"
    parts = [_read_wav(data_dir / "digits_audio" / "fsdd" / f"{d}_george_0.wav") for d in digits]
    rate = parts[0][1]
    gap = np.zeros(int(0.1 * rate), dtype=np.float32)
    audio = np.concatenate([x for p in parts for x in (p[0], gap)])
    n = int(2.0 * rate)
    audio = np.pad(audio, (0, max(0, n - audio.size)))[:n]
    audio += np.random.default_rng(0).normal(0, 1e-3, audio.size).astype(np.float32)
    recogniser = asr.PocketSphinxDigitRecogniser()
    recogniser.recognise(audio, rate, len(digits))  # creates the decoder
    heard = benchmark(recogniser.recognise, audio, rate, len(digits))
    benchmark.extra_info["heard"] = heard
    benchmark.extra_info["expected"] = digits
    assert len(heard) == len(digits)
