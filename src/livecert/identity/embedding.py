"""Face embeddings: 5-point alignment and the dlib ResNet descriptor.

A face is turned into a 128-D vector in two steps:

1. **Alignment.**  Five points (the two corners of each eye and the bottom
   of the nose, in dlib's ``shape_predictor_5_face_landmarks`` order) give a
   similarity transform (rotation, uniform scale, shift: never a stretch) to
   a 150x150 "face chip", made by :func:`dlib.get_face_chip` exactly as dlib
   does it for its own descriptor.  The five points are taken from the
   MediaPipe mesh that livecert has already computed (:func:`mesh_to_five`);
   :class:`DlibFivePoints` runs dlib's own detector and 5-point predictor
   instead, for comparison in ``benchmarks/match_threshold.py``.
2. **Descriptor.**  An :class:`Embedder` maps the chip to a vector.  In the
   test data, a photo and a live video of one person lie 0.17-0.42 apart
   (Euclidean), different people 0.37 and more (see
   :class:`~livecert.config.MatchConfig`).
   :class:`DlibEmbedder` uses ``dlib_face_recognition_resnet_model_v1.dat``
   from the ``face_recognition_models`` package.  Another backend (for
   example the same network exported to ONNX) only has to implement
   :class:`Embedder` with its own ``model_id``.

Only the 5-point landmark model is ever used: the 68-point model shipped in
the same package is under a non-commercial licence.  Models load on first
use, inside the object that uses them; nothing is loaded at import.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from livecert.arrays import FloatArray, Image
from livecert.errors import ErrorCode, InputError, ModelError, not_loaded
from livecert.io.frames import check_frame

log = logging.getLogger(__name__)


CHIP_SIZE = 150

CHIP_PADDING = 0.25

EMBEDDING_DIM = 128

#: The 128-D dlib ResNet descriptor file, and the 5-point landmark model.
DLIB_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"

DLIB_SHAPE5_FILE = "shape_predictor_5_face_landmarks.dat"

# dlib's 5 points, in its order, as weighted means of MediaPipe mesh
# landmarks.  Chosen by comparing dlib's own 5-point predictor with the mesh
# on the 42 photos of the test data (benchmarks/match_threshold.py
# --calibrate-points): rms error 0.019-0.030 of the inter-ocular distance.
#   0: outer corner of the eye on the image's right (subject's left eye)
#   1: inner corner of that eye
#   2: outer corner of the eye on the image's left (subject's right eye)
#   3: inner corner of that eye
#   4: bottom of the nose (subnasale)
MESH_TO_DLIB5: tuple[tuple[tuple[int, float], ...], ...] = (
    ((263, 1.0),),
    ((362, 0.5), (398, 0.5)),
    ((33, 1.0),),
    ((155, 0.5), (173, 0.5)),
    ((2, 0.75), (164, 0.25)),
)


def dlib_model_file(name: str) -> Path:
    """Path of a model file shipped in the ``face_recognition_models`` package.

    The package is located without importing it (its ``__init__`` needs
    ``pkg_resources``, which recent setuptools no longer provide).

    Parameters
    ----------
    name : str
        File name inside the package's ``models`` folder.

    Raises
    ------
    ModelError
        The package or the file is missing.
    """
    pip = "pip install face_recognition_models==0.3.0 (about 100 MB)"
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(not_loaded("face_recognition_models", None, pip), code=ErrorCode.MODEL_MISSING)
    for location in spec.submodule_search_locations:
        path = Path(location) / "models" / name
        if path.is_file() and path.stat().st_size > 0:
            return path
    raise ModelError(
        f"{name} was not found in face_recognition_models at {list(spec.submodule_search_locations)}; "
        f"the installation is incomplete: install it with: {pip}",
        code=ErrorCode.MODEL_MISSING,
    )


def import_dlib() -> ModuleType:
    """The ``dlib`` module, imported on first use.

    Raises
    ------
    ModelError
        ``MODEL_MISSING`` when dlib is not installed or does not load.
    """
    try:
        import dlib
    except ImportError as exc:
        raise ModelError(not_loaded("dlib", exc, "pip install dlib-bin"), code=ErrorCode.MODEL_MISSING) from None
    module: ModuleType = dlib
    return module


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns an aligned face chip into an identity vector.

    Attributes
    ----------
    model_id : str
        Names the model (and its version); enrollments made with another
        ``model_id`` cannot be compared with this one's vectors.
    """

    model_id: str

    def embed(self, aligned_face: Image) -> FloatArray:
        """Descriptor of one aligned face.

        Parameters
        ----------
        aligned_face : ndarray of uint8, shape (150, 150, 3)
            RGB chip made by :func:`align_face`.

        Returns
        -------
        ndarray of float32, shape (128,)
        """
        ...


class DlibEmbedder:
    """dlib's ResNet face descriptor (``dlib_face_recognition_resnet_model_v1``).

    99.38 % on LFW with dlib's reference threshold 0.6.  About 70-80 ms per
    face on one CPU core.  The 22 MB model loads on the first call to
    :meth:`embed` (0.15 s); keep one instance per process or session.

    Parameters
    ----------
    model_path : Path, optional
        Model file; default: the copy in ``face_recognition_models``.
    """

    model_id = "dlib_face_recognition_resnet_model_v1"

    def __init__(self, model_path: str | Path | None = None) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self._net: Any = None

    def _load(self) -> Any:
        if self._net is None:
            dlib = import_dlib()
            path = self._model_path or dlib_model_file(DLIB_RESNET_FILE)
            if not path.is_file():
                raise ModelError(f"{path}: face descriptor model not found", code=ErrorCode.MODEL_MISSING)
            try:
                self._net = dlib.face_recognition_model_v1(str(path))
            except RuntimeError as exc:
                raise ModelError(
                    f"{path}: not a dlib face descriptor model ({exc})", code=ErrorCode.MODEL_UNUSABLE
                ) from None
            log.debug("loaded %s", path)
        return self._net

    def embed(self, aligned_face: Image) -> FloatArray:
        """See :meth:`Embedder.embed`."""
        chip = _check_chip(aligned_face)
        vec = self._load().compute_face_descriptor(chip)
        return np.asarray(vec, dtype=np.float32).reshape(EMBEDDING_DIM)


