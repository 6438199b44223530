"""Small synthetic videos written with PyAV for capture tests."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from livecert.io.frames import Frame
from livecert.io.sources import Source, open_source


def frames_of(source: Source) -> list[Frame]:
    """Every frame of ``source`` (a file, bytes, a folder of images, ...), read through :func:`open_source`."""
    with open_source(source) as src:
        return list(src)


def pattern(i: int, h: int = 96, w: int = 128) -> np.ndarray:
    """An RGB frame whose top-left quadrant is red and whose brightness encodes ``i``."""
    img = np.full((h, w, 3), (i * 7) % 200 + 20, dtype=np.uint8)
    img[: h // 2, : w // 2] = (255, 0, 0)
    return img


def write_video(
    path: Path,
    times_s: Sequence[float],
    *,
    codec: str = "mpeg4",
    rotation: int | None = None,
    size: tuple[int, int] = (128, 96),
    time_base: Fraction = Fraction(1, 1000),
) -> Path:
    """Write frames at the given presentation times (variable frame rate allowed)."""
    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=30)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, t in enumerate(times_s):
            frame = av.VideoFrame.from_ndarray(pattern(i, h, w), format="rgb24")
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_av_clip(
    path: Path, *, video_start_s: float = 0.0, audio_start_s: float | None = None, rate: int = 16000
) -> None:
    """1 s of 64x64 mpeg4 video in Matroska, optionally with 1 s of PCM audio
    holding one click 0.2 s after the audio starts."""
    with av.open(str(path), "w") as c:
        vs = c.add_stream("mpeg4", rate=25)
        vs.width = vs.height = 64
        vs.pix_fmt = "yuv420p"
        aus = None
        if audio_start_s is not None:
            aus = c.add_stream("pcm_s16le", rate=rate)
            aus.layout = "mono"
        first = round(video_start_s * 25)
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 8 * i, np.uint8), format="rgb24")
            frame.pts = first + i
            for packet in vs.encode(frame):
                c.mux(packet)
        if aus is not None:
            x = np.zeros(rate, np.int16)
            x[int(0.2 * rate)] = 20000
            for i in range(0, rate, 800):
                frame = av.AudioFrame.from_ndarray(x[None, i : i + 800].copy(), format="s16", layout="mono")
                frame.sample_rate = rate
                frame.time_base = Fraction(1, rate)
                frame.pts = round(audio_start_s * rate) + i
                for packet in aus.encode(frame):
                    c.mux(packet)
            for packet in aus.encode(None):
                c.mux(packet)
        for packet in vs.encode(None):
            c.mux(packet)
