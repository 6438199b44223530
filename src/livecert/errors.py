"""Exceptions raised by livecert.

A failed check (no blink, wrong person, ...) is never an exception: it is a
:class:`~livecert.results.VerificationResult` with ``passed=False``.
Exceptions are for input that cannot be used at all, for missing models and
for misuse of a stateful object.  Every exception carries a stable ``code``
and a message that names the problem and what to do about it.
"""

from __future__ import annotations


class LivecertError(Exception):
    """Base class of every error livecert raises on purpose.

    Parameters
    ----------
    message : str
        One line naming the problem and what to do.
    code : str, optional
        Stable machine-readable code, e.g. ``"EMPTY_FILE"``.
    """

    default_code = "LIVECERT_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(LivecertError, ValueError):
    """The source, image, frame or argument cannot be used (missing, empty,
    truncated, not a video, wrong dtype or shape, bad timestamps, ...)."""

    default_code = "BAD_INPUT"


class ModelError(LivecertError, RuntimeError):
    """A model file or an optional dependency is missing or unusable."""

    default_code = "MODEL_UNAVAILABLE"


class ChallengeError(LivecertError, ValueError):
    """A read-digits challenge could not be created or parsed."""

    default_code = "CHALLENGE_ERROR"


class SessionStateError(LivecertError, RuntimeError):
    """A stateful object was used out of order (timestamps not increasing,
    ``push()`` after the session finished, use after ``close()``)."""

    default_code = "SESSION_STATE"
