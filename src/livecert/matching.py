"""Face matching: enroll a photo, then compare a few live frames with it.

Usage::

    enrollment = enroll("pensioner.jpg")          # EnrollmentError if unusable
    enrollment.save("pensioner.npz")
    pool = FramePool(size=MatchConfig().max_frames)   # during the live session
    pool.offer_frame(rgb, points, t_s, quality, eye_aperture)  # quality: livecert.quality.measure()
    result = match_faces(Enrollment.load("pensioner.npz"), pool.candidates())

Faces are aligned with five points from the MediaPipe mesh and described by
an :class:`~livecert.embedding.Embedder` (dlib's ResNet by default); the
live face is the mean descriptor of the frames used
(:func:`~livecert.embedding.template_distance`).  The default threshold was
chosen on real data by ``benchmarks/match_threshold.py``.
"""

from __future__ import annotations

import io
import logging
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from livecert.config import LandmarkConfig, MatchConfig
from livecert.embedding import (
    DlibEmbedder,
    Embedder,
    align_face,
    embed_faces,
    find_face,
    mesh_to_five,
    template_distance,
)
from livecert.errors import InputError
from livecert.quality import FrameQuality, measure
from livecert.results import FLAG_BLURRY, FLAG_FACE_TOO_SMALL, FLAG_FACE_TURNED, FLAG_TOO_DARK, ReasonCode

log = logging.getLogger(__name__)

#: Version of the enrollment file layout written by :meth:`Enrollment.save`.
ENROLLMENT_FORMAT_VERSION = 1
_FORMAT_TAG = "livecert-enrollment"
_MAX_FILE_BYTES = 1_000_000
_MAX_SIDE = 2048


#: What to do about an unusable enrollment photo, (English, Chinese).  The
#: live-session wording ("move closer to the camera") does not fit a photo.
ENROLL_MESSAGES: dict[ReasonCode, tuple[str, str]] = {
    ReasonCode.NO_FACE: (
        "No face was found in the enrollment photo. Use a photo that shows the whole face from the front.",
        "登记照片中未检测到人脸。请使用正面、完整露出面部的照片。",
    ),
    ReasonCode.MULTIPLE_FACES: (
        "The enrollment photo shows more than one face. Use a photo of the enrolled person alone.",
        "登记照片中有多张人脸。请使用只有本人的照片。",
    ),
    ReasonCode.FACE_TOO_SMALL: (
        "The face in the enrollment photo is too small. Use a closer photo or one with a higher resolution.",
        "登记照片中的人脸太小。请使用近一些或分辨率更高的照片。",
    ),
    ReasonCode.TOO_DARK: (
        "The enrollment photo is too dark. Use a photo taken in good light.",
        "登记照片太暗。请使用光线充足时拍摄的照片。",
    ),
    ReasonCode.BLURRY: (
        "The enrollment photo is blurred. Use a sharp photo.",
        "登记照片模糊。请使用清晰的照片。",
    ),
    ReasonCode.FACE_TURNED: (
        "The face in the enrollment photo is turned away. Use a photo taken from the front.",
        "登记照片中的脸部偏转。请使用正面照片。",
    ),
}


class EnrollmentError(InputError):
    """The enrollment photo cannot be used; ``code`` is a :class:`ReasonCode`
    (a ``str`` enum): ``NO_FACE``, ``MULTIPLE_FACES``, ``FACE_TOO_SMALL``,
    ``TOO_DARK``, ``BLURRY`` or ``FACE_TURNED``; the message says what photo
    to use instead (:data:`ENROLL_MESSAGES`); ``message`` is the English text,
    :meth:`message_in` gives either language."""

    default_code = ReasonCode.NO_FACE.value

    def __init__(self, code: ReasonCode, detail: str = "") -> None:
        code = ReasonCode(code)
        super().__init__(self._text(code, "en", detail), code=code.value)
        self.code: ReasonCode = code
        self.detail = detail

    @staticmethod
    def _text(code: ReasonCode, lang: str, detail: str) -> str:
        en, zh = ENROLL_MESSAGES.get(code, (code.message_en, code.message_zh))
        return (zh if lang == "zh" else en) + (f" ({detail})" if detail else "")

    def message_in(self, lang: str = "en") -> str:
        """The message in ``"en"`` or ``"zh"`` (``message``, as on every
        :class:`~livecert.errors.LivecertError`, is the English one)."""
        return self._text(self.code, lang, self.detail)