def mesh_to_five(points: FloatArray) -> FloatArray:
    """dlib's five alignment points from a MediaPipe face mesh.

    Parameters
    ----------
    points : ndarray, shape (478, 3) or (478, 2)
        Mesh landmarks in pixels.

    Returns
    -------
    ndarray of float64, shape (5, 2)
        In dlib's ``shape_predictor_5`` order (see ``MESH_TO_DLIB5``).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != 478 or pts.shape[1] not in (2, 3):
        raise InputError(f"face landmarks must have shape (478, 3), got {pts.shape}", code=ErrorCode.BAD_LANDMARKS)
    if not np.all(np.isfinite(pts[:, :2])):
        raise InputError("face landmarks contain nan or inf", code=ErrorCode.BAD_LANDMARKS)
    return np.array([sum(w * pts[i, :2] for i, w in spec) for spec in MESH_TO_DLIB5], dtype=np.float64)


def align_face(rgb: Image, five: FloatArray, *, size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> Image:
    """Cut out an upright face chip with dlib's alignment.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
    five : ndarray, shape (5, 2)
        Points in dlib's 5-point order, pixels of ``rgb``.
    size : int
        Chip side in pixels (the dlib descriptor needs 150).
    padding : float
        Border around the face as a fraction of the face size (dlib: 0.25).

    Returns
    -------
    ndarray of uint8, shape (size, size, 3)
    """
    dlib = import_dlib()
    five = np.asarray(five, dtype=np.float64).reshape(5, 2)
    parts = [dlib.point(round(float(x)), round(float(y))) for x, y in five]
    x0, y0 = np.floor(five.min(axis=0)).astype(int)
    x1, y1 = np.ceil(five.max(axis=0)).astype(int)
    shape = dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)), parts)
    chip = dlib.get_face_chip(np.ascontiguousarray(rgb), shape, size=size, padding=padding)
    return np.asarray(chip, dtype=np.uint8)


def _check_chip(chip: object) -> Image:
    if not isinstance(chip, np.ndarray) or chip.dtype != np.uint8 or chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
        got = f"{chip.dtype} {chip.shape}" if isinstance(chip, np.ndarray) else type(chip).__name__
        raise InputError(
            f"an aligned face must be a uint8 array of shape ({CHIP_SIZE}, {CHIP_SIZE}, 3), got {got}",
            code=ErrorCode.BAD_FRAME,
        )
    return np.ascontiguousarray(chip)


def face_distance(a: FloatArray, b: FloatArray) -> float:
    """Euclidean distance between two descriptors of shape (128,)."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def embed_faces(candidates: Sequence[tuple[Image, FloatArray]], embedder: Embedder) -> FloatArray:
    """Descriptors of faces given by their mesh.

    Parameters
    ----------
    candidates : sequence of (rgb, points)
        ``rgb`` uint8 (H, W, 3); ``points`` (478, 3) mesh landmarks in its pixels.
    embedder : Embedder

    Returns
    -------
    ndarray of float32, shape (N, 128)
    """

    out = np.empty((len(candidates), EMBEDDING_DIM), dtype=np.float32)
    for i, item in enumerate(candidates):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise InputError(f"candidate {i}: expected an (rgb, points) pair", code=ErrorCode.BAD_ARGUMENT)
        rgb = check_frame(item[0], f"candidate {i}")
        out[i] = embedder.embed(align_face(rgb, mesh_to_five(item[1])))
    return out


def template_distance(
    embeddings: FloatArray, enrolled: FloatArray, *, outlier_radius: float = 0.45
) -> tuple[float, FloatArray]:
    """Distance between a live face template and the enrolled descriptor.

    The template is the mean of the frames' descriptors, leaving out frames
    farther than ``outlier_radius`` from their element-wise median (a
    different face picked up by mistake; in single-shot test videos frames
    lie within 0.36 of it).  Averaging descriptors cancels per-frame noise
    (expression, blur): on the test videos it lowered the largest genuine
    distance from 0.49 (median of per-frame distances) to 0.42 while the
    closest impostor moved only from 0.372 to 0.369.

    Parameters
    ----------
    embeddings : ndarray, shape (N, 128)
    enrolled : ndarray, shape (128,)
    outlier_radius : float

    Returns
    -------
    distance : float
        ``nan`` when ``N == 0``.
    per_frame : ndarray of float64, shape (N,)
        Each frame's own distance to ``enrolled``.
    """
    e = np.asarray(embeddings, dtype=np.float64).reshape(-1, EMBEDDING_DIM)
    ref = np.asarray(enrolled, dtype=np.float64)
    per_frame = np.linalg.norm(e - ref, axis=1)
    if e.shape[0] == 0:
        return math.nan, per_frame
    keep = np.linalg.norm(e - np.median(e, axis=0), axis=1) <= outlier_radius
    if not keep.any():
        keep[:] = True
    return float(np.linalg.norm(e[keep].mean(axis=0) - ref)), per_frame
