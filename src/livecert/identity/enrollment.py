"""Enrollment: one or several photos of the pensioner turned into a stored face template.

An :class:`Enrollment` is saved as a small ``.npz`` carrying the model id and
a format version; :func:`enroll` refuses unusable photos with an
:class:`EnrollmentError` whose code says why (``NO_FACE``, ``BLURRY``,
``EYES_CLOSED``, ...), and reports problems that do not stop enrollment
(``GLASSES_GLARE``) as :class:`EnrollmentAdvice` in ``Enrollment.advice``.
Several recent photos (``enroll([a, b, c])``) make a template of several
descriptors, whose mean the live face is compared with: one photo's own
lighting, expression and camera weigh less."""

from __future__ import annotations

import io
import logging
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from livecert.arrays import AnyArray, FloatArray, Image
from livecert.config import LandmarkConfig, MatchConfig
from livecert.errors import ErrorCode, InputError
from livecert.face.quality import FrameQuality, measure
from livecert.identity.detection import find_face
from livecert.identity.embedding import DlibEmbedder, Embedder, align_face, mesh_to_five
from livecert.identity.onnx_embedder import default_embedder
from livecert.identity.photo_quality import measure_eyes
from livecert.io.files import as_path
from livecert.io.frames import check_frame
from livecert.io.images import read_image_rgb
from livecert.results import QualityFlag, ReasonCode

log = logging.getLogger(__name__)


#: Version of the enrollment file layout written by :meth:`Enrollment.save`
#: (2: a template of several descriptors; version 1 files, one descriptor, are still read).
ENROLLMENT_FORMAT_VERSION = 2

_READABLE_VERSIONS = (1, 2)

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
    ReasonCode.EYES_CLOSED: (
        "The eyes are closed in the enrollment photo. Use a photo in which both eyes are open.",
        "登记照片中的眼睛是闭着的。请使用双眼睁开的照片。",
    ),
    ReasonCode.GLASSES_GLARE: (
        "Light reflects on the glasses in the enrollment photo. If you can, take another photo with the lamp "
        "or window to one side and the glasses tilted slightly down, or without glasses.",
        "登记照片中的眼镜有反光。如有可能，请重新拍摄：让灯光或窗户在侧面，眼镜稍微向下倾斜，或摘下眼镜。",
    ),
}


class EnrollmentError(InputError):
    """The enrollment photo cannot be used.  ``code`` is the :class:`ErrorCode`
    of the photo's problem (``NO_FACE``, ``MULTIPLE_FACES``, ``FACE_TOO_SMALL``,
    ``TOO_DARK``, ``BLURRY``, ``FACE_TURNED`` or ``EYES_CLOSED``; equal to the :class:`ReasonCode`
    of the same name, which ``reason`` holds); the message says what photo to
    use instead (:data:`ENROLL_MESSAGES`); ``message`` is the English text,
    :meth:`message_in` gives either language."""

    default_code = ErrorCode.NO_FACE

    def __init__(self, code: ReasonCode, detail: str = "") -> None:
        reason = ReasonCode(code)
        super().__init__(self._text(reason, "en", detail), code=reason.value)
        self.reason = reason
        self.detail = detail

    @staticmethod
    def _text(code: ReasonCode, lang: str, detail: str) -> str:
        en, zh = ENROLL_MESSAGES.get(code, (code.message_en, code.message_zh))
        return (zh if lang == "zh" else en) + (f" ({detail})" if detail else "")

    def message_in(self, lang: str = "en") -> str:
        """The message in ``"en"`` or ``"zh"`` (``message``, as on every
        :class:`~livecert.errors.LivecertError`, is the English one)."""
        return self._text(self.reason, lang, self.detail)


@dataclass(frozen=True)
class EnrollmentAdvice:
    """A problem with an enrollment photo that did not stop enrollment, and what to do about it.

    Attributes
    ----------
    code : ReasonCode
        ``GLASSES_GLARE``.
    detail : str
        The measured figure, and which photo when several were given.
    """

    code: ReasonCode
    detail: str = ""

    def message(self, lang: str = "en") -> str:
        """What to do, in ``"en"`` or ``"zh"`` (:data:`ENROLL_MESSAGES`), with the detail."""
        return EnrollmentError._text(self.code, lang, self.detail)


