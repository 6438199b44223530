"""Exceptions raised by livecert.

A failed check (no blink, wrong person, ...) is never an exception: it is a
:class:`~livecert.results.VerificationResult` with ``passed=False``.
Exceptions are for input that cannot be used at all, for missing models and
for misuse of a stateful object.  Every exception carries a stable ``code``
and a message that names the problem and what to do about it.
"""

from __future__ import annotations

from livecert.enums import StrEnum


class ErrorCode(StrEnum):
    """Stable codes of the errors livecert raises (``LivecertError.code``).

    The string values never change between versions; messages may.  An
    unusable enrollment photo uses the reason code of its problem
    (``NO_FACE``, ``BLURRY``, ...).
    """

    AUDIO_DECODE_ERROR = "AUDIO_DECODE_ERROR"
    AUDIO_NOT_READY = "AUDIO_NOT_READY"
    BAD_ARGUMENT = "BAD_ARGUMENT"
    BAD_CONFIG = "BAD_CONFIG"
    BAD_DIGITS = "BAD_DIGITS"
    BAD_ENROLLMENT = "BAD_ENROLLMENT"
    BAD_FRAME = "BAD_FRAME"
    BAD_INPUT = "BAD_INPUT"
    BAD_KEY = "BAD_KEY"
    BAD_LANDMARKS = "BAD_LANDMARKS"
    BAD_MODE = "BAD_MODE"
    BAD_SOURCE = "BAD_SOURCE"
    BAD_TIMESTAMP = "BAD_TIMESTAMP"
    BAD_TRACE = "BAD_TRACE"
    BLURRY = "BLURRY"
    CAMERA_LOST = "CAMERA_LOST"
    CAMERA_UNAVAILABLE = "CAMERA_UNAVAILABLE"
    CANNOT_WRITE = "CANNOT_WRITE"
    CHALLENGE_ERROR = "CHALLENGE_ERROR"
    CHALLENGE_INVALID = "CHALLENGE_INVALID"
    CHALLENGE_REUSED = "CHALLENGE_REUSED"
    EMPTY_AUDIO = "EMPTY_AUDIO"
    EMPTY_FILE = "EMPTY_FILE"
    ENROLLMENT_MODEL_MISMATCH = "ENROLLMENT_MODEL_MISMATCH"
    ENROLLMENT_VERSION = "ENROLLMENT_VERSION"
    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    FACE_TURNED = "FACE_TURNED"
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    LIVECERT_ERROR = "LIVECERT_ERROR"
    MISSING_DEPENDENCY = "MISSING_DEPENDENCY"
    MODEL_MISSING = "MODEL_MISSING"
    MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"
    MODEL_UNUSABLE = "MODEL_UNUSABLE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    NONCE_STORE_UNAVAILABLE = "NONCE_STORE_UNAVAILABLE"
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    NOT_A_MEDIA_FILE = "NOT_A_MEDIA_FILE"
    NOT_A_VIDEO = "NOT_A_VIDEO"
    NO_AUDIO_STREAM = "NO_AUDIO_STREAM"
    NO_CHALLENGE = "NO_CHALLENGE"
    NO_DISPLAY = "NO_DISPLAY"
    NO_FACE = "NO_FACE"
    NO_IMAGES = "NO_IMAGES"
    NO_KEY = "NO_KEY"
    NO_TIMESTAMPS = "NO_TIMESTAMPS"
    NO_TRACE = "NO_TRACE"
    NO_VIDEO_STREAM = "NO_VIDEO_STREAM"
    SESSION_FINISHED = "SESSION_FINISHED"
    SESSION_STATE = "SESSION_STATE"
    SOURCE_USED = "SOURCE_USED"
    TIMESTAMP_NOT_INCREASING = "TIMESTAMP_NOT_INCREASING"
    TOO_DARK = "TOO_DARK"
    TRUNCATED_FILE = "TRUNCATED_FILE"
    ZERO_FRAMES = "ZERO_FRAMES"


class LivecertError(Exception):
    """Base class of every error livecert raises on purpose.

    Parameters
    ----------
    message : str
        One line naming the problem and what to do.
    code : ErrorCode or str, optional
        Stable machine-readable code, e.g. ``ErrorCode.EMPTY_FILE``.
    """

    default_code = ErrorCode.LIVECERT_ERROR

    def __init__(self, message: str, *, code: ErrorCode | str | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code) if code is not None else self.default_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(LivecertError, ValueError):
    """The source, image, frame or argument cannot be used (missing, empty,
    truncated, not a video, wrong dtype or shape, bad timestamps, ...)."""

    default_code = ErrorCode.BAD_INPUT


class ModelError(LivecertError, RuntimeError):
    """A model file or an optional dependency is missing or unusable."""

    default_code = ErrorCode.MODEL_UNAVAILABLE


class ChallengeError(LivecertError, ValueError):
    """A read-digits challenge could not be created or parsed."""

    default_code = ErrorCode.CHALLENGE_ERROR


class SessionStateError(LivecertError, RuntimeError):
    """A stateful object was used out of order (timestamps not increasing,
    ``push()`` after the session finished, use after ``close()``)."""

    default_code = ErrorCode.SESSION_STATE
