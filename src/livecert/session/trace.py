"""The per-frame trace recorder: named signals appended frame by frame, read
back as a :class:`~livecert.results.FrameTrace`."""

from __future__ import annotations

import bisect
import math

import numpy as np

from livecert.results import FrameTrace


class TraceRecorder:
    """Collects one value per :class:`~livecert.results.FrameTrace` column for each frame.

    Frames arrive in increasing time; :meth:`since` cuts the trace at a time
    with a binary search, so a live session can look at its last few seconds
    cheaply.
    """

    def __init__(self) -> None:
        self._columns: dict[str, list[float]] = {name: [] for name in FrameTrace.columns()}

    def __len__(self) -> int:
        return len(self._columns["t_s"])

    def append(
        self,
        *,
        t_s: float,
        n_faces: int,
        left_eye: float,
        right_eye: float,
        eye_width_ratio: float,
        inner_lip_gap: float,
        outer_lip_height: float,
        yaw_deg: float,
        pitch_deg: float,
        face_width_px: float,
        brightness: float,
        sharpness: float,
        flags: int,
    ) -> None:
        """Record one frame's signals (``nan`` where there is no face)."""
        values = {
            "t_s": t_s,
            "n_faces": n_faces,
            "left_eye": left_eye,
            "right_eye": right_eye,
            "eye_width_ratio": eye_width_ratio,
            "inner_lip_gap": inner_lip_gap,
            "outer_lip_height": outer_lip_height,
            "yaw_deg": yaw_deg,
            "pitch_deg": pitch_deg,
            "face_width_px": face_width_px,
            "brightness": brightness,
            "sharpness": sharpness,
            "flags": flags,
        }
        for name, value in values.items():
            self._columns[name].append(value)

    def since(self, t0: float = -math.inf) -> FrameTrace:
        """The frames at or after ``t0`` seconds (all frames by default)."""
        start = 0 if t0 == -math.inf else bisect.bisect_left(self._columns["t_s"], t0)
        return FrameTrace(**{name: np.array(values[start:]) for name, values in self._columns.items()})
