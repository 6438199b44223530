"""Per-frame quality: face size, light, sharpness and head pose, as
:class:`~livecert.results.QualityFlag` bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livecert.arrays import FloatArray, Image
from livecert.config import QualityConfig
from livecert.face import geometry
from livecert.results import QualityFlag

_SHARPNESS_WIDTH = 128


@dataclass(frozen=True)
class FrameQuality:
    """Quality measurements of one frame (``nan`` when there is no face)."""

    face_width_px: float
    brightness: float
    sharpness: float
    yaw_deg: float
    pitch_deg: float
    flags: QualityFlag


def measure(
    rgb: Image,
    points: FloatArray | None,
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
    flags = QualityFlag.MULTIPLE_FACES if n_faces > 1 else QualityFlag(0)
    if points is None:
        return FrameQuality(np.nan, np.nan, np.nan, np.nan, np.nan, flags | QualityFlag.NO_FACE)
    width = geometry.face_width(points)
    yaw, pitch = geometry.head_pose_deg(points)
    brightness, sharpness = light_and_sharpness or measure_light_and_sharpness(rgb, points)
    if width < config.min_face_width_px:
        flags |= QualityFlag.FACE_TOO_SMALL
    if brightness < config.min_brightness:
        flags |= QualityFlag.TOO_DARK
    if sharpness < config.min_sharpness:
        flags |= QualityFlag.BLURRY
    if abs(yaw) > config.max_yaw_deg or abs(pitch) > config.max_pitch_deg:
        flags |= QualityFlag.FACE_TURNED
    return FrameQuality(width, brightness, sharpness, yaw, pitch, flags)


def measure_light_and_sharpness(rgb: Image, points: FloatArray) -> tuple[float, float]:
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