@dataclass(frozen=True, eq=False)
class Enrollment:
    """The enrolled face: what a live video is compared with.

    Attributes
    ----------
    embedding : ndarray of float32, shape (128,)
    landmarks : ndarray of float32, shape (478, 3)
        Face mesh of the photo, pixels of the (upright, at most 2048 px) image.
    quality : FrameQuality
        Face width, brightness, sharpness and pose measured on the photo.
    model_id : str
        The :class:`~livecert.embedding.Embedder` that made ``embedding``.
    version : int
        File layout version (:data:`ENROLLMENT_FORMAT_VERSION`).
    """

    embedding: np.ndarray
    landmarks: np.ndarray
    quality: FrameQuality
    model_id: str
    version: int = ENROLLMENT_FORMAT_VERSION

    def save(self, path: str | Path) -> None:
        """Write a small ``.npz`` file (about 7 kB, no pickle) at exactly ``path``, atomically."""
        path = Path(path)
        q = self.quality
        buf = io.BytesIO()
        np.savez(
            buf,
            format=np.array(_FORMAT_TAG),
            version=np.array(self.version, dtype=np.int64),
            model_id=np.array(self.model_id),
            embedding=np.asarray(self.embedding, dtype=np.float32),
            landmarks=np.asarray(self.landmarks, dtype=np.float32),
            quality=np.array(
                [q.face_width_px, q.brightness, q.sharpness, q.yaw_deg, q.pitch_deg, q.flags], dtype=np.float64
            ),
        )
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_bytes(buf.getvalue())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise InputError(f"{path}: cannot write the enrollment ({exc})", code="CANNOT_WRITE") from None

    @classmethod
    def load(cls, path: str | Path, *, model_id: str = DlibEmbedder.model_id) -> Enrollment:
        """Read a file written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
        model_id : str
            The embedder it will be compared with; another model's file is refused.

        Raises
        ------
        InputError
            Missing (``FILE_NOT_FOUND``), corrupt or foreign (``BAD_ENROLLMENT``),
            another format version (``ENROLLMENT_VERSION``) or another model
            (``ENROLLMENT_MODEL_MISMATCH``).
        """
        path = Path(path)
        bad = f"{path}: not a livecert enrollment file"
        try:
            if path.stat().st_size > _MAX_FILE_BYTES:
                raise ValueError(f"larger than {_MAX_FILE_BYTES} bytes")
            with np.load(path, allow_pickle=False) as data:
                fields = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise InputError(f"{path}: enrollment file not found", code="FILE_NOT_FOUND") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"{bad} ({type(exc).__name__}: {exc})", code="BAD_ENROLLMENT") from None
        try:
            tag, version, file_model = str(fields["format"]), int(fields["version"]), str(fields["model_id"])
            embedding, landmarks, qv = fields["embedding"], fields["landmarks"], fields["quality"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{bad} (missing or malformed field {exc})", code="BAD_ENROLLMENT") from None
        if tag != _FORMAT_TAG:
            raise InputError(bad, code="BAD_ENROLLMENT")
        if version != ENROLLMENT_FORMAT_VERSION:
            raise InputError(
                f"{path}: enrollment format version {version}, this livecert reads version "
                f"{ENROLLMENT_FORMAT_VERSION}; enroll the photo again",
                code="ENROLLMENT_VERSION",
            )
        if file_model != model_id:
            raise InputError(
                f"{path}: enrolled with face model {file_model!r}, but matching uses {model_id!r}; "
                "enroll the photo again with the current model",
                code="ENROLLMENT_MODEL_MISMATCH",
            )
        shapes = (embedding.shape, landmarks.shape, qv.shape)
        if shapes != ((128,), (478, 3), (6,)) or not np.all(np.isfinite(embedding)):
            raise InputError(f"{bad} (fields have wrong shapes or values)", code="BAD_ENROLLMENT")
        quality = FrameQuality(*(float(v) for v in qv[:5]), int(qv[5]))
        return cls(_frozen(embedding, np.float32), _frozen(landmarks, np.float32), quality, file_model, version)


@dataclass(frozen=True)
class MatchResult:
    """Outcome of comparing the live face with the enrollment: ``passed`` is
    ``distance <= threshold`` with at least one frame used; ``distance`` is that
    of the frames' mean descriptor (``nan`` without frames); ``frame_distances``
    (each frame's own, not in ``to_dict()``) are for diagnosis."""

    passed: bool
    distance: float
    threshold: float
    frames_used: int
    frame_distances: tuple[float, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        """``{"passed", "distance", "threshold", "frames_used"}``; distance is null if nan."""
        return {
            "passed": self.passed,
            "distance": round(self.distance, 4) if math.isfinite(self.distance) else None,
            "threshold": self.threshold,
            "frames_used": self.frames_used,
        }


def _frozen(a: np.ndarray, dtype: Any) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def _as_rgb(photo: np.ndarray) -> np.ndarray:
    from livecert.capture import check_frame

    if isinstance(photo, np.ndarray) and photo.dtype == np.uint8:
        if photo.ndim == 2:
            photo = np.repeat(photo[:, :, None], 3, axis=2)
        elif photo.ndim == 3 and photo.shape[2] == 4:
            photo = photo[:, :, :3]
    rgb = check_frame(photo, "enrollment photo")
    if max(rgb.shape[:2]) > _MAX_SIDE:  # same reduction as read_image_rgb; aspect ratio kept
        import cv2

        s = _MAX_SIDE / max(rgb.shape[:2])
        size = (max(16, round(rgb.shape[1] * s)), max(16, round(rgb.shape[0] * s)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


_ENROLL_PROBLEMS = (
    (FLAG_FACE_TOO_SMALL, ReasonCode.FACE_TOO_SMALL),
    (FLAG_TOO_DARK, ReasonCode.TOO_DARK),
    (FLAG_FACE_TURNED, ReasonCode.FACE_TURNED),
    (FLAG_BLURRY, ReasonCode.BLURRY),
)


def enroll(
    photo: str | Path | np.ndarray,
    *,
    config: MatchConfig | None = None,
    embedder: Embedder | None = None,
    landmark_config: LandmarkConfig | None = None,
) -> Enrollment:
    """Enroll the one face of a photo.

    Parameters
    ----------
    photo : str, Path or ndarray of uint8, shape (H, W, 3)
        Image file (EXIF orientation, grayscale, CMYK, alpha and huge images
        are handled) or an RGB array ((H, W) gray and (H, W, 4) RGBA too).
    config : MatchConfig, optional
    embedder : Embedder, optional
        Default: a new :class:`~livecert.embedding.DlibEmbedder`.
    landmark_config : LandmarkConfig, optional

    Raises
    ------
    EnrollmentError
        No face, several faces, or a face too small, dark, turned or blurred.
    InputError
        The file or array cannot be read at all.
    ModelError
        The face models are not installed.
    """
    from livecert.imageio import read_image_rgb

    cfg = config or MatchConfig()
    rgb = _as_rgb(photo) if isinstance(photo, np.ndarray) else read_image_rgb(photo, max_side=_MAX_SIDE)
    points, n_faces = find_face(rgb, landmark_config or LandmarkConfig())
    if n_faces > 1:
        raise EnrollmentError(ReasonCode.MULTIPLE_FACES, f"{n_faces} faces found")
    if points is None:
        raise EnrollmentError(ReasonCode.NO_FACE, f"no face found in the {rgb.shape[1]}x{rgb.shape[0]} photo")
    quality = measure(rgb, points, 1, cfg.enrollment_quality())
    details = {
        ReasonCode.FACE_TOO_SMALL: f"face {quality.face_width_px:.0f} px wide, need {cfg.enroll_min_face_width_px:.0f}",
        ReasonCode.TOO_DARK: f"brightness {quality.brightness:.0f}, need {cfg.enroll_min_brightness:.0f}",
        ReasonCode.FACE_TURNED: f"yaw {quality.yaw_deg:.0f} deg, pitch {quality.pitch_deg:.0f} deg",
        ReasonCode.BLURRY: f"sharpness {quality.sharpness:.1f}, need {cfg.enroll_min_sharpness:.0f}",
    }
    for bit, code in _ENROLL_PROBLEMS:
        if quality.flags & bit:
            raise EnrollmentError(code, details[code])
    emb = embedder or DlibEmbedder()
    vector = emb.embed(align_face(rgb, mesh_to_five(points)))
    log.debug("enrolled face %.0f px wide, yaw %.1f deg", quality.face_width_px, quality.yaw_deg)
    return Enrollment(_frozen(vector, np.float32), _frozen(points, np.float32), quality, emb.model_id)


def frame_score(yaw_deg: float, pitch_deg: float, sharpness: float, eye_ratio: float) -> float:
    """How well a live frame suits face matching, 0 (unusable) to 1.

    The product of three terms: frontal pose ``exp(-((yaw/20)^2 +
    (pitch/25)^2) / 2)``, sharpness ``s / (s + 50)`` (Laplacian variance as
    in :class:`~livecert.quality.FrameQuality`) and open eyes, rising from 0
    at an eye aperture (lid gap / eye width, mean of both eyes) of 0.10 to 1
    at 0.18 and above.  ``nan`` inputs score 0.
    """
    values = (yaw_deg, pitch_deg, sharpness, eye_ratio)
    if not all(math.isfinite(float(v)) for v in values):
        return 0.0
    pose = math.exp(-0.5 * ((yaw_deg / 20.0) ** 2 + (pitch_deg / 25.0) ** 2))
    sharp = max(0.0, sharpness) / (max(0.0, sharpness) + 50.0)
    eyes = min(1.0, max(0.0, (eye_ratio - 0.10) / 0.08))
    return float(pose * sharp * eyes)


class FramePool:
    """Keeps the few best frames of a live stream for face matching.

    Memory stays at ``size`` frames.  A frame closer than ``min_gap_s`` to
    frames already kept replaces them only if it scores higher than all of
    them; otherwise it takes a free place or the place of the worst frame.

    Parameters
    ----------
    size : int
        Frames kept (use ``MatchConfig.max_frames``).
    min_gap_s : float
    """

    def __init__(self, size: int = 5, min_gap_s: float = 0.3) -> None:
        if size < 1:
            raise InputError(f"FramePool size must be at least 1, got {size}", code="BAD_ARGUMENT")
        self.size = size
        self.min_gap_s = min_gap_s
        self._items: list[tuple[float, float, np.ndarray, np.ndarray]] = []  # (score, t, rgb, points)

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, rgb: np.ndarray, points: np.ndarray, t_s: float, score: float) -> bool:
        """Consider a frame: ``rgb`` uint8 (H, W, 3), its mesh ``points`` (478, 3),
        time ``t_s`` and :func:`frame_score` (0 is ignored).  True if kept."""
        if not score > 0:
            return False
        near = [it for it in self._items if abs(it[1] - t_s) < self.min_gap_s]
        if near:
            if score <= max(it[0] for it in near):
                return False
            self._items = [it for it in self._items if all(it is not n for n in near)]
        elif len(self._items) >= self.size:
            worst = min(self._items, key=lambda it: it[0])
            if score <= worst[0]:
                return False
            self._items.remove(worst)
        self._items.append((float(score), float(t_s), np.array(rgb, copy=True), np.array(points, copy=True)))
        return True

    def offer_frame(
        self, rgb: np.ndarray, points: np.ndarray, t_s: float, quality: FrameQuality, eye_aperture: float
    ) -> bool:
        """Consider a tracked frame by its quality: only frames without quality
        problems are offered, scored by :func:`frame_score`.

        Parameters
        ----------
        rgb : ndarray of uint8, shape (H, W, 3)
        points : ndarray, shape (478, 3)
        t_s : float
        quality : FrameQuality
            From :func:`livecert.quality.measure` for this frame.
        eye_aperture : float
            Mean aperture of both eyes (:func:`livecert.geometry.eye_apertures`).
        """
        if quality.flags:
            return False
        score = frame_score(quality.yaw_deg, quality.pitch_deg, quality.sharpness, eye_aperture)
        return self.offer(rgb, points, t_s, score)

    def candidates(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Kept ``(rgb, points)`` pairs, best score first."""
        return [(rgb, pts) for _, _, rgb, pts in sorted(self._items, key=lambda it: -it[0])]

    def times(self) -> list[float]:
        """Timestamps of the kept frames, best score first."""
        return [t for _, t, _, _ in sorted(self._items, key=lambda it: -it[0])]


def match_faces(
    enrollment: Enrollment,
    candidates: Sequence[tuple[np.ndarray, np.ndarray]],
    config: MatchConfig | None = None,
    *,
    embedder: Embedder | None = None,
) -> MatchResult:
    """Compare live frames with the enrollment.

    Parameters
    ----------
    enrollment : Enrollment
    candidates : sequence of (rgb, points)
        Frames chosen by the caller, best first (:meth:`FramePool.candidates`):
        ``rgb`` uint8 (H, W, 3), ``points`` (478, 3) mesh in its pixels.  The
        first ``config.max_frames`` are used.
    config : MatchConfig, optional
    embedder : Embedder, optional
        With the enrollment's ``model_id``; default a new
        :class:`~livecert.embedding.DlibEmbedder` (its model loads in 0.15 s).

    Returns
    -------
    MatchResult
        ``passed=False``, ``frames_used=0`` when there is no candidate.
    """
    cfg = config or MatchConfig()
    emb = embedder or DlibEmbedder()
    if enrollment.model_id != emb.model_id:
        raise InputError(
            f"the enrollment was made with {enrollment.model_id!r} but the embedder is {emb.model_id!r}; "
            "enroll the photo again",
            code="ENROLLMENT_MODEL_MISMATCH",
        )
    used = list(candidates)[: cfg.max_frames]
    if not used:
        return MatchResult(False, math.nan, cfg.threshold, 0)
    distance, per_frame = template_distance(embed_faces(used, emb), enrollment.embedding)
    passed = bool(distance <= cfg.threshold)
    log.debug("face distance %.3f over %d frames (threshold %.2f)", distance, len(used), cfg.threshold)
    return MatchResult(passed, distance, cfg.threshold, len(used), tuple(float(x) for x in per_frame))
