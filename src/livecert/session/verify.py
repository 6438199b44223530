"""``verify()``: a recording in, a :class:`VerificationResult` out."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from livecert.config import VerifyConfig
from livecert.io.sources import Source, open_source
from livecert.results import VerificationResult
from livecert.session.live import LivenessSession


def verify(
    source: Source,
    *,
    enrolled: object = None,
    mode: str = "blink",
    config: VerifyConfig | None = None,
    challenge: Any = None,
    key: bytes | None = None,
    nonce_store: Any = None,
    recogniser: Any = None,
) -> VerificationResult:
    """Check a recording for liveness (and, later, identity).

    Parameters
    ----------
    source : str, PathLike, int or iterable
        A video file, a folder of images, a webcam index or an iterable of
        ``(rgb, t_s)`` pairs; see :func:`livecert.open_source`.
    enrolled : Enrollment, str or Path, optional
        The enrolled face (an Enrollment, its saved ``.npz`` file, or a
        photo to enroll now); a mismatch fails with ``FACE_MISMATCH``.
    mode : {"blink", "digits"}
    config : VerifyConfig, optional
    challenge : str or Challenge, optional
        Digits mode: the signed token given to the client (checked with
        ``key``), or a :class:`~livecert.liveness.challenge.Challenge` object the
        server holds.  ``Challenge.for_known_digits("4729")`` stands in for
        recorded test clips (testing aid; no single-use check).
    key : bytes, optional
        HMAC key the token was signed with.
    nonce_store : NonceStore, optional
        Single-use store (``MemoryNonceStore`` or ``SQLiteNonceStore``);
        without one, reuse is not detected.
    recogniser : DigitRecogniser, optional
        Digits mode: turns the recording's sound into digits; default the
        English :class:`~livecert.speech.english.EnglishDigitRecogniser`.  Reuse
        one instance across calls to load its model once; see
        :mod:`livecert.speech.recogniser` for plugging in another language.

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
    with (
        open_source(source, audio=mode == "digits") as frames,
        LivenessSession(
            mode=mode,
            config=config,
            challenge=challenge,
            key=key,
            nonce_store=nonce_store,
            enrolled=enrolled,
            live=False,
            recogniser=recogniser,
        ) as session,
    ):
        for frame in frames:
            session.push(frame.rgb, frame.t_s, decode_ms=frame.decode_ms)
        track = None
        audio_ms = 0.0
        if mode == "digits":
            t0 = time.perf_counter()
            track = frames.audio_track()  # decoded with the frames, in one pass over the file
            audio_ms = frames.audio_decode_ms + (time.perf_counter() - t0) * 1e3
        result = session.result(audio=track, extra_ms={"audio_decode": audio_ms})
        return replace(result, timings=replace(result.timings, total=(time.perf_counter() - t_start) * 1e3))
