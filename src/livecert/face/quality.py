"""Per-frame quality: face size, light, sharpness and head pose, as a flag
bitmask, and the rules that turn a clip's flags into result reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livecert.config import QualityConfig
from livecert.face import geometry
from livecert.results import (
    FLAG_BLURRY,
    FLAG_FACE_TOO_SMALL,
    FLAG_FACE_TURNED,
    FLAG_MULTIPLE_FACES,
    FLAG_NO_FACE,
    FLAG_TOO_DARK,
    FrameTrace,
    Reason,
    ReasonCode,
)

_SHARPNESS_WIDTH = 128


@dataclass(frozen=True)
class FrameQuality:
    """Quality measurements of one frame (``nan`` when there is no face)."""

    face_width_px: float
    brightness: float
    sharpness: float
    yaw_deg: float
    pitch_deg: float
    flags: int


def measure(
    rgb: np.ndarray,
    points: np.ndarray | None,
    n_faces: int,
    config: QualityConfig,
    light_and_sharpness: tuple[float, float] | None = None,
) -> FrameQuality:
    """Measure one frame and set its flags.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
    points : ndarray, shape (478, 3), or None
    n_faces : int
        Faces counted, or -1 if not counted this frame.
    light_and_sharpness : (float, float), optional
        Reuse these image measurements (from a recent frame) instead of
        measuring this frame's pixels.
    """
    flags = FLAG_MULTIPLE_FACES if n_faces > 1 else 0
    if points is None:
        return FrameQuality(np.nan, np.nan, np.nan, np.nan, np.nan, flags | FLAG_NO_FACE)
    width = geometry.face_width(points)
    yaw, pitch = geometry.head_pose_deg(points)
    brightness, sharpness = light_and_sharpness or measure_light_and_sharpness(rgb, points)
    if width < config.min_face_width_px:
        flags |= FLAG_FACE_TOO_SMALL
    if brightness < config.min_brightness:
        flags |= FLAG_TOO_DARK
    if sharpness < config.min_sharpness:
        flags |= FLAG_BLURRY
    if abs(yaw) > config.max_yaw_deg or abs(pitch) > config.max_pitch_deg:
        flags |= FLAG_FACE_TURNED
    return FrameQuality(width, brightness, sharpness, yaw, pitch, flags)


def measure_light_and_sharpness(rgb: np.ndarray, points: np.ndarray) -> tuple[float, float]:
    """Mean luma and Laplacian variance (at 128 px width) of the face region."""
    import cv2

    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = geometry.face_box(points, w, h)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return float("nan"), float("nan")
    gray = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    brightness = float(gray.mean())
    scale = _SHARPNESS_WIDTH / gray.shape[1]
    small = cv2.resize(gray, (_SHARPNESS_WIDTH, max(4, round(gray.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    sharpness = float(cv2.Laplacian(small, cv2.CV_32F).var())
    return brightness, sharpness


_FRAME_PROBLEMS = (
    (FLAG_FACE_TOO_SMALL, ReasonCode.FACE_TOO_SMALL),
    (FLAG_TOO_DARK, ReasonCode.TOO_DARK),
    (FLAG_BLURRY, ReasonCode.BLURRY),
    (FLAG_FACE_TURNED, ReasonCode.FACE_TURNED),
)


def clip_reasons(trace: FrameTrace, config: QualityConfig) -> list[Reason]:
    """Quality reasons for a whole clip, from its per-frame flags.

    ``NO_FACE`` when too few frames have a face, ``MULTIPLE_FACES`` when too
    many counted frames have several, and each per-frame problem that
    affects more than ``max_bad_fraction`` of the face frames.
    """
    n = len(trace)
    if n == 0:
        return [Reason(ReasonCode.NO_FACE, "no frames")]
    reasons: list[Reason] = []
    counted = trace.n_faces >= 0
    multi = int(np.count_nonzero(trace.n_faces > 1))
    n_counted = int(np.count_nonzero(counted))
    if n_counted and multi / n_counted > config.max_multiple_face_fraction:
        reasons.append(Reason(ReasonCode.MULTIPLE_FACES, f"several faces in {multi} of {n_counted} counted frames"))
    face = trace.has_face
    n_face = int(np.count_nonzero(face))
    if n_face / n < config.min_face_fraction:
        reasons.append(Reason(ReasonCode.NO_FACE, f"face in {n_face} of {n} frames"))
        return reasons
    for bit, code in _FRAME_PROBLEMS:
        bad = int(np.count_nonzero((trace.flags & bit)[face]))
        if bad / n_face > config.max_bad_fraction:
            reasons.append(Reason(code, f"{bad} of {n_face} face frames"))
    return reasons


def usable_mask(trace: FrameTrace) -> np.ndarray:
    """Frames whose face is good enough to judge eyes and mouth, shape (N,)."""
    blocking = FLAG_NO_FACE | FLAG_FACE_TOO_SMALL | FLAG_TOO_DARK | FLAG_FACE_TURNED
    return trace.has_face & ((trace.flags & blocking) == 0)
