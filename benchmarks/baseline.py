"""The widely copied tutorial blink rule, for comparison only.

Eye aspect ratio (Soukupova & Cech, six points per eye, here the face-mesh
equivalents of dlib's 68-point eye landmarks) below a fixed 0.3 for at least
3 consecutive frames counts as a blink.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

# p1..p6 per eye: outer corner, two upper-lid points, inner corner, two lower-lid points.
RIGHT_EYE_6 = (33, 160, 158, 133, 153, 144)
LEFT_EYE_6 = (362, 385, 387, 263, 373, 380)


def ear(points: np.ndarray, idx: tuple[int, ...]) -> float:
    """Eye aspect ratio of one eye from its six mesh points ``idx``; nan for a degenerate eye."""
    p = points[list(idx), :2]
    vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    horizontal = 2.0 * np.linalg.norm(p[0] - p[3])
    return float(vertical / horizontal) if horizontal > 0 else float("nan")


def tutorial_blinks(
    t: np.ndarray, ear_values: np.ndarray, threshold: float = 0.3, consec: int = 3
) -> list[tuple[float, float]]:
    """Blink intervals by the tutorial rule: ``ear < threshold`` for ``consec`` frames or more."""
    events = []
    run_start = None
    below = np.nan_to_num(ear_values, nan=1.0) < threshold
    for i, b in enumerate(below):
        if b and run_start is None:
            run_start = i
        if (not b or i == len(below) - 1) and run_start is not None:
            end = i if b else i - 1
            if end - run_start + 1 >= consec:
                events.append((float(t[run_start]), float(t[end])))
            run_start = None
    return events


def tutorial_run(source: Any) -> tuple[list[tuple[float, float]], int, float]:
    """Decode, face mesh and the tutorial rule on one source.

    Parameters
    ----------
    source : str, Path or iterable of (rgb, t_s)
        Anything :func:`livecert.open_source` accepts.

    Returns
    -------
    events : list of (float, float)
        Blink intervals, seconds.
    frames : int
        Frames decoded.
    seconds : float
        Wall time of the whole run, model loading included.
    """
    from livecert.face.landmarks import FaceLandmarker
    from livecert.io.sources import open_source

    t0 = time.perf_counter()
    times, ears = [], []
    with open_source(source) as src, FaceLandmarker() as lm:
        for frame in src:
            obs = lm.process(frame.rgb, frame.t_s)
            times.append(frame.t_s)
            if obs.points is None:
                ears.append(np.nan)
            else:
                ears.append((ear(obs.points, LEFT_EYE_6) + ear(obs.points, RIGHT_EYE_6)) / 2)
    events = tutorial_blinks(np.array(times), np.array(ears))
    return events, len(times), time.perf_counter() - t0
