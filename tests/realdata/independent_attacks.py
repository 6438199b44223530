"""Presentation attacks from one still photo, written apart from livecert's own spoof check.

These generators were written without reading livecert's spoof detector or its
other attack generators, to measure whether the detector's cues carry over to
attacks its authors have not seen.  Each generator takes one photo (RGB uint8 of
shape (H, W, 3)) and an integer seed and yields about 5 s of ``(rgb, t_s)``
frames (RGB uint8 of shape (h, w, 3), ``t_s`` in seconds, increasing), the input
of :func:`livecert.verify`.  Every random draw comes from the seed, and the
H.264 round trip uses fixed single-threaded encoder options, so a seed always
gives the same frames.

Attacks
-------
tripod_blinking_photo
    The photo, printed, on a stand in front of a camera on a tripod, 1280x720
    at 25 fps.  The eyes blink 2-4 times: the eye region is cross-faded into a
    synthesised closed eye.
handheld_blinking_photo
    The same blinking print held in a hand: a smooth random walk of rotation,
    translation and scale (an affine warp of the print, the room fixed), with
    motion blur while the print moves fast.  1280x720 at 25 fps.
curved_print
    A print bent around a vertical cylinder and slowly turned about the
    vertical axis, ray-traced per pixel (:func:`cv2.remap`), with paper
    contrast and tint, blinking or not.  640x480 at 30 fps.

Eyes are found with OpenCV's Haar cascades (face, then eyes inside it), with a
fallback to fixed proportions of the face box (or of the photo, with no face).
The print is scaled so that its face is as wide as a user's face in a selfie
(about a quarter of the frame's width) and cropped around the face when the
photo would then not fit: a small face in a large photo (a whole-body
portrait) would otherwise be too small for the face detector, and the attack
would test nothing.
Every clip then gets per-frame sensor noise, a slow brightness flicker of about
1 % and an H.264 round trip (libx264, crf 23) through PyAV.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

#: An 8-bit picture, shape (H, W, 3) RGB or (H, W) grey.
Image = npt.NDArray[np.uint8]
#: Pictures and masks being composed, 0-255 or 0-1.
Float32 = npt.NDArray[np.float32]
#: Geometry, poses and timestamps.
Float64 = npt.NDArray[np.float64]
#: One frame for :func:`livecert.verify`: RGB picture of shape (H, W, 3) and time in seconds.
Frame = tuple[Image, float]

CLIP_S = 5.0
CRF = 23
# Fixed encoder options: single-threaded with no look-ahead, so the bytes do not
# depend on the machine's core count or timing.
X264_OPTIONS = {"crf": str(CRF), "preset": "medium", "threads": "1", "rc-lookahead": "0", "mbtree": "0"}
NOISE_SIGMA = 2.0  # sensor read noise, 8-bit levels
SHOT_NOISE = 0.02  # shot noise: variance grows as SHOT_NOISE * level
FLICKER_DEPTH = 0.01  # relative brightness flicker


def _f32(array: object) -> Float32:
    """View an OpenCV or NumPy result as float32 (no copy when it already is)."""
    return np.asarray(array, dtype=np.float32)


def _u8(array: object) -> Image:
    """View an OpenCV or NumPy result as uint8 (no copy when it already is)."""
    return np.asarray(array, dtype=np.uint8)


# --------------------------------------------------------------------------- eyes


@dataclass(frozen=True)
class Eye:
    """One eye of the photo, in pixel coordinates.

    Attributes
    ----------
    cx, cy : float
        Centre of the eye opening.
    half_w : float
        Half the width of the eye, corner to corner.
    half_h : float
        Half the height of the open eye (the aperture).
    """

    cx: float
    cy: float
    half_w: float
    half_h: float

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> Eye:
        """The eye after ``x' = sx * x + dx``, ``y' = sy * y + dy``."""
        return Eye(self.cx * sx + dx, self.cy * sy + dy, self.half_w * sx, self.half_h * sy)


@dataclass(frozen=True)
class FaceGeometry:
    """Where the face and eyes of a photo are.

    Attributes
    ----------
    face : tuple of float
        Face box ``(x, y, w, h)`` in pixels.
    eyes : tuple of Eye
        The two eyes, left of the image first.
    source : str
        ``"haar"`` (both eyes found), ``"haar+mirror"`` (one found, the other
        mirrored about the face's centre line), ``"face-proportions"`` (face found,
        eyes placed by proportion) or ``"photo-proportions"`` (no face found).
    """

    face: tuple[float, float, float, float]
    eyes: tuple[Eye, Eye]
    source: str

    def mapped(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> FaceGeometry:
        """The geometry after ``x' = sx * x + dx``, ``y' = sy * y + dy``."""
        x, y, w, h = self.face
        face = (x * sx + dx, y * sy + dy, w * sx, h * sy)
        left, right = self.eyes
        return replace(self, face=face, eyes=(left.scaled(sx, sy, dx, dy), right.scaled(sx, sy, dx, dy)))


def _cascade(name: str) -> cv2.CascadeClassifier:
    """One of OpenCV's bundled Haar cascades, by file name."""
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
    if classifier.empty():
        raise RuntimeError(f"cannot load the Haar cascade {name}")
    return classifier


def _largest_face(gray: Image) -> tuple[float, float, float, float] | None:
    """The largest frontal face in a grey image of shape (H, W), as ``(x, y, w, h)``."""
    min_side = max(24, min(gray.shape) // 10)
    faces = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        gray, scaleFactor=1.05, minNeighbors=5, minSize=(min_side, min_side)
    )
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda f: int(f[2]) * int(f[3]))
    return float(x), float(y), float(w), float(h)


