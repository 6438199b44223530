"""``verify()``: a recording in, a :class:`VerificationResult` out."""

from __future__ import annotations

import time

from livecert.capture import Source, open_source
from livecert.config import VerifyConfig
from livecert.results import VerificationResult
from livecert.session import LivenessSession


def verify(
    source: Source,
    *,
    enrolled: object = None,
    mode: str = "blink",
    config: VerifyConfig | None = None,
) -> VerificationResult:
    """Check a recording for liveness (and, later, identity).

    Parameters
    ----------
    source : str, PathLike, int or iterable
        A video file, a folder of images, a webcam index or an iterable of
        ``(rgb, t_s)`` pairs; see :func:`livecert.open_source`.
    enrolled : None
        Reserved for face matching.
    mode : {"blink"}
    config : VerifyConfig, optional

    Returns
    -------
    VerificationResult
        A failed check is a result with ``passed=False`` and reasons.

    Raises
    ------
    InputError
        The source cannot be used (missing, empty, truncated, not a video,
        bad frames or timestamps).
    """
    t_start = time.perf_counter()
    # The source is opened first so that unusable input fails before models load.
    with open_source(source) as frames, LivenessSession(mode=mode, config=config) as session:
        for frame in frames:
            session.push(frame.rgb, frame.t_s, decode_ms=frame.decode_ms)
        return session.result(extra_ms={"total": (time.perf_counter() - t_start) * 1e3})
