"""``verify()``: a recording in, a :class:`~livecert.results.VerificationResult` out."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import replace
from typing import cast

from livecert.config import Mode, VerifyConfig
from livecert.io.frames import FrameSource, SourceKind
from livecert.io.sources import Source, open_source
from livecert.io.uploads import Upload, is_upload, read_upload
from livecert.liveness.digits import ChallengeOptions
from livecert.results import VerificationResult
from livecert.session.audit import result_meta, sha256_file, utc_now_iso
from livecert.session.live import Enrolled, LivenessSession


def verify(
    source: Source,
    *,
    mode: Mode | str = Mode.BLINK,
    enrolled: Enrolled | None = None,
    config: VerifyConfig | None = None,
    challenge: ChallengeOptions | None = None,
) -> VerificationResult:
    """Check a recording for liveness and, with ``enrolled``, identity.

    Parameters
    ----------
    source : str, PathLike, int, bytes-like, binary file object or iterable
        A video file, a folder of images, a webcam index, a video in memory
        (``bytes``, ``bytearray``, ``memoryview``, or a binary file object
        such as ``open(path, "rb")`` or an upload, read once) or an iterable
        of ``(rgb, t_s)`` pairs; see :func:`livecert.open_source`.
    mode : Mode or {"blink", "digits"}
    enrolled : Enrollment, str or PathLike, optional
        The enrolled face (an Enrollment, its saved ``.npz`` file, or a
        photo to enroll now); a mismatch fails with ``FACE_MISMATCH``.
    config : VerifyConfig, optional
    challenge : ChallengeOptions, optional
        Digits mode (required there): challenge, key, single-use store and
        recogniser.

    Returns
    -------
    VerificationResult
        A failed check is a result with ``passed=False`` and reasons; its
        ``meta`` is the audit record (version, models and their SHA-256,
        time of the check, challenge nonce, the input file's SHA-256).

    Notes
    -----
    A camera (``verify(0)``) is recorded for at most
    ``config.session.camera_limit_s`` (default 30 s) on the camera's clock;
    the recording is then judged as a whole, as a file would be.

    Raises
    ------
    InputError
        The source cannot be used (missing, empty, truncated, not a video,
        bad frames or timestamps), or the arguments are wrong (``BAD_MODE``,
        ``NO_CHALLENGE``, ``NO_KEY``, ``BAD_ARGUMENT``, ``BAD_CONFIG``).
    """
    t_start = time.perf_counter()
    checked_at = utc_now_iso()
    mode = Mode.parse(mode)
    limits = config.limits if isinstance(config, VerifyConfig) else None
    if is_upload(source):  # read once: decoded and hashed from the same bytes
        source = read_upload(cast(Upload, source), limits)
    # The source is opened first so that unusable input fails before models load.
    with (
        open_source(source, audio=mode is Mode.DIGITS, limits=limits) as frames,
        LivenessSession(mode=mode, config=config, challenge=challenge, enrolled=enrolled, live=False) as session,
    ):
        is_camera = frames.info.kind is SourceKind.CAMERA
        limit_s = session.config.session.camera_limit_s if is_camera else math.inf
        session.push_recording(frames, limit_s=limit_s)  # a camera never ends on its own
        track = None
        audio_ms = 0.0
        if mode is Mode.DIGITS:
            t0 = time.perf_counter()
            track = frames.audio_track()  # decoded with the frames, in one pass over the file
            audio_ms = frames.audio_decode_ms + (time.perf_counter() - t0) * 1e3
        result = session.result(audio=track, extra_ms={"audio_decode": audio_ms})
    meta = result_meta(
        checked_at=checked_at,
        mode=mode,
        enrolled=enrolled is not None,
        challenge=challenge,
        input_sha256=_input_sha256(source, frames),
    )
    total_ms = (time.perf_counter() - t_start) * 1e3
    report = frames.report  # what decoding left out or found damaged: the result says so
    return replace(
        result,
        timings=replace(result.timings, total=total_ms),
        meta=meta,
        frames_dropped=report.dropped,
        warnings=report.warnings,
    )


def _input_sha256(source: Source, frames: FrameSource) -> str | None:
    """SHA-256 of the input when it is a file or bytes in memory (a file object's bytes
    are read by :func:`verify` before this), else None."""
    if isinstance(source, bytes):  # bytes given, or read from a file object by verify()
        return hashlib.sha256(source).hexdigest()
    path = frames.info.path
    if frames.info.kind is SourceKind.FILE and path is not None and path.is_file():
        return sha256_file(path)
    return None