def _eye_candidates(face_gray: Image) -> list[tuple[float, float, float]]:
    """Eye boxes in a face crop of shape (h, w) resized to 240 px wide: ``(cx, cy, side)``.

    Both the plain and the eyeglasses cascade are run; boxes are in the
    resized crop's pixels.
    """
    found: list[tuple[float, float, float]] = []
    for name in ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml"):
        boxes = _cascade(name).detectMultiScale(face_gray, scaleFactor=1.05, minNeighbors=4, minSize=(24, 24))
        found += [(x + w / 2.0, y + h / 2.0, float(w)) for x, y, w, h in boxes]
    return found


def _pick_eye(
    candidates: list[tuple[float, float, float]], expect: tuple[float, float], width: float
) -> tuple[float, float, float] | None:
    """The candidate nearest to the expected eye centre, within plausible size and distance."""
    plausible = [
        c
        for c in candidates
        if 0.14 * width <= c[2] <= 0.42 * width and math.hypot(c[0] - expect[0], c[1] - expect[1]) < 0.16 * width
    ]
    if not plausible:
        return None
    return min(plausible, key=lambda c: math.hypot(c[0] - expect[0], c[1] - expect[1]))


def _eye_from_box(cx: float, cy: float, side: float) -> Eye:
    """An eye opening inside a Haar eye box of side ``side`` centred at ``(cx, cy)``."""
    return Eye(cx=cx, cy=cy + 0.04 * side, half_w=0.36 * side, half_h=0.16 * side)


def _eyes_by_proportion(face: tuple[float, float, float, float]) -> tuple[Eye, Eye]:
    """Eyes placed at the usual proportions of a frontal face box ``(x, y, w, h)``."""
    x, y, w, h = face
    return (
        Eye(x + 0.31 * w, y + 0.40 * h, 0.10 * w, 0.045 * w),
        Eye(x + 0.69 * w, y + 0.40 * h, 0.10 * w, 0.045 * w),
    )


def find_eyes(photo: Image) -> FaceGeometry:
    """Find the face and both eyes of a photo with OpenCV's Haar cascades.

    Parameters
    ----------
    photo : ndarray, shape (H, W, 3), uint8
        RGB photo.

    Returns
    -------
    FaceGeometry
        Face box and eyes in the photo's pixels.  When the eye cascades miss
        an eye it is mirrored from the other; when they miss both, the eyes
        are placed by the face box's proportions; with no face at all, a face
        box is assumed in the upper middle of the photo.
    """
    gray = _u8(cv2.equalizeHist(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)))
    face = _largest_face(gray)
    if face is None:
        height, width = gray.shape
        face = (0.3 * width, 0.15 * height, 0.4 * width, 0.4 * width)
        return FaceGeometry(face, _eyes_by_proportion(face), "photo-proportions")
    x, y, w, h = face
    crop = gray[int(y) : int(y + h), int(x) : int(x + w)]
    k = 240.0 / crop.shape[1]
    crop = _u8(cv2.resize(crop, (240, max(1, round(crop.shape[0] * k))), interpolation=cv2.INTER_AREA))
    upper = crop[: int(0.62 * crop.shape[0])]
    candidates = _eye_candidates(upper)
    left = _pick_eye(candidates, (0.31 * 240, 0.40 * crop.shape[0]), 240.0)
    right = _pick_eye(candidates, (0.69 * 240, 0.40 * crop.shape[0]), 240.0)
    if left is None and right is None:
        return FaceGeometry(face, _eyes_by_proportion(face), "face-proportions")
    source = "haar"
    if left is None or right is None:
        cx, cy, side = left if right is None else right  # type: ignore[misc]
        mirrored = (240.0 - cx, cy, side)
        left, right = (left, mirrored) if right is None else (mirrored, right)
        source = "haar+mirror"
    assert left is not None and right is not None
    eyes = (
        _eye_from_box(*left).scaled(1.0 / k, 1.0 / k, x, y),
        _eye_from_box(*right).scaled(1.0 / k, 1.0 / k, x, y),
    )
    return FaceGeometry(face, eyes, source)


# --------------------------------------------------------------------------- closed eye


def _mask_axes(eye: Eye) -> tuple[float, float]:
    """Semi-axes ``(x, y)`` of the ellipse a closed lid covers: the opening plus its lashes."""
    return 1.2 * eye.half_w, 1.6 * eye.half_h + 0.06 * eye.half_w


def _eye_mask(shape: tuple[int, ...], eye: Eye) -> Float32:
    """Soft elliptical mask covering an eye opening, float32 of shape (H, W) in [0, 1]."""
    mask = np.zeros(shape, np.float32)
    ax, ay = _mask_axes(eye)
    cv2.ellipse(
        mask,
        (round(eye.cx), round(eye.cy)),
        (max(2, round(ax)), max(2, round(ay))),
        0.0,
        0.0,
        360.0,
        (1.0,),
        -1,
        cv2.LINE_AA,
    )
    return _f32(cv2.GaussianBlur(mask, (0, 0), max(0.7, 0.1 * eye.half_w)))


def _skin_rows(image: Image, y0: float, y1: float, smooth: float) -> Float32:
    """Skin colour of every column over rows ``y0..y1``, float32 of shape (W, 3).

    The brighter half of each column's pixels (not brow hair, lashes or
    shadow), averaged, then smoothed along the row by ``smooth`` pixels.
    """
    height = image.shape[0]
    ya = int(np.clip(math.floor(y0), 0, height - 1))
    yb = int(np.clip(math.ceil(y1), ya + 1, height))
    band = image[ya:yb].astype(np.float32)  # (rows, W, 3)
    luma = band @ np.array([0.299, 0.587, 0.114], np.float32)
    keep = luma >= np.median(luma, axis=0, keepdims=True)
    colour = (band * keep[..., None]).sum(axis=0) / np.maximum(1, keep.sum(axis=0))[:, None]
    smoothed = _f32(cv2.GaussianBlur(colour[None], (0, 0), sigmaX=max(0.5, smooth), sigmaY=0.1))
    return _f32(smoothed[0])


