"""Small synthetic videos written with PyAV for capture tests."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


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
