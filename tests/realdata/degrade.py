"""Deterministic capture degradations of real clips: dim and backlit rooms, small and
heavily compressed video, defocus, and low frame rates (issue 20).

Each degradation takes a decoded clip (a list of ``(rgb, t_s)`` pairs, ``rgb``
uint8 of shape (H, W, 3)) and returns a new list with the same timestamps (or a
subset of them, for a lower frame rate), so that labels mapped through the
original container timestamps still apply.  Levels 1-3 are increasing
strengths; every random draw comes from ``seed``.

Models (physics first, parameters per level in :data:`LEVELS`)
-----------------------------------------------------------------
dim
    A room lit by one weak lamp, a window behind the person: the camera's
    auto-exposure is set by the bright window, so in linear light the whole
    picture is scaled down by ``gain`` while a window glow is added around the
    edges and top of the frame (not behind the face in the middle).  Then
    shot noise (variance proportional to the linear signal) and read noise,
    gamma back to sRGB, 8-bit quantisation and H.264 (crf 28), as a phone
    would send it.
small
    An old phone's front camera and a slow connection: the frame is shrunk
    to ``width`` pixels (area resampling) and compressed with libx264 at
    ``crf``.
defocus
    The phone held too close for its fixed-focus lens: a disk (pillbox) blur
    of ``radius`` pixels at 320 px frame width (scaled with the width).
fps
    A camera delivering fewer frames per second: the frames nearest to a
    ``fps`` grid are kept, with their own timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from livecert.enums import StrEnum
from livecert.io.images import read_image_rgb

from .attacks import fit, photo_video
from .spoof_attacks import h264_roundtrip

Frames = list[tuple[np.ndarray, float]]


class Kind(StrEnum):
    """A kind of capture degradation."""

    DIM = "dim"
    SMALL = "small"
    DEFOCUS = "defocus"
    FPS = "fps"


#: Parameters per kind and level 1-3.
LEVELS: dict[Kind, dict[int, dict[str, float]]] = {
    Kind.DIM: {
        1: {"gain": 0.30, "glow": 0.5, "shot": 0.004, "read": 0.002},
        2: {"gain": 0.15, "glow": 0.8, "shot": 0.006, "read": 0.003},
        3: {"gain": 0.08, "glow": 1.0, "shot": 0.008, "read": 0.004},
    },
    Kind.SMALL: {
        1: {"width": 240, "crf": 32},
        2: {"width": 200, "crf": 36},
        3: {"width": 160, "crf": 40},
    },
    Kind.DEFOCUS: {1: {"radius": 2.0}, 2: {"radius": 3.0}, 3: {"radius": 4.5}},
    Kind.FPS: {1: {"fps": 15.0}, 2: {"fps": 12.0}, 3: {"fps": 10.0}},
}


def degrade(frames: Frames, kind: Kind, level: int, seed: int = 0) -> Frames:
    """One clip degraded as :data:`LEVELS` ``[kind][level]`` says.

    Parameters
    ----------
    frames : list of (ndarray of uint8, shape (H, W, 3), float)
        The decoded clip with its container timestamps.
    kind : Kind
    level : int
        1 (mild) to 3 (strong).
    seed : int

    Returns
    -------
    list of (ndarray of uint8, shape (H', W', 3), float)
    """
    kind = Kind(kind)  # "dim" as well as Kind.DIM
    p = LEVELS[kind][level]
    rng = np.random.default_rng(seed)
    if kind is Kind.DIM:
        return _dim(frames, rng, p["gain"], p["glow"], p["shot"], p["read"])
    if kind is Kind.SMALL:
        return _small(frames, int(p["width"]), int(p["crf"]))
    if kind is Kind.DEFOCUS:
        return _defocus(frames, p["radius"])
    return _fewer_frames(frames, p["fps"])


def _fps(frames: Frames) -> float:
    t = np.array([f[1] for f in frames])
    return float(1.0 / np.median(np.diff(t))) if t.size > 1 else 25.0


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _dim(frames: Frames, rng: np.random.Generator, gain: float, glow: float, shot: float, read: float) -> Frames:
    h, w = frames[0][0].shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    edge = np.abs(x - w / 2) / (w / 2)
    window = np.clip(1.0 - y / (0.55 * h), 0.0, 1.0) * edge**1.5 + 0.6 * edge**4
    window = (glow * np.clip(window, 0.0, 1.0))[:, :, None] * np.array([0.95, 1.0, 1.05], np.float32)
    out = []
    for rgb, _ in frames:
        linear = (rgb.astype(np.float32) / 255.0) ** 2.2 * gain + window
        noisy = linear + rng.normal(0.0, 1.0, linear.shape).astype(np.float32) * np.sqrt(
            shot * np.maximum(linear, 0.0) + read**2
        )
        out.append(np.clip(np.clip(noisy, 0.0, 1.0) ** (1 / 2.2) * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if h % 2 or w % 2:
        out = [f[: _even(h), : _even(w)] for f in out]
    encoded = h264_roundtrip(out, _fps(frames), crf=28)
    return [(f, t) for f, (_, t) in zip(encoded, frames)]


def _small(frames: Frames, width: int, crf: int) -> Frames:
    h, w = frames[0][0].shape[:2]
    size = (_even(width), _even(round(h * width / w)))
    small = [cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) for rgb, _ in frames]
    encoded = h264_roundtrip(small, _fps(frames), crf=crf)
    return [(f, t) for f, (_, t) in zip(encoded, frames)]


def _defocus(frames: Frames, radius_at_320: float) -> Frames:
    w = frames[0][0].shape[1]
    r = radius_at_320 * w / 320
    k = int(np.ceil(r))
    y, x = np.mgrid[-k : k + 1, -k : k + 1]
    disk = np.clip(r + 0.5 - np.hypot(x, y), 0.0, 1.0).astype(np.float32)
    disk /= disk.sum()
    return [(cv2.filter2D(rgb, -1, disk, borderType=cv2.BORDER_REFLECT), t) for rgb, t in frames]


def _fewer_frames(frames: Frames, fps: float) -> Frames:
    t = np.array([f[1] for f in frames])
    grid = np.arange(t[0], t[-1] + 1e-9, 1.0 / fps)
    keep = sorted({int(np.argmin(np.abs(t - g))) for g in grid})
    return [frames[i] for i in keep]


def photo_clips(path: Path, seeds: Iterable[int]) -> Iterator[tuple[int, bool, Frames]]:
    """Photo attacks to degrade: ``(seed, hand-held, frames)``, a still and a hand-held video of
    the photo at ``path`` for each seed (``attacks.photo_video``, 5 s at 25 fps, the photo fitted
    to 640 px and cut to even sides for H.264), each made when it is needed.  The test and
    ``benchmarks/degrade.py`` degrade each clip with its seed."""
    rgb = fit(read_image_rgb(path))
    rgb = np.ascontiguousarray(rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2])
    for seed in seeds:
        for handheld in (False, True):
            yield seed, handheld, list(photo_video(rgb, handheld=handheld, seed=seed))


def still_room(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A still, textured backdrop to paste a clip into: blurred noise with clear corners, RGB
    uint8 of shape (height, width, 3), the same for a seed."""
    noise = np.random.default_rng(seed).uniform(0, 255, (height, width)).astype(np.float32)
    grey = np.clip(cv2.GaussianBlur(noise, (0, 0), 3.0) * 4 - 380, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def in_room(
    frames: Frames, room: np.ndarray, seed: int, passer_by: tuple[int, float] | None = None
) -> list[tuple[np.ndarray, float]]:
    """A clip pasted unscaled at a random place (the same for a seed) into ``room``.

    Parameters
    ----------
    frames : sequence of (ndarray of uint8, shape (h, w, 3), float)
    room : ndarray of uint8, shape (H, W, 3)
        From :func:`still_room`.
    seed : int
    passer_by : (int, float), optional
        ``(width px, speed px/s)``: a patterned figure, sharper and higher in contrast than the
        room, the full height of the frame, moving slowly across the side of the room away
        from the clip (someone behind the person), without covering the clip.

    Returns
    -------
    list of (ndarray of uint8, shape (H, W, 3), float)
    """
    height, width = room.shape[:2]
    h, w = frames[0][0].shape[:2]
    rng = np.random.default_rng(seed)
    x0, y0 = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
    figure = None
    if passer_by is not None:
        noise = rng.uniform(0, 255, (height, passer_by[0])).astype(np.float32)
        grey = np.clip(cv2.GaussianBlur(noise, (0, 0), 1.5) * 8 - 900, 0, 255).astype(np.uint8)
        figure = np.repeat(grey[..., None], 3, axis=2)
    out = []
    for rgb, t_s in frames:
        canvas = room.copy()
        if figure is not None and passer_by is not None:
            travelled = int(t_s * passer_by[1])
            left = travelled - 100 if x0 > width // 2 else width - 100 - passer_by[0] - travelled
            a, b = max(0, left), min(width, left + passer_by[0])
            if b > a:
                canvas[:, a:b] = figure[:, a - left : b - left]
        canvas[y0 : y0 + h, x0 : x0 + w] = rgb
        out.append((canvas, t_s))
    return out