def _lid(image: Image, eye: Eye, rng: np.random.Generator) -> Float32:
    """A closed eyelid painted over a copy of the image, float32 of shape (H, W, 3).

    Each column of the lid runs from the skin just above the eye to the skin
    just below it, with faint skin grain, a soft shadow over the lid fold and
    a dark lash line curving along the eye's lower third.
    """
    height, width = image.shape[:2]
    a, b = eye.half_w, eye.half_h
    _, ay = _mask_axes(eye)
    top, bottom = eye.cy - ay, eye.cy + ay
    band = max(1.5, 0.22 * a)
    above = _skin_rows(image, top - band, top, 0.3 * a)  # (W, 3)
    below = _skin_rows(image, bottom, bottom + band, 0.3 * a)
    ys = np.arange(height, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    w = np.clip((ys - top) / (bottom - top), 0.0, 1.0)[..., None]  # (H, 1, 1)
    lid = (1.0 - w) * above[None] + w * below[None]
    grain = cv2.GaussianBlur(rng.normal(0.0, 1.0, (height, width)).astype(np.float32), (0, 0), max(0.6, 0.05 * a))
    lid = lid * (1.0 + 0.03 * grain / max(1e-6, float(grain.std())))[..., None]
    u = (xs - eye.cx) / a  # -1 .. 1 corner to corner
    lash_y = eye.cy + b / 3.0 + 0.45 * b * (1.0 - np.clip(u, -1.0, 1.0) ** 2)
    dist = ys - lash_y  # signed: below the lash line is positive
    along = np.clip(1.0 - np.abs(u) ** 4, 0.0, 1.0)  # the line thins out at the corners
    thick = max(0.7, 0.09 * a)
    line = np.exp(-0.5 * (dist / thick) ** 2) * along
    shadow = np.exp(-0.5 * ((dist + 1.5 * thick) / (0.35 * a)) ** 2) * (dist < 0) * along
    lid = lid * (1.0 - 0.12 * shadow)[..., None]
    lash = 0.28 * np.minimum(above, below)[None]
    lid = lid * (1.0 - line)[..., None] + lash * line[..., None]
    return _f32(lid)


def closed_eyes(photo: Image, geometry: FaceGeometry, rng: np.random.Generator) -> tuple[Float32, Float32]:
    """The photo with both eyes shut, and where it differs from the photo.

    Parameters
    ----------
    photo : ndarray, shape (H, W, 3), uint8
    geometry : FaceGeometry
        Eyes in ``photo``'s pixels.
    rng : numpy.random.Generator
        Skin grain.

    Returns
    -------
    closed : ndarray, shape (H, W, 3), float32
        The photo with both eyes replaced by closed lids, 0-255.
    mask : ndarray, shape (H, W), float32
        Blend weight of the closed eyes, 0 (photo) to 1 (lid).
    """
    shape = photo.shape[:2]
    base = photo.astype(np.float32)
    closed, mask = base.copy(), np.zeros(shape, np.float32)
    for eye in geometry.eyes:
        m = _eye_mask(shape, eye)
        lid = _lid(photo, eye, rng)
        sharpness = max(0.0, 0.5 * (photo.shape[1] / 640.0 - 1.0))  # keep the lid as soft as the photo
        if sharpness > 0:
            lid = _f32(cv2.GaussianBlur(lid, (0, 0), sharpness))
        closed = _f32(closed * (1.0 - m[..., None]) + lid * m[..., None])
        mask = _f32(np.maximum(mask, m))
    return closed, mask


# --------------------------------------------------------------------------- blinks


@dataclass(frozen=True)
class Blink:
    """One synthetic blink: lids closing from ``start_s``, open again at ``start_s + duration_s``."""

    start_s: float
    duration_s: float


def blink_schedule(rng: np.random.Generator, clip_s: float = CLIP_S) -> tuple[Blink, ...]:
    """2-4 blinks of 0.2-0.4 s at random times, at least 0.6 s apart, clear of the clip's ends."""
    count = int(rng.integers(2, 5))
    for _ in range(1000):
        durations = rng.uniform(0.2, 0.4, count)
        starts = np.sort(rng.uniform(0.5, clip_s - 0.6, count))
        ends = starts + durations
        if np.all(starts[1:] - ends[:-1] >= 0.6) and ends[-1] <= clip_s - 0.3:
            return tuple(Blink(float(s), float(d)) for s, d in zip(starts, durations, strict=True))
    raise RuntimeError("no blink schedule fits the clip")


def _ramp(x: float) -> float:
    """Smooth 0 -> 1 over ``x`` in [0, 1] (raised cosine)."""
    return 0.5 - 0.5 * math.cos(math.pi * min(1.0, max(0.0, x)))


def closure(t_s: float, blinks: Iterable[Blink]) -> float:
    """How shut the eyes are at ``t_s``: 0 open, 1 shut.

    A blink closes over its first 35 %, stays shut for 15 % and opens over
    the last 50 % (lids fall faster than they rise).
    """
    level = 0.0
    for blink in blinks:
        x = (t_s - blink.start_s) / blink.duration_s
        if 0.0 <= x <= 1.0:
            if x < 0.35:
                level = max(level, _ramp(x / 0.35))
            elif x < 0.5:
                level = 1.0
            else:
                level = max(level, 1.0 - _ramp((x - 0.5) / 0.5))
    return level


@dataclass
class BlinkingTexture:
    """A photo texture that can be shown at any level of eye closure.

    Attributes
    ----------
    open_rgb : ndarray, shape (H, W, 3), float32
    closed_rgb : ndarray, shape (H, W, 3), float32
    mask : ndarray, shape (H, W), float32
    box : tuple of int
        ``(y0, y1, x0, x1)``, the part of the texture the blink changes.
    """

    open_rgb: Float32
    closed_rgb: Float32
    mask: Float32
    box: tuple[int, int, int, int]

    def at(self, level: float) -> Float32:
        """The texture with the eyes ``level`` shut (0-1), float32 of shape (H, W, 3)."""
        if level <= 0.0:
            return self.open_rgb
        y0, y1, x0, x1 = self.box
        out = self.open_rgb.copy()
        weight = (level * self.mask[y0:y1, x0:x1])[..., None]
        out[y0:y1, x0:x1] += weight * (self.closed_rgb[y0:y1, x0:x1] - self.open_rgb[y0:y1, x0:x1])
        return out


def blinking_texture(texture: Image, geometry: FaceGeometry, rng: np.random.Generator) -> BlinkingTexture:
    """Precompute the open and closed versions of a texture of shape (H, W, 3), uint8."""
    closed, mask = closed_eyes(texture, geometry, rng)
    ys, xs = np.nonzero(mask > 1e-3)
    box = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1) if len(ys) else (0, 0, 0, 0)
    return BlinkingTexture(texture.astype(np.float32), closed, mask, box)


