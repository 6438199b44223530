"""``verify()``: a recording in, a :class:`~livecert.results.VerificationResult` out."""

from __future__ import annotations

import time
from dataclasses import replace

from livecert.config import Mode, VerifyConfig
from livecert.io.sources import Source, open_source
from livecert.liveness.digits import DigitsOptions
from livecert.results import VerificationResult
from livecert.session.live import Enrolled, LivenessSession


def verify(
    source: Source,
    *,
    mode: Mode | str = Mode.BLINK,
    enrolled: Enrolled | None = None,
    config: VerifyConfig | None = None,
    digits: DigitsOptions | None = None,
) -> VerificationResult:
    """Check a recording for liveness and, with ``enrolled``, identity.

    Parameters
    ----------
    source : str, PathLike, int or iterable
        A video file, a folder of images, a webcam index or an iterable of
        ``(rgb, t_s)`` pairs; see :func:`livecert.open_source`.
    mode : Mode or {"blink", "digits"}
    enrolled : Enrollment, str or PathLike, optional
        The enrolled face (an Enrollment, its saved ``.npz`` file, or a
        photo to enroll now); a mismatch fails with ``FACE_MISMATCH``.
    config : VerifyConfig, optional
    digits : DigitsOptions, optional
        Digits mode (required there): challenge, key, single-use store and
        recogniser.

    Returns
    -------
    VerificationResult
        A failed check is a result with ``passed=False`` and reasons.

    Raises
    ------
    InputError
        The source cannot be used (missing, empty, truncated, not a video,
        bad frames or timestamps), or the arguments are wrong (``BAD_MODE``,
        ``NO_CHALLENGE``, ``NO_KEY``, ``BAD_ARGUMENT``, ``BAD_CONFIG``).
    """
    t_start = time.perf_counter()
    mode = Mode.parse(mode)
    # The source is opened first so that unusable input fails before models load.
    with (
        open_source(source, audio=mode is Mode.DIGITS) as frames,
        LivenessSession(mode=mode, config=config, digits=digits, enrolled=enrolled, live=False) as session,
    ):
        for frame in frames:
            session.push(frame.rgb, frame.t_s, decode_ms=frame.decode_ms)
        track = None
        audio_ms = 0.0
        if mode is Mode.DIGITS:
            t0 = time.perf_counter()
            track = frames.audio_track()  # decoded with the frames, in one pass over the file
            audio_ms = frames.audio_decode_ms + (time.perf_counter() - t0) * 1e3
        result = session.result(audio=track, extra_ms={"audio_decode": audio_ms})
        return replace(result, timings=replace(result.timings, total=(time.perf_counter() - t_start) * 1e3))