@dataclass(frozen=True, eq=False)
class Enrollment:
    """The enrolled face: what a live video is compared with.

    Attributes
    ----------
    embedding : ndarray of float32, shape (128,)
        The template's mean descriptor: what the live face is compared with.
    landmarks : ndarray of float32, shape (478, 3)
        Face mesh of the first photo, pixels of the (upright, at most 2048 px) image.
    quality : FrameQuality
        Face width, brightness, sharpness and pose measured on the first photo.
    model_id : str
        The :class:`~livecert.identity.embedding.Embedder` that made ``embedding``.
    version : int
        File layout version (:data:`ENROLLMENT_FORMAT_VERSION`).
    template : ndarray of float32, shape (K, 128)
        One descriptor per enrolled photo (K from 1 to 10); left empty when
        constructing, it becomes ``embedding[None]``.
    advice : tuple of EnrollmentAdvice
        Problems of the photos that did not stop enrollment, for the clerk
        (not saved: a loaded enrollment has none).
    """

    embedding: FloatArray
    landmarks: FloatArray
    quality: FrameQuality
    model_id: str
    version: int = ENROLLMENT_FORMAT_VERSION
    template: FloatArray = field(default_factory=lambda: np.zeros((0, 128), np.float32))
    advice: tuple[EnrollmentAdvice, ...] = ()

    def __post_init__(self) -> None:
        if np.asarray(self.template).size == 0:
            object.__setattr__(self, "template", _frozen(np.asarray(self.embedding).reshape(1, -1), np.float32))

    @property
    def n_photos(self) -> int:
        """Photos (descriptors) in the template."""
        return int(self.template.shape[0])

    def __repr__(self) -> str:
        """One short line: the model, the format and the photo's quality, not the numbers."""
        q = self.quality
        return (
            f"Enrollment(model_id={self.model_id!r}, version={self.version}, "
            f"embedding=<{self.embedding.shape[0]} x {self.embedding.dtype}>, photos={self.n_photos}, "
            f"face_width_px={q.face_width_px:.0f}, yaw_deg={q.yaw_deg:.1f}, pitch_deg={q.pitch_deg:.1f})"
        )

    def save(self, path: str | Path) -> None:
        """Write a small ``.npz`` file (about 7 kB plus 0.5 kB a photo, no pickle) at exactly ``path``, atomically."""
        path = Path(path)
        q = self.quality
        buf = io.BytesIO()
        np.savez(
            buf,
            format=np.array(_FORMAT_TAG),
            version=np.array(self.version, dtype=np.int64),
            model_id=np.array(self.model_id),
            embedding=np.asarray(self.embedding, dtype=np.float32),
            template=np.asarray(self.template, dtype=np.float32),
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
            raise InputError(f"{path}: cannot write the enrollment ({exc})", code=ErrorCode.CANNOT_WRITE) from None

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
            (``ENROLLMENT_MODEL_MISMATCH``); a ``path`` that is not a str or
            path (``BAD_ARGUMENT``).
        """
        path = as_path(path, "the enrollment file")
        bad = f"{path}: not a livecert enrollment file"
        try:
            if path.stat().st_size > _MAX_FILE_BYTES:
                raise ValueError(f"larger than {_MAX_FILE_BYTES} bytes")
            with np.load(path, allow_pickle=False) as data:
                fields = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise InputError(f"{path}: enrollment file not found", code=ErrorCode.FILE_NOT_FOUND) from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"{bad} ({type(exc).__name__}: {exc})", code=ErrorCode.BAD_ENROLLMENT) from None
        try:
            tag, version, file_model = str(fields["format"]), int(fields["version"]), str(fields["model_id"])
            embedding, landmarks, qv = fields["embedding"], fields["landmarks"], fields["quality"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{bad} (missing or malformed field {exc})", code=ErrorCode.BAD_ENROLLMENT) from None
        if tag != _FORMAT_TAG:
            raise InputError(bad, code=ErrorCode.BAD_ENROLLMENT)
        if version not in _READABLE_VERSIONS:
            raise InputError(
                f"{path}: enrollment format version {version}, this livecert reads versions "
                f"{', '.join(map(str, _READABLE_VERSIONS))}; enroll the photo again",
                code=ErrorCode.ENROLLMENT_VERSION,
            )
        if file_model != model_id:
            raise InputError(
                f"{path}: enrolled with face model {file_model!r}, but matching uses {model_id!r}; "
                "enroll the photo again with the current model",
                code=ErrorCode.ENROLLMENT_MODEL_MISMATCH,
            )
        template = fields.get("template", embedding.reshape(1, -1)) if version >= 2 else embedding.reshape(1, -1)
        shapes = (embedding.shape, landmarks.shape, qv.shape, template.shape[1:])
        if (
            shapes != ((128,), (478, 3), (6,), (128,))
            or not 1 <= template.shape[0] <= 10
            or not np.all(np.isfinite(embedding))
            or not np.all(np.isfinite(template))
        ):
            raise InputError(f"{bad} (fields have wrong shapes or values)", code=ErrorCode.BAD_ENROLLMENT)
        width, brightness, sharpness, yaw, pitch = (float(v) for v in qv[:5])
        quality = FrameQuality(width, brightness, sharpness, yaw, pitch, QualityFlag(int(qv[5])))
        return cls(
            _frozen(embedding, np.float32),
            _frozen(landmarks, np.float32),
            quality,
            file_model,
            version,
            _frozen(template, np.float32),
        )


def _frozen(a: AnyArray, dtype: npt.DTypeLike) -> FloatArray:
    out: FloatArray = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def _as_rgb(photo: AnyArray) -> Image:

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
        rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    return np.ascontiguousarray(rgb)


#: Photo problems in the order they are reported (the first one found wins; closed
#: eyes are checked after these).
_ENROLL_PROBLEMS = (QualityFlag.FACE_TOO_SMALL, QualityFlag.TOO_DARK, QualityFlag.FACE_TURNED, QualityFlag.BLURRY)


#: One photo given to :func:`enroll`: a file or an RGB array.
Photo = str | Path | AnyArray


def enroll(
    photo: Photo | Sequence[Photo],
    *,
    config: MatchConfig | None = None,
    embedder: Embedder | None = None,
    landmark_config: LandmarkConfig | None = None,
) -> Enrollment:
    """Enroll the one face of a photo, or of each of several photos of one person.

    Parameters
    ----------
    photo : str, Path or ndarray of uint8, shape (H, W, 3), (H, W) or (H, W, 4); or a sequence of them
        Image file (EXIF orientation, grayscale, CMYK, alpha and huge images
        are handled) or an RGB array ((H, W) gray and (H, W, 4) RGBA too);
        the array's dtype is checked when called.  Several photos (a list or
        tuple, at most ``config.enroll_max_photos``) make a template whose
        mean descriptor the live face is compared with: give recent photos
        taken on different days or with different cameras.
    config : MatchConfig, optional
    embedder : Embedder, optional
        Default: :func:`~livecert.identity.onnx_embedder.default_embedder`.
    landmark_config : LandmarkConfig, optional

    Returns
    -------
    Enrollment
        ``template`` shape (K, 128) for K photos; ``landmarks`` and
        ``quality`` are the first photo's.

    Raises
    ------
    EnrollmentError
        No face, several faces, a face too small, dark, turned or blurred, or
        closed eyes (with several photos the detail names the photo).  Glare
        on glasses does not stop enrollment: it is in ``advice``.
    InputError
        A file or array cannot be read at all; no photo or too many
        (``BAD_ARGUMENT``); photos that seem to show different people
        (``BAD_INPUT``).
    ModelError
        The face models are not installed.
    """

    cfg = config or MatchConfig()
    if isinstance(photo, str | os.PathLike | np.ndarray):
        photos: list[Photo] = [photo]
    elif isinstance(photo, list | tuple):
        photos = list(photo)
    else:
        raise InputError(
            f"photo must be an image file's path, an RGB array, or a list of them, not {type(photo).__name__}",
            code=ErrorCode.BAD_ARGUMENT,
        )
    if not 1 <= len(photos) <= cfg.enroll_max_photos:
        raise InputError(
            f"give 1 to {cfg.enroll_max_photos} enrollment photos, got {len(photos)}", code=ErrorCode.BAD_ARGUMENT
        )
    emb = embedder or default_embedder()
    lm_cfg = landmark_config or LandmarkConfig()
    faces = []
    advice: list[EnrollmentAdvice] = []
    for i, one in enumerate(photos):
        name = f"photo {i + 1} of {len(photos)}, {_photo_name(one, i)}: "
        try:
            face = _enroll_one(one, cfg, emb, lm_cfg)
        except EnrollmentError as exc:
            if len(photos) == 1:
                raise
            raise EnrollmentError(exc.reason, name + exc.detail) from None
        faces.append(face)
        prefix = name if len(photos) > 1 else ""
        advice.extend(EnrollmentAdvice(a.code, prefix + a.detail) for a in face.advice)
    vectors = np.stack([f.vector for f in faces])
    _check_one_person(vectors, photos, cfg.enroll_max_spread)
    mean = vectors.mean(axis=0)
    for a in advice:
        log.info("enrollment advice %s: %s", a.code.value, a.detail)
    return Enrollment(
        _frozen(mean, np.float32),
        _frozen(faces[0].points, np.float32),
        faces[0].quality,
        emb.model_id,
        template=_frozen(vectors, np.float32),
        advice=tuple(advice),
    )


def _photo_name(photo: Photo, i: int) -> str:
    """The file name of the ``i``-th photo, or ``"array <i + 1>"``."""
    return str(photo) if isinstance(photo, (str, Path)) else f"array {i + 1}"


def _check_one_person(vectors: FloatArray, photos: Sequence[Photo], max_spread: float) -> None:
    """``InputError`` ``BAD_INPUT`` when one photo's descriptor lies farther than
    ``max_spread`` from the mean of the others'."""
    if len(vectors) < 2:
        return
    for i in range(len(vectors)):
        others = np.delete(vectors, i, axis=0).mean(axis=0)
        d = float(np.linalg.norm(vectors[i].astype(np.float64) - others))
        if d > max_spread:
            raise InputError(
                f"enrollment photo {i + 1} ({_photo_name(photos[i], i)}) does not look like the same person "
                "as the others "
                f"(distance {d:.2f} > {max_spread:.2f}); enroll only photos of the one pensioner, "
                "taken recently",
                code=ErrorCode.BAD_INPUT,
            )


