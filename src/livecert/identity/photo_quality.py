"""Enrollment photo checks beyond size, light, sharpness and pose: closed eyes
and glare on glasses.

Both read the photo's MediaPipe face mesh (:mod:`livecert.face.landmarks`):
the eyelid gap (:func:`livecert.face.geometry.eye_apertures`) and the pixels
of the lens area around each eye, where a light reflected by the lens shows
as small, near-white, colourless spots much brighter than what surrounds
them.  The eye opening itself (where the cornea's own catchlight lies) is
left out of the lens area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livecert.arrays import BoolArray, FloatArray, Image
from livecert.face import geometry

#: Eye outline landmarks of the subject's right eye (image left), around the lid margin.
RIGHT_EYE_OUTLINE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)

#: Eye outline landmarks of the subject's left eye (image right).
LEFT_EYE_OUTLINE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)

# Lens area around an eye, in eye widths (corner to corner): half-width, half-height
# of the ellipse centred on the eye, and the margin kept clear around the eye opening.
_LENS_HALF_WIDTH = 0.95
_LENS_HALF_HEIGHT = 0.65
_OPENING_MARGIN = 0.10

# A glare pixel: its luma at least this (0-255), its saturation (HSV, 0-255) at most
# this, and brighter than the median of its surroundings by at least this much.
_GLARE_MIN_LUMA = 225
_GLARE_MAX_SATURATION = 60
_GLARE_MIN_CONTRAST = 35
# Surroundings: a median filter this many eye widths across (odd pixel count); a bright
# area wider than about half of it is its own surroundings, so only small spots count.
_SURROUND_EYE_WIDTHS = 0.35
# Eyes are resampled to this width before measuring, so that the limits above do not
# depend on the photo's resolution.
_EYE_WIDTH_PX = 40


@dataclass(frozen=True)
class EyeMeasures:
    """What :func:`measure_eyes` reads from one photo's eyes.

    Attributes
    ----------
    aperture : float
        The wider-open eye's lid gap over its width (``max`` of
        :func:`~livecert.face.geometry.eye_apertures`): about 0.2-0.35 open,
        lower shut (the mesh seldom closes fully on a small face); ``nan``
        when the mesh is degenerate.
    glare : float
        Area of the glare spots in the lens area of the eye with more of
        them, as a fraction of that eye's width squared (0 without glare).
    """

    aperture: float
    glare: float


def measure_eyes(rgb: Image, points: FloatArray) -> EyeMeasures:
    """Eye openness and lens glare of one face.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
        The photo.
    points : ndarray of float, shape (478, 3)
        Its face mesh, in pixels of ``rgb``.

    Returns
    -------
    EyeMeasures
    """
    left, right = geometry.eye_apertures(points)
    apertures = [a for a in (left, right) if np.isfinite(a)]
    aperture = max(apertures) if apertures else float("nan")
    glare = max(
        lens_glare(rgb, points, RIGHT_EYE_OUTLINE, geometry.RIGHT_EYE_CORNERS),
        lens_glare(rgb, points, LEFT_EYE_OUTLINE, geometry.LEFT_EYE_CORNERS),
    )
    return EyeMeasures(float(aperture), glare)


def lens_glare(rgb: Image, points: FloatArray, outline: tuple[int, ...], corners: tuple[int, int]) -> float:
    """Glare spot area in the lens area of one eye, over the eye's width squared.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
    points : ndarray of float, shape (478, 3)
        Face mesh in pixels of ``rgb``.
    outline : tuple of int
        The eye's outline landmarks (:data:`RIGHT_EYE_OUTLINE` or :data:`LEFT_EYE_OUTLINE`).
    corners : (int, int)
        The eye's corner landmarks.

    Returns
    -------
    float
        0 when the eye region lies outside the photo or has no glare.
    """
    import cv2

    xy = points[:, :2].astype(np.float64)
    width = float(np.linalg.norm(xy[corners[0]] - xy[corners[1]]))
    if not width > 2.0:
        return 0.0
    scale = _EYE_WIDTH_PX / width
    centre = xy[list(outline)].mean(axis=0)
    half = np.array([_LENS_HALF_WIDTH, _LENS_HALF_HEIGHT]) * width
    x0, y0 = np.floor(centre - half).astype(int)
    x1, y1 = np.ceil(centre + half).astype(int) + 1
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return 0.0
    size = (max(4, round((x1 - x0) * scale)), max(4, round((y1 - y0) * scale)))
    crop: Image = np.asarray(cv2.resize(rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    to_crop = np.array([x0, y0], np.float64)
    area = _lens_area(size, (centre - to_crop) * scale, half * scale, (xy[list(outline)] - to_crop) * scale)
    spots = glare_pixels(crop) & area
    return float(np.count_nonzero(spots)) / float(_EYE_WIDTH_PX**2)


def glare_pixels(crop: Image) -> BoolArray:
    """Near-white, colourless pixels much brighter than their surroundings.

    Parameters
    ----------
    crop : ndarray of uint8, shape (H, W, 3)
        RGB pixels around one eye, resampled so that the eye is about 40 px wide.

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    import cv2

    luma = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    saturation = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)[:, :, 1]
    k = int(round(_SURROUND_EYE_WIDTHS * _EYE_WIDTH_PX)) | 1
    surround = cv2.medianBlur(luma, k)
    bright = luma.astype(np.int16) - surround.astype(np.int16) >= _GLARE_MIN_CONTRAST
    mask: BoolArray = (luma >= _GLARE_MIN_LUMA) & (saturation <= _GLARE_MAX_SATURATION) & bright
    return mask


def _lens_area(size: tuple[int, int], centre: FloatArray, half: FloatArray, outline: FloatArray) -> BoolArray:
    """Ellipse around the eye minus the eye opening (widened by a margin), shape (H, W)."""
    import cv2

    w, h = size
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(
        mask,
        (round(float(centre[0])), round(float(centre[1]))),
        (max(1, round(float(half[0]))), max(1, round(float(half[1])))),
        0.0,
        0.0,
        360.0,
        (1,),
        -1,
    )
    opening = np.zeros_like(mask)
    cv2.fillPoly(opening, [np.round(outline).astype(np.int32)], (1,))
    margin = max(1, round(_OPENING_MARGIN * _EYE_WIDTH_PX))
    grown = np.asarray(cv2.dilate(opening, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)))
    area: BoolArray = (mask > 0) & (grown == 0)
    return area
