"""Finding a face and its five alignment points in a photo: MediaPipe first, dlib's HOG
detector and five-point model for small faces MediaPipe misses."""

from __future__ import annotations

from typing import Any

import numpy as np

from livecert.arrays import FloatArray, Image
from livecert.config import LandmarkConfig
from livecert.face.landmarks import FaceLandmarker, RunningMode
from livecert.identity.embedding import DLIB_SHAPE5_FILE, dlib_model_file, import_dlib


class DlibFaceDetector:
    """dlib's HOG frontal face detector (part of dlib, no model file).

    Finds faces down to about 40 px wide anywhere in a large picture, where
    MediaPipe's short-range detector needs the face to fill about a sixth of
    the frame.  Used for enrollment photos in which MediaPipe finds no face
    (a small portrait on a scanned page), and by :class:`DlibFivePoints`.
    """

    def __init__(self) -> None:
        self._detector: Any = None

    def __call__(self, rgb: Image, *, max_side: int = 1024) -> list[tuple[float, float, float, float]]:
        """Boxes ``(x0, y0, x1, y1)`` in pixels of ``rgb``, largest first.

        The picture is reduced to ``max_side`` (aspect kept) and searched at
        twice that resolution; overlapping boxes are merged.
        """
        import cv2

        if self._detector is None:
            self._detector = import_dlib().get_frontal_face_detector()
        scale = min(1.0, max_side / max(rgb.shape[:2]))
        small = rgb
        if scale < 1.0:
            size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
            small = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
        rects = self._detector(np.ascontiguousarray(small), 1)
        boxes = sorted(
            ((r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale) for r in rects),
            key=lambda b: -(b[2] - b[0]),
        )
        kept: list[tuple[float, float, float, float]] = []
        for b in boxes:
            if all(_iou(b, k) < 0.3 for k in kept):
                kept.append(b)
        return kept


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class DlibFivePoints:
    """dlib's HOG face detector and 5-point landmark predictor.

    An alternative to :func:`mesh_to_five`, used to validate the mesh
    mapping in ``benchmarks/match_threshold.py``; models load on first use.
    """

    def __init__(self) -> None:
        self._detector = DlibFaceDetector()
        self._predictor: Any = None

    def __call__(self, rgb: Image) -> FloatArray | None:
        """Five points of the largest face, float64 (5, 2), or None when no face is found."""
        dlib = import_dlib()
        if self._predictor is None:
            self._predictor = dlib.shape_predictor(str(dlib_model_file(DLIB_SHAPE5_FILE)))
        boxes = self._detector(rgb, max_side=max(rgb.shape[:2]))
        if not boxes:
            return None
        rect = dlib.rectangle(*(round(v) for v in boxes[0]))
        shape = self._predictor(np.ascontiguousarray(rgb), rect)
        return np.array([(shape.part(i).x, shape.part(i).y) for i in range(5)], dtype=np.float64)


def find_face(rgb: Image, landmark_config: LandmarkConfig | None = None) -> tuple[FloatArray | None, int]:
    """Mesh of a still photo's face (or None) and the number of faces seen.

    Returns ``(points, n_faces)``: ``points`` float32 (478, 3) in pixels of
    ``rgb`` when exactly one usable face was found.

    MediaPipe first; when it finds nothing (its detector needs a face filling
    about a sixth of the picture), dlib's HOG detector looks for smaller
    faces and the mesh is run again on a square crop around the one found.
    """

    landmark_config = landmark_config or LandmarkConfig()

    with FaceLandmarker(landmark_config, mode=RunningMode.IMAGE, max_faces=3) as landmarker:
        obs = landmarker.process(rgb)
        if obs.points is not None or obs.n_faces > 1:
            return obs.points, max(1 if obs.points is not None else 0, obs.n_faces)
        boxes = DlibFaceDetector()(rgb)
        if not boxes:
            return None, 0
        big = boxes[0][2] - boxes[0][0]
        n = sum(1 for b in boxes if b[2] - b[0] >= landmark_config.face_count_min_relative_size * big)
        if n > 1:
            return None, n
        x0, y0, x1, y1 = boxes[0]
        half = 1.5 * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        h, w = rgb.shape[:2]
        left, top = max(0, round(cx - half)), max(0, round(cy - half))
        crop = np.ascontiguousarray(rgb[top : min(h, round(cy + half)), left : min(w, round(cx + half))])
        if min(crop.shape[:2]) < 16:
            return None, 0
        sub = landmarker.process(crop)
    if sub.points is None:
        return None, 0
    points = sub.points.copy()
    points[:, 0] += left
    points[:, 1] += top
    return points, 1
