"""Face matching: enroll one or a few photos, then compare a few live frames with them.

Usage::

    enrollment = enroll(["pensioner.jpg", "pensioner_2.jpg"])   # EnrollmentError if unusable
    enrollment.save("pensioner.npz")
    cfg = MatchConfig()                               # or MatchConfig.for_policy(MatchPolicy.STRICT)
    pool = FramePool(cfg.max_frames, cfg.min_frame_gap_s)   # during the live session
    pool.offer_frame(rgb, points, t_s, quality, eye_aperture)  # quality: livecert.face.quality.measure()
    result = match_faces(Enrollment.load("pensioner.npz"), pool.candidates())

Faces are aligned with five points from the MediaPipe mesh and described by
an :class:`~livecert.identity.embedding.Embedder` (dlib's ResNet by default); the
live face is the mean descriptor of the frames used
(:func:`~livecert.identity.embedding.template_distance`), compared with the mean
descriptor of the enrolled template.  The frames are the pool's best by
:func:`frame_score` (frontal, sharp, eyes open), kept at least
``MatchConfig.min_frame_gap_s`` apart.  The thresholds of the named operating
points (:class:`~livecert.config.MatchPolicy`) were chosen on real data by
``benchmarks/match_threshold.py``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from livecert.arrays import FloatArray, Image
from livecert.config import LandmarkConfig, LimitsConfig, MatchConfig
from livecert.errors import ErrorCode, InputError
from livecert.face.geometry import eye_apertures
from livecert.face.landmarks import FaceLandmarker, RunningMode
from livecert.face.quality import FrameQuality, measure
from livecert.identity.embedding import Embedder, embed_faces, template_distance
from livecert.identity.enrollment import Enrollment, EnrollmentError, check_eyes
from livecert.identity.onnx_embedder import default_embedder
from livecert.io.sources import Source, open_source
from livecert.results import MatchResult, ReasonCode

log = logging.getLogger(__name__)


def frame_score(yaw_deg: float, pitch_deg: float, sharpness: float, eye_ratio: float) -> float:
    """How well a live frame suits face matching, 0 (unusable) to 1.

    The product of three terms: frontal pose ``exp(-((yaw/20)^2 +
    (pitch/25)^2) / 2)``, sharpness ``s / (s + 50)`` (Laplacian variance as
    in :class:`~livecert.face.quality.FrameQuality`) and open eyes, rising from 0
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
        Use ``MatchConfig.min_frame_gap_s``.
    """

    def __init__(self, size: int = 5, min_gap_s: float = 0.3) -> None:
        if size < 1:
            raise InputError(f"FramePool size must be at least 1, got {size}", code=ErrorCode.BAD_ARGUMENT)
        self.size = size
        self.min_gap_s = min_gap_s
        self._items: list[tuple[float, float, Image, FloatArray]] = []  # (score, t, rgb, points)

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, rgb: Image, points: FloatArray, t_s: float, score: float) -> bool:
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
        self, rgb: Image, points: FloatArray, t_s: float, quality: FrameQuality, eye_aperture: float
    ) -> bool:
        """Consider a tracked frame by its quality: only frames without quality
        problems are offered, scored by :func:`frame_score`.

        Parameters
        ----------
        rgb : ndarray of uint8, shape (H, W, 3)
        points : ndarray, shape (478, 3)
        t_s : float
        quality : FrameQuality
            From :func:`livecert.face.quality.measure` for this frame.
        eye_aperture : float
            Mean aperture of both eyes (:func:`livecert.face.geometry.eye_apertures`).
        """
        if quality.flags:
            return False
        score = frame_score(quality.yaw_deg, quality.pitch_deg, quality.sharpness, eye_aperture)
        return self.offer(rgb, points, t_s, score)

    def candidates(self) -> list[tuple[Image, FloatArray]]:
        """Kept ``(rgb, points)`` pairs, best score first."""
        return [(rgb, pts) for _, _, rgb, pts in sorted(self._items, key=lambda it: -it[0])]

    def times(self) -> list[float]:
        """Timestamps of the kept frames, best score first."""
        return [t for _, t, _, _ in sorted(self._items, key=lambda it: -it[0])]


def match_faces(
    enrollment: Enrollment,
    candidates: Sequence[tuple[Image, FloatArray]],
    config: MatchConfig | None = None,
    *,
    embedder: Embedder | None = None,
) -> MatchResult:
    """Compare live frames with the enrollment.

    Parameters
    ----------
    enrollment : Enrollment
        Compared through ``enrollment.embedding``, its template's mean descriptor.
    candidates : sequence of (rgb, points)
        Frames chosen by the caller, best first (:meth:`FramePool.candidates`):
        ``rgb`` uint8 (H, W, 3), ``points`` (478, 3) mesh in its pixels.  The
        first ``config.max_frames`` are used.
    config : MatchConfig, optional
    embedder : Embedder, optional
        With the enrollment's ``model_id``; default a new
        :func:`~livecert.identity.onnx_embedder.default_embedder` (its model loads in 0.2 s).

    Returns
    -------
    MatchResult
        ``passed=False``, ``frames_used=0`` when there is no candidate;
        ``policy`` names ``config``'s operating point.
    """
    cfg = config or MatchConfig()
    emb = embedder or default_embedder()
    if enrollment.model_id != emb.model_id:
        raise InputError(
            f"the enrollment was made with {enrollment.model_id!r} but the embedder is {emb.model_id!r}; "
            "enroll the photo again",
            code=ErrorCode.ENROLLMENT_MODEL_MISMATCH,
        )
    used = list(candidates)[: cfg.max_frames]
    if not used:
        return MatchResult(False, math.nan, cfg.threshold, 0, policy=cfg.policy)
    descriptors = embed_faces(used, emb)
    distance, per_frame = template_distance(descriptors, enrollment.embedding)
    passed = bool(distance <= cfg.threshold)
    log.debug("face distance %.3f over %d frames (threshold %.2f)", distance, len(used), cfg.threshold)
    per = tuple(float(x) for x in per_frame)
    return MatchResult(passed, distance, cfg.threshold, len(used), per, descriptors, cfg.policy)


def enroll_video(
    source: Source,
    *,
    config: MatchConfig | None = None,
    embedder: Embedder | None = None,
    landmark_config: LandmarkConfig | None = None,
    limits: LimitsConfig | None = None,
) -> Enrollment:
    """Enroll from a short video of the pensioner (a few seconds, facing the camera).

    The frames are chosen as in a live session (:class:`FramePool`: frontal,
    sharp, eyes open, ``config.min_frame_gap_s`` apart), judged by the
    enrollment photo checks (size, light, sharpness, pose, open eyes), and the best
    ``config.enroll_max_photos`` become the template.  Glare on glasses in
    the best frame is reported in ``advice``, as by
    :func:`~livecert.identity.enrollment.enroll`.

    Parameters
    ----------
    source : str, PathLike or anything :func:`livecert.io.sources.open_source` reads
    config : MatchConfig, optional
    embedder : Embedder, optional
        Default: :func:`~livecert.identity.onnx_embedder.default_embedder`.
    landmark_config : LandmarkConfig, optional
    limits : LimitsConfig, optional
        Resource limits for the file.

    Returns
    -------
    Enrollment
        ``template`` of shape (K, 128), K from 1 to ``config.enroll_max_photos``;
        ``landmarks`` and ``quality`` are those of the best frame.

    Raises
    ------
    EnrollmentError
        ``NO_FACE`` when no frame shows one face that passes the photo checks
        (the detail says how many frames had a face at all).
    InputError
        The video cannot be read.
    """
    cfg = config or MatchConfig()
    quality_cfg = cfg.enrollment_quality()
    pool = FramePool(cfg.enroll_max_photos, cfg.min_frame_gap_s)
    with_face = frames = 0
    faces = 1
    with open_source(source, limits=limits) as src, FaceLandmarker(landmark_config, mode=RunningMode.VIDEO) as lm:
        for frame in src:
            frames += 1
            obs = lm.process(frame.rgb, frame.t_s)
            faces = obs.n_faces if obs.n_faces >= 0 else faces  # counted now and then, as in a session
            if obs.points is None:
                continue
            with_face += 1
            q = measure(frame.rgb, obs.points, faces, quality_cfg)
            left, right = eye_apertures(obs.points)
            if max(left, right) < cfg.enroll_min_eye_aperture:  # closed, as check_eyes() refuses
                continue
            pool.offer_frame(frame.rgb, obs.points, frame.t_s, q, (left + right) / 2)
    if not len(pool):
        raise EnrollmentError(
            ReasonCode.NO_FACE,
            f"{with_face} of {frames} frames show a face, none of them alone, large, lit, sharp, frontal "
            "and with open eyes",
        )
    emb = embedder or default_embedder()
    chosen = pool.candidates()
    vectors = embed_faces(chosen, emb)
    rgb, points = chosen[0]
    best = measure(rgb, points, 1, quality_cfg)
    advice = check_eyes(rgb, points, cfg)
    log.debug("enrolled %d frames of a video (%d with a face)", len(chosen), with_face)
    return Enrollment(
        _frozen32(vectors.mean(axis=0)),
        _frozen32(points),
        best,
        emb.model_id,
        template=_frozen32(vectors),
        advice=advice,
    )


def _frozen32(a: FloatArray) -> FloatArray:
    out: FloatArray = np.array(a, dtype=np.float32, copy=True)
    out.setflags(write=False)
    return out
