"""Measurements from face mesh landmarks: eyelid and mouth aperture, face
width and head pose.  Pure numpy; every function takes the ``(478, 3)``
points of one face in pixel units.
"""

from __future__ import annotations

import math

import numpy as np

from livecert.arrays import FloatArray, IntArray

# Upper/lower eyelid landmark pairs, outer to inner, and the eye corners.
# "Right" and "left" are the subject's own (the right eye is on the image's left).
RIGHT_EYE_LIDS = np.array([(161, 163), (160, 144), (159, 145), (158, 153), (157, 154)])

RIGHT_EYE_CORNERS = (33, 133)

LEFT_EYE_LIDS = np.array([(388, 390), (387, 373), (386, 374), (385, 380), (384, 381)])

LEFT_EYE_CORNERS = (263, 362)

# Inner-lip pairs (upper, lower), left to right.
INNER_LIPS = np.array([(82, 87), (13, 14), (312, 317)])

# Outer lip midpoints: top of the upper lip, bottom of the lower lip.
OUTER_LIPS = (0, 17)

CHEEKS = (234, 454)

FOREHEAD, CHIN = 10, 152

NOSE_TIP = 1

# The nose bridge between the eyes and the point under the nose: a vertical length of the
# rigid face, which a turn to the side does not shorten.
NOSE_BRIDGE, SUBNASALE = 168, 2


def _dist2d(points: FloatArray, a: IntArray | int, b: IntArray | int) -> FloatArray:
    d: FloatArray = np.linalg.norm(points[a, :2] - points[b, :2], axis=-1)
    return d


def eye_aperture(points: FloatArray, lids: IntArray, corners: tuple[int, int]) -> float:
    """Mean eyelid gap over five lid pairs divided by the eye's width.

    About 0.25-0.35 for an open eye, near 0.05 when shut.

    Parameters
    ----------
    points : ndarray of float, shape (478, 3)
    lids : ndarray of int, shape (5, 2)
        (upper, lower) landmark pairs, e.g. :data:`LEFT_EYE_LIDS`.
    corners : (int, int)
        The eye's corner landmarks, e.g. :data:`LEFT_EYE_CORNERS`.
    """
    width = float(_dist2d(points, corners[0], corners[1]))
    if width <= 1e-6:
        return math.nan
    return float(np.mean(_dist2d(points, lids[:, 0], lids[:, 1]))) / width


def eye_apertures(points: FloatArray) -> tuple[float, float]:
    """Aperture of the subject's (left, right) eye."""
    return (
        eye_aperture(points, LEFT_EYE_LIDS, LEFT_EYE_CORNERS),
        eye_aperture(points, RIGHT_EYE_LIDS, RIGHT_EYE_CORNERS),
    )


def eye_width_ratio(points: FloatArray) -> float:
    """Mean width of the two eyes (corner to corner) over the nose's length (bridge to base).

    A face turning to the side, or a picture of one turned, narrows the eyes in the image
    but not the nose's vertical length; a blink changes neither.  :func:`eye_apertures`
    divide the lid gap by the eye's width, so this ratio is what undoes that
    foreshortening (:func:`livecert.liveness.blink.detect_blinks`).
    """
    length = float(_dist2d(points, NOSE_BRIDGE, SUBNASALE))
    if length <= 1e-6:
        return math.nan
    corners = np.array([LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS])
    return float(np.mean(_dist2d(points, corners[:, 0], corners[:, 1]))) / length


def face_width(points: FloatArray) -> float:
    """Cheek-to-cheek distance in pixels."""
    return float(_dist2d(points, CHEEKS[0], CHEEKS[1]))


def mouth_aperture(points: FloatArray) -> float:
    """Mean inner-lip gap divided by face width (0 when closed, ~0.1-0.2 open)."""
    width = face_width(points)
    if width <= 1e-6:
        return math.nan
    return float(np.mean(_dist2d(points, INNER_LIPS[:, 0], INNER_LIPS[:, 1]))) / width


def mouth_height(points: FloatArray) -> float:
    """Outer-lip height (top of the upper lip to the bottom of the lower lip)
    divided by face width.  It follows the jaw as well as the lips, which
    tracks speech loudness better than the inner-lip gap."""
    width = face_width(points)
    if width <= 1e-6:
        return math.nan
    return float(_dist2d(points, OUTER_LIPS[0], OUTER_LIPS[1])) / width


def head_pose_deg(points: FloatArray) -> tuple[float, float]:
    """Approximate (yaw, pitch) in degrees from the mesh's 3-D points.

    Yaw is the rotation of the cheek-to-cheek line out of the image plane,
    pitch that of the forehead-to-chin line; 0 for a frontal face.
    """
    d = points[CHEEKS[1]] - points[CHEEKS[0]]
    yaw = math.degrees(math.atan2(float(d[2]), float(math.hypot(d[0], d[1]))))
    v = points[CHIN] - points[FOREHEAD]
    pitch = math.degrees(math.atan2(float(v[2]), float(math.hypot(v[0], v[1]))))
    return yaw, pitch


def face_box(points: FloatArray, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer bounding box ``(x0, y0, x1, y1)`` of the mesh, clipped to the frame."""
    x0, y0 = np.floor(points[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(points[:, :2].max(axis=0)).astype(int)
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)