# --------------------------------------------------------------------------- print and room


def face_window(
    photo_shape: tuple[int, ...], face: tuple[float, float, float, float], size: tuple[float, float]
) -> tuple[int, int, int, int]:
    """The part of a photo to print: a window of ``size`` (w, h) around the face, inside the photo.

    The face's centre sits in the middle across and 45 % down the window when
    the photo allows; the window is shifted (not shrunk) to stay inside.

    Returns
    -------
    tuple of int
        ``(x0, y0, x1, y1)`` in the photo's pixels.
    """
    height, width = photo_shape[:2]
    x, y, w, h = face
    win_w, win_h = min(width, round(size[0])), min(height, round(size[1]))
    x0 = int(np.clip(round(x + w / 2.0 - win_w / 2.0), 0, width - win_w))
    y0 = int(np.clip(round(y + h / 2.0 - 0.45 * win_h), 0, height - win_h))
    return x0, y0, x0 + win_w, y0 + win_h


def resize_to(image: Image, width: int, height: int) -> Image:
    """Resize an image of shape (H, W, C) to (height, width, C), area-averaging when shrinking."""
    shrinking = width < image.shape[1]
    return _u8(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC))


def print_texture(
    photo: Image, face_px: float, max_size: tuple[float, float], border: float = 0.03
) -> tuple[Image, FaceGeometry]:
    """The photo as a print whose face is ``face_px`` wide, with a white paper margin.

    The attacker prints the face at the size a user's face has in the
    camera; a photo larger than ``max_size`` at that scale is cropped around
    the face.

    Parameters
    ----------
    photo : ndarray, shape (H, W, 3), uint8
    face_px : float
        Width of the (Haar) face box on the print, in texture pixels.
    max_size : tuple of float
        Largest ``(width, height)`` of the whole print, margin included.
    border : float
        Paper margin as a fraction of the print's height.

    Returns
    -------
    texture : ndarray, shape (h, w, 3), uint8
    geometry : FaceGeometry
        Face and eyes in the texture's pixels.
    """
    geometry = find_eyes(photo)
    k = face_px / geometry.face[2]  # photo pixels -> print pixels
    margin = round(border * max_size[1])
    fit = ((max_size[0] - 2 * margin) / k, (max_size[1] - 2 * margin) / k)
    x0, y0, x1, y1 = face_window(photo.shape, geometry.face, fit)
    inner_w, inner_h = max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k))
    inner = resize_to(photo[y0:y1, x0:x1], inner_w, inner_h)
    texture = np.full((inner_h + 2 * margin, inner_w + 2 * margin, 3), (238, 236, 230), np.uint8)
    texture[margin : margin + inner_h, margin : margin + inner_w] = inner
    sx, sy = inner_w / (x1 - x0), inner_h / (y1 - y0)
    return texture, geometry.mapped(sx, sy, margin - x0 * sx + 0.5 * sx - 0.5, margin - y0 * sy + 0.5 * sy - 0.5)