@dataclass(frozen=True)
class _Face:
    """One enrolled photo's face: descriptor (128,), mesh (478, 3), quality and advice."""

    vector: FloatArray
    points: FloatArray
    quality: FrameQuality
    advice: tuple[EnrollmentAdvice, ...]


def check_eyes(rgb: Image, points: FloatArray, cfg: MatchConfig) -> tuple[EnrollmentAdvice, ...]:
    """The eye checks of an enrollment photo: refuse closed eyes, advise about glare.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
    points : ndarray of float, shape (478, 3)
        The face mesh, in pixels of ``rgb``.
    cfg : MatchConfig
        ``enroll_min_eye_aperture`` and ``enroll_max_glare``.

    Returns
    -------
    tuple of EnrollmentAdvice
        ``GLASSES_GLARE`` when the lenses reflect light, else empty.

    Raises
    ------
    EnrollmentError
        ``EYES_CLOSED``.
    """
    eyes = measure_eyes(rgb, points)
    if eyes.aperture < cfg.enroll_min_eye_aperture:  # False for nan: an unreadable mesh is not refused
        raise EnrollmentError(
            ReasonCode.EYES_CLOSED,
            f"eye opening {eyes.aperture:.2f} of the eye's width, need {cfg.enroll_min_eye_aperture:.2f}",
        )
    if eyes.glare > cfg.enroll_max_glare:
        detail = f"glare {eyes.glare:.4f} of the eye's width squared, advised at most {cfg.enroll_max_glare:.4f}"
        return (EnrollmentAdvice(ReasonCode.GLASSES_GLARE, detail),)
    return ()


def _enroll_one(photo: Photo, cfg: MatchConfig, emb: Embedder, landmark_config: LandmarkConfig) -> _Face:
    """One photo's one face; EnrollmentError if unusable."""
    rgb = _as_rgb(photo) if isinstance(photo, np.ndarray) else read_image_rgb(photo, max_side=_MAX_SIDE)
    points, n_faces = find_face(rgb, landmark_config)
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
    for flag in _ENROLL_PROBLEMS:
        if quality.flags & flag:
            raise EnrollmentError(flag.reason_code, details[flag.reason_code])
    advice = check_eyes(rgb, points, cfg)
    vector = emb.embed(align_face(rgb, mesh_to_five(points)))
    log.debug("enrolled face %.0f px wide, yaw %.1f deg", quality.face_width_px, quality.yaw_deg)
    return _Face(np.asarray(vector, dtype=np.float32), points, quality, advice)
