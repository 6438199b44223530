"""Turn a still photo into a video: motionless, or with simulated hand-held motion."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np


def fit(rgb: np.ndarray, max_side: int = 640) -> np.ndarray:
    """Scale down (aspect kept) so the longer side is at most ``max_side``."""
    h, w = rgb.shape[:2]
    s = max_side / max(h, w)
    if s >= 1:
        return rgb
    return cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def photo_video(
    rgb: np.ndarray, *, seconds: float = 5.0, fps: float = 25.0, handheld: bool = False, seed: int = 0
) -> Iterator[tuple[np.ndarray, float]]:
    """Frames of a photo held in front of the camera.

    With ``handheld`` the photo drifts and shakes: a smoothed random walk of
    rotation (about +-4 degrees), translation (about +-4% of the size) and
    scale (about +-5%), plus 1-pixel jitter, as a hand holding a print would.
    """
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    n = int(seconds * fps)
    if handheld:
        walk = np.cumsum(rng.normal(0, 1, size=(n, 4)), axis=0)
        kernel = np.ones(9) / 9
        walk = np.stack([np.convolve(walk[:, i], kernel, mode="same") for i in range(4)], axis=1)
        walk /= np.maximum(np.abs(walk).max(axis=0), 1e-6)
        jitter = rng.normal(0, 0.5, size=(n, 2))
    for i in range(n):
        frame = rgb
        if handheld:
            angle = 4.0 * walk[i, 0]
            scale = 1.0 + 0.05 * walk[i, 1]
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
            m[0, 2] += 0.04 * w * walk[i, 2] + jitter[i, 0]
            m[1, 2] += 0.04 * h * walk[i, 3] + jitter[i, 1]
            frame = cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        yield frame, i / fps