def room(width: int, height: int, rng: np.random.Generator) -> tuple[Float32, int]:
    """A plain-ish room behind the print, float32 of shape (height, width, 3), 0-255, and its floor row.

    A painted wall lit from one side (a smooth gradient and falloff), faint
    plaster grain, a skirting board and a strip of floor or desk at the bottom,
    and the edge of a door frame or shelf at one side.
    """
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    paint = np.array([1.0, rng.uniform(0.95, 0.99), rng.uniform(0.86, 0.96)], np.float32)  # warm white to grey
    wall = rng.uniform(150.0, 215.0) * paint
    lx, ly = rng.uniform(-0.3, 1.3), rng.uniform(-0.4, 0.2)
    light = 1.0 - 0.35 * np.clip(np.hypot(xs - lx, ys - ly) / 1.5, 0.0, 1.0)
    grain = cv2.GaussianBlur(rng.normal(0.0, 1.0, (height, width)).astype(np.float32), (0, 0), 2.0)
    blotch = cv2.resize(rng.normal(0.0, 1.0, (6, 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    image = wall * (light * (1.0 + 0.015 * grain / grain.std() + 0.02 * blotch))[..., None]
    floor_y = int(rng.uniform(0.84, 0.92) * height)
    floor = rng.uniform([90, 70, 50], [150, 120, 95]).astype(np.float32)
    floor_grain = cv2.GaussianBlur(
        rng.normal(0.0, 1.0, (height, width)).astype(np.float32), (0, 0), sigmaX=9.0, sigmaY=0.8
    )
    image[floor_y:] = floor * (1.0 + 0.05 * floor_grain[floor_y:] / floor_grain.std())[..., None]
    image[max(0, floor_y - height // 60) : floor_y] *= 0.88  # skirting board shadow
    side = int(rng.integers(0, 2))
    post_w = max(6, width // 40)
    x0 = int(rng.uniform(0.03, 0.1) * width)
    x0 = x0 if side == 0 else width - x0 - post_w
    image[:floor_y, x0 : x0 + post_w] = rng.uniform(205.0, 240.0) * paint
    image[:floor_y, x0 + post_w : x0 + post_w + 2] *= 0.8  # frame shadow
    return np.clip(image, 0.0, 255.0), floor_y


def paste(background: Float32, layer: Float32, alpha: Float32) -> Float32:
    """Composite a layer over a background, float32 images of shape (H, W, 3), alpha (H, W) in [0, 1]."""
    return background + alpha[..., None] * (layer - background)


def warp_print(texture: Float32, matrix: Float64, size: tuple[int, int]) -> tuple[Float32, Float32]:
    """Affine-warp a print into the frame.

    Parameters
    ----------
    texture : ndarray, shape (h, w, 3), float32
    matrix : ndarray, shape (2, 3)
        Texture pixels -> frame pixels.
    size : tuple of int
        Frame ``(width, height)``.

    Returns
    -------
    layer : ndarray, shape (height, width, 3), float32
    alpha : ndarray, shape (height, width), float32
        Coverage of the print, anti-aliased at its edges.
    """
    layer = cv2.warpAffine(texture, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    ones = np.ones(texture.shape[:2], np.float32)
    alpha = cv2.warpAffine(ones, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return _f32(layer), _f32(alpha)


def shadow_of(alpha: Float32, offset: tuple[int, int], blur: float, depth: float) -> Float32:
    """A soft drop shadow of a layer's coverage, as a brightness factor of shape (H, W)."""
    shifted = np.roll(alpha, offset, axis=(0, 1))
    return 1.0 - depth * cv2.GaussianBlur(shifted, (0, 0), blur)


# --------------------------------------------------------------------------- camera


def sensor(image: Float32, gain: float, rng: np.random.Generator) -> Image:
    """Camera exposure: a brightness gain, shot and read noise, 8-bit quantisation.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, 0-255
    gain : float
        Brightness factor of this frame (the flicker).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
    """
    signal = np.clip(image * gain, 0.0, 255.0)
    sigma = np.sqrt(NOISE_SIGMA**2 + SHOT_NOISE * signal)
    noisy = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    return _u8(np.clip(np.rint(noisy), 0, 255))


@dataclass(frozen=True)
class Flicker:
    """A slow sinusoidal brightness flicker, ``1 + depth * sin(2 pi f t + phase)``."""

    depth: float
    freq_hz: float
    phase: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Flicker:
        """About 1 % at 0.5-2 Hz."""
        return cls(FLICKER_DEPTH * rng.uniform(0.8, 1.2), rng.uniform(0.5, 2.0), rng.uniform(0.0, 2.0 * math.pi))

    def gain(self, t_s: float) -> float:
        return 1.0 + self.depth * math.sin(2.0 * math.pi * self.freq_hz * t_s + self.phase)


def h264_roundtrip(frames: Iterable[Frame], fps: int) -> Iterator[Frame]:
    """Encode frames with libx264 and decode them again, streaming.

    Parameters
    ----------
    frames : iterable of (ndarray of shape (H, W, 3) uint8 RGB, float)
        All of the same size (even width and height).
    fps : int
        Frame rate given to the encoder (rate control only).

    Yields
    ------
    (ndarray of shape (H, W, 3) uint8 RGB, float)
        The decoded frames with their original timestamps, in order.
    """
    encoder: av.VideoCodecContext | None = None
    decoder = av.CodecContext.create("h264", "r")
    pending: list[float] = []

    def drain(packets: Iterable[av.Packet[Any]]) -> Iterator[Frame]:
        for packet in packets:
            for decoded in decoder.decode(packet):
                yield _u8(decoded.to_ndarray(format="rgb24")), pending.pop(0)

    for index, (rgb, t_s) in enumerate(frames):
        if encoder is None:
            encoder = av.CodecContext.create("libx264", "w")
            encoder.width, encoder.height = rgb.shape[1], rgb.shape[0]
            encoder.pix_fmt = "yuv420p"
            encoder.time_base = Fraction(1, fps)
            encoder.framerate = Fraction(fps, 1)
            encoder.thread_count = 1
            encoder.options = dict(X264_OPTIONS)
            encoder.open()
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = index
        pending.append(t_s)
        yield from drain(encoder.encode(frame))
    if encoder is None:
        return
    yield from drain(encoder.encode(None))
    for decoded in decoder.decode(None):
        yield _u8(decoded.to_ndarray(format="rgb24")), pending.pop(0)


def frame_times(fps: int, clip_s: float = CLIP_S) -> Float64:
    """Timestamps ``i / fps`` of a clip, float64 of shape (n,)."""
    return np.arange(round(clip_s * fps), dtype=np.float64) / fps


# --------------------------------------------------------------------------- attack 1: tripod


def _stand(image: Float32, x: float, y_top: float, floor_y: int, width: int) -> None:
    """Paint a photo stand's post from under the print down to the floor, in place."""
    x0, x1 = int(x - width / 2), int(x + width / 2)
    image[int(y_top) : floor_y + 4, x0:x1] = (55, 52, 50)
    image[int(y_top) : floor_y + 4, x0 : x0 + 2] = (85, 82, 80)
    image[floor_y : floor_y + 10, x0 - 3 * width : x1 + 3 * width] = (45, 43, 42)


def _place_matrix(
    texture_shape: tuple[int, ...], centre: tuple[float, float], angle_deg: float, scale: float
) -> Float64:
    """Affine matrix (2, 3) putting a texture's centre at ``centre``, rotated and scaled about it."""
    th, tw = texture_shape[:2]
    matrix = np.asarray(cv2.getRotationMatrix2D(((tw - 1) / 2.0, (th - 1) / 2.0), angle_deg, scale), np.float64)
    matrix[:, 2] += np.array(centre) - np.array([(tw - 1) / 2.0, (th - 1) / 2.0])
    return matrix


def tripod_blinking_photo(photo: Image, seed: int) -> Iterator[Frame]:
    """A blinking print on a stand in front of a camera on a tripod.

    Parameters
    ----------
    photo : ndarray, shape (H, W, 3), uint8
        RGB photo of a face.
    seed : int

    Yields
    ------
    (ndarray of shape (720, 1280, 3) uint8 RGB, float)
        5 s at 25 fps.  The print's face is 20-26 % of the frame's width, the
        print at most 70 % x 80 % of the frame; it stays still while the eyes
        blink 2-4 times; noise, flicker and H.264.
    """
    fps, (width, height) = 25, (1280, 720)
    rng_room, rng_place, rng_blink, rng_lid, rng_noise = np.random.default_rng(seed).spawn(5)
    texture, geometry = print_texture(photo, rng_place.uniform(0.2, 0.26) * width, (0.7 * width, 0.8 * height))
    blinking = blinking_texture(texture, geometry, rng_lid)
    blinks = blink_schedule(rng_blink)
    flicker = Flicker.draw(rng_place)
    background, floor_y = room(width, height, rng_room)
    centre = (width / 2.0 + rng_place.uniform(-0.08, 0.08) * width, height * rng_place.uniform(0.42, 0.48))
    matrix = _place_matrix(texture.shape, centre, rng_place.uniform(-2.0, 2.0), 1.0)
    _, alpha = warp_print(blinking.open_rgb, matrix, (width, height))
    bottom = float(np.nonzero(alpha.max(axis=1) > 0.5)[0].max())
    _stand(background, centre[0], bottom, floor_y, 14)
    background = background * shadow_of(alpha, (10, 14), 12.0, 0.3)[..., None]

    def render() -> Iterator[Frame]:
        for t_s in frame_times(fps):
            layer, _ = warp_print(blinking.at(closure(t_s, blinks)), matrix, (width, height))
            yield sensor(paste(background, layer, alpha), flicker.gain(t_s), rng_noise), float(t_s)

    yield from h264_roundtrip(render(), fps)


# --------------------------------------------------------------------------- attack 2: hand-held


def smooth_walk(rng: np.random.Generator, n: int, amplitude: float, smooth_frames: float) -> Float64:
    """A smooth random walk of ``n`` samples, float64 of shape (n,), peak ``|x| = amplitude``.

    White noise smoothed by a Gaussian of ``smooth_frames`` samples, integrated,
    its straight-line drift removed (the hand comes back), then scaled.
    """
    pad = int(4 * smooth_frames)
    steps = rng.standard_normal(n + 2 * pad)
    kernel = cv2.getGaussianKernel(2 * pad + 1, smooth_frames).ravel()
    walk = np.cumsum(np.convolve(steps, kernel, mode="same")[pad : pad + n])
    idx = np.arange(n, dtype=np.float64)
    walk -= np.polyval(np.polyfit(idx, walk, 1), idx)
    return np.asarray(amplitude * walk / max(1e-9, float(np.abs(walk).max())), np.float64)


@dataclass(frozen=True)
class HandPath:
    """The print's pose in every frame: rotation (deg), shift (px) and scale, arrays of shape (n,)."""

    angle: Float64
    dx: Float64
    dy: Float64
    scale: Float64

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, fps: int, size: tuple[int, int]) -> HandPath:
        """A few degrees of rotation, 1-3 % of the frame of shift and 1-3 % of scale."""
        width, height = size
        smooth = 0.25 * fps
        return cls(
            angle=smooth_walk(rng, n, rng.uniform(2.0, 4.0), smooth),
            dx=smooth_walk(rng, n, rng.uniform(0.01, 0.03) * width, smooth),
            dy=smooth_walk(rng, n, rng.uniform(0.01, 0.03) * height, smooth),
            scale=1.0 + smooth_walk(rng, n, rng.uniform(0.01, 0.03), smooth),
        )

    def at(self, i: float) -> tuple[float, float, float, float]:
        """Pose at fractional frame ``i`` (linear between frames)."""
        idx = np.arange(len(self.angle), dtype=np.float64)
        return tuple(float(np.interp(i, idx, v)) for v in (self.angle, self.dx, self.dy, self.scale))  # type: ignore[return-value]


def _thumb(texture_shape: tuple[int, ...], rng: np.random.Generator) -> tuple[Float32, Float64]:
    """A thumb gripping the print's lower edge, in texture pixels: colour (3,) and ellipse params (5,)."""
    th, tw = texture_shape[:2]
    skin = rng.uniform([185, 135, 110], [225, 175, 150])
    x = rng.uniform(0.12, 0.25) * tw if rng.random() < 0.5 else rng.uniform(0.75, 0.88) * tw
    return skin.astype(np.float32), np.array([x, th * 0.99, 0.03 * tw, 0.085 * th, rng.uniform(-15, 15)])


def _with_thumb(texture: Float32, thumb: tuple[Float32, Float64]) -> tuple[Float32, Float32]:
    """Pad a texture (h, w, 3) below with room for a thumb and paint it; returns (texture, coverage)."""
    skin, (x, y, ax, ay, angle) = thumb
    pad = int(ay * 1.2)
    th, tw = texture.shape[:2]
    out = np.zeros((th + pad, tw, 3), np.float32)
    out[:th] = texture
    cover = np.zeros((th + pad, tw), np.float32)
    cover[:th] = 1.0
    thumb_mask = np.zeros_like(cover)
    cv2.ellipse(thumb_mask, (round(x), round(y)), (round(ax), round(ay)), float(angle), 0, 360, (1.0,), -1, cv2.LINE_AA)
    yy = np.arange(th + pad, dtype=np.float32)[:, None]
    shade = (1.0 - 0.25 * np.clip((yy - (y - ay)) / (2 * ay), 0, 1))[..., None]
    out = out * (1 - thumb_mask[..., None]) + (skin * shade) * thumb_mask[..., None]
    return out, np.maximum(cover, thumb_mask)


def handheld_blinking_photo(photo: Image, seed: int) -> Iterator[Frame]:
    """A blinking print held in a hand in front of a fixed camera.

    The print's pose follows a smooth random walk (rotation of a few degrees,
    shift of 1-3 % of the frame, scale of 1-3 %), applied as an affine warp over
    a fixed room.  Where the print moves by more than 1.5 px within the
    exposure, the frame averages several sub-frame poses across the exposure
    (motion blur along the motion).

    Parameters
    ----------
    photo : ndarray, shape (H, W, 3), uint8
        RGB photo of a face.
    seed : int

    Yields
    ------
    (ndarray of shape (720, 1280, 3) uint8 RGB, float)
        5 s at 25 fps, with noise, flicker and H.264.
    """
    fps, (width, height) = 25, (1280, 720)
    rng_room, rng_place, rng_blink, rng_lid, rng_noise, rng_hand = np.random.default_rng(seed).spawn(6)
    texture, geometry = print_texture(photo, rng_place.uniform(0.2, 0.26) * width, (0.7 * width, 0.76 * height))
    blinking = blinking_texture(texture, geometry, rng_lid)
    blinks = blink_schedule(rng_blink)
    flicker = Flicker.draw(rng_place)
    background, _ = room(width, height, rng_room)
    times = frame_times(fps)
    path = HandPath.draw(rng_hand, len(times), fps, (width, height))
    thumb = _thumb(texture.shape, rng_hand)
    centre0 = np.array([width / 2.0 + rng_place.uniform(-0.06, 0.06) * width, height * rng_place.uniform(0.45, 0.5)])
    exposure = rng_place.uniform(0.5, 0.9)  # fraction of the frame period the shutter is open
    th, tw = texture.shape[:2]
    corners = np.array([[0, 0, 1], [tw, 0, 1], [0, th, 1], [tw, th, 1]], np.float64).T

    def matrix_at(i: float) -> Float64:
        angle, dx, dy, scale = path.at(i)
        return _place_matrix(texture.shape, (centre0[0] + dx, centre0[1] + dy), angle, scale)

    def render() -> Iterator[Frame]:
        for i, t_s in enumerate(times):
            rgb, cover = _with_thumb(blinking.at(closure(t_s, blinks)), thumb)
            lo, hi = i - exposure / 2.0, i + exposure / 2.0
            travel = float(np.abs(matrix_at(hi) @ corners - matrix_at(lo) @ corners).max())
            steps = 1 if travel <= 1.5 else min(12, math.ceil(travel / 1.0))
            acc = np.zeros((height, width, 3), np.float32)
            for s in range(steps):
                sub = i if steps == 1 else lo + (hi - lo) * s / (steps - 1)
                m = matrix_at(sub)
                layer = _f32(
                    cv2.warpAffine(rgb, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                )
                alpha = _f32(cv2.warpAffine(cover, m, (width, height), flags=cv2.INTER_LINEAR))
                acc += paste(background, layer, alpha)
            yield sensor(acc / steps, flicker.gain(t_s), rng_noise), float(t_s)

    yield from h264_roundtrip(render(), fps)


# --------------------------------------------------------------------------- attack 3: curved print


@dataclass(frozen=True)
class Cylinder:
    """A print bent around a vertical cylinder, in camera coordinates (x right, y down, z forward).

    Attributes
    ----------
    width, height : float
        The flat print's size (world units).
    radius : float
        Cylinder radius; the print bulges towards the camera.
    distance : float
        Depth of the print's centre line (its nearest point when unturned).
    """

    width: float
    height: float
    radius: float
    distance: float


def cylinder_maps(
    cyl: Cylinder, yaw_rad: float, focal: float, size: tuple[int, int], texture_shape: tuple[int, ...]
) -> tuple[Float32, Float32, Float32, Float32]:
    """Ray-cast every frame pixel onto the bent print.

    The print's local frame has its centre at the origin, the cylinder's
    axis at ``x = 0, z = R`` (vertical), and is turned by ``yaw_rad`` about
    the vertical line through its centre, then moved to depth ``distance``.
    A pixel's ray from the pinhole meets the cylinder's near side; the hit's
    arc length ``R * theta`` and height give the texture position.

    Parameters
    ----------
    cyl : Cylinder
    yaw_rad : float
        Turn about the vertical axis.
    focal : float
        Focal length in pixels (principal point at the frame's centre).
    size : tuple of int
        Frame ``(width, height)``.
    texture_shape : tuple of int
        ``(h, w, ...)`` of the texture.

    Returns
    -------
    map_x, map_y : ndarray, shape (height, width), float32
        Texture coordinates for :func:`cv2.remap` (-1 off the print).
    coverage : ndarray, shape (height, width), float32
        1 on the print, 0 off it.
    shading : ndarray, shape (height, width), float32
        Lambertian light falling on the print at each pixel.
    """
    width, height = size
    th, tw = texture_shape[:2]
    xs = (np.arange(width, dtype=np.float64) + 0.5 - width / 2.0) / focal
    ys = (np.arange(height, dtype=np.float64) + 0.5 - height / 2.0) / focal
    dx, dy = np.meshgrid(xs, ys)
    dz = np.ones_like(dx)
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    # World = R_y(yaw) @ local + (0, 0, distance); rays go from the origin.
    ox, oz = s * cyl.distance, -c * cyl.distance  # R^T @ (0, 0, -distance)
    lx, lz = c * dx - s * dz, s * dx + c * dz  # R^T @ d (y unchanged)
    ly = dy
    # (ox + t lx)^2 + (oz + t lz - R)^2 = R^2
    r = cyl.radius
    qa = lx**2 + lz**2
    qb = 2.0 * (ox * lx + (oz - r) * lz)
    qc = ox**2 + (oz - r) ** 2 - r**2
    disc = qb**2 - 4.0 * qa * qc
    hit = disc >= 0.0
    t = (-qb - np.sqrt(np.where(hit, disc, 0.0))) / (2.0 * qa)
    px, py, pz = ox + t * lx, t * ly, oz + t * lz
    theta = np.arctan2(px, r - pz)
    u, v = r * theta, py
    inside = hit & (t > 0) & (np.abs(u) <= cyl.width / 2.0) & (np.abs(v) <= cyl.height / 2.0)
    map_x = np.where(inside, (u / cyl.width + 0.5) * tw - 0.5, -1.0).astype(np.float32)
    map_y = np.where(inside, (v / cyl.height + 0.5) * th - 0.5, -1.0).astype(np.float32)
    # Normal of the near side, local (sin theta, 0, -cos theta), turned to world.
    nx, nz = np.sin(theta), -np.cos(theta)
    wx, wz = c * nx + s * nz, -s * nx + c * nz
    light = np.array([-0.45, -0.35, 1.0]) / np.linalg.norm([-0.45, -0.35, 1.0])  # towards the scene
    lambert = np.clip(-(wx * light[0] + wz * light[2]), 0.0, 1.0)
    shading = (0.6 + 0.42 * lambert).astype(np.float32)
    return map_x, map_y, inside.astype(np.float32), shading


@dataclass(frozen=True)
class Paper:
    """Ink on paper: ``(black + contrast * rgb) * tint``, then a mild blur.

    Attributes
    ----------
    contrast : float
        About 0.7: paper cannot show the photo's full range.
    black : float
        The ink's darkest level, 0-255.
    tint : ndarray, shape (3,), float32
        Warm paper: red kept, blue lowered a little.
    """

    contrast: float
    black: float
    tint: Float32

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Paper:
        tint = np.array([1.0, rng.uniform(0.97, 0.99), rng.uniform(0.9, 0.94)], np.float32)
        return cls(rng.uniform(0.66, 0.74), rng.uniform(0.08, 0.14) * 255.0, tint)

    def apply(self, texture: Float32) -> Float32:
        """The print of a texture of shape (H, W, 3), float32 0-255; same shape."""
        paper = (self.black + self.contrast * texture) * self.tint
        sigma = max(0.6, 0.8 * texture.shape[0] / 480.0)
        return _f32(cv2.GaussianBlur(paper, (0, 0), sigma))


def curved_print(photo: Image, seed: int, blink: bool) -> Iterator[Frame]:
    """A print bent around a vertical cylinder, slowly turned, with or without blinks.

    Parameters
    ----------
    photo : ndarray, shape (H, W, 3), uint8
        RGB photo of a face.
    seed : int
    blink : bool
        Cross-fade 2-4 blinks into the print's eyes.

    Yields
    ------
    (ndarray of shape (480, 640, 3) uint8 RGB, float)
        5 s at 30 fps: the cylinder's radius is 1-2 print widths, and it turns
        by a sinusoid of amplitude 10-20 degrees over the clip, ray-traced
        per pixel; noise, flicker and H.264.
    """
    fps, (width, height) = 30, (640, 480)
    rng_room, rng_place, rng_blink, rng_lid, rng_noise, rng_paper = np.random.default_rng(seed).spawn(6)
    focal = width / 2.0 / math.tan(math.radians(rng_place.uniform(55.0, 65.0)) / 2.0)
    oversample = 1.5  # texture pixels per frame pixel on the print, about
    face_px = oversample * rng_place.uniform(0.24, 0.3) * width
    texture, geometry = print_texture(photo, face_px, (oversample * 0.7 * width, oversample * 0.75 * height), 0.025)
    frac = texture.shape[0] / (oversample * height)  # print height / frame height
    aspect = texture.shape[1] / texture.shape[0]
    cyl = Cylinder(width=aspect, height=1.0, radius=rng_place.uniform(1.0, 2.0) * aspect, distance=0.0)
    cyl = replace(cyl, distance=focal * cyl.height / (frac * height))
    blinking = blinking_texture(texture, geometry, rng_lid)
    blinks = blink_schedule(rng_blink) if blink else ()
    paper = Paper.draw(rng_paper)
    amplitude = math.radians(rng_place.uniform(10.0, 20.0))
    phase = rng_place.uniform(0.0, 2.0 * math.pi)
    flicker = Flicker.draw(rng_place)
    background, _ = room(width, height, rng_room)

    def render() -> Iterator[Frame]:
        for t_s in frame_times(fps):
            yaw = amplitude * math.sin(2.0 * math.pi * t_s / CLIP_S + phase)
            map_x, map_y, inside, shading = cylinder_maps(cyl, yaw, focal, (width, height), texture.shape)
            printed = paper.apply(blinking.at(closure(t_s, blinks)))
            layer = cv2.remap(printed, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            edge = _f32(cv2.GaussianBlur(inside, (0, 0), 0.6))
            shadow = shadow_of(inside, (8, 10), 10.0, 0.25)
            scene = paste(background * shadow[..., None], layer * shading[..., None], edge)
            yield sensor(scene, flicker.gain(t_s), rng_noise), float(t_s)

    yield from h264_roundtrip(render(), fps)
