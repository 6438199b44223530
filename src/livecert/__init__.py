"""livecert: certify that a live, specific person is in front of a camera.

The public API is what this module exports.  Heavy dependencies (mediapipe,
OpenCV, dlib, PyAV) load on first use, not at import.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS: dict[str, str] = {
    # functions
    "verify": "livecert.api",
    "open_source": "livecert.capture",
    "detect_blinks": "livecert.blink",
    "read_image_rgb": "livecert.imageio",
    "enroll": "livecert.matching",
    "Enrollment": "livecert.matching",
    "EnrollmentError": "livecert.matching",
    "MatchResult": "livecert.matching",
    "new_challenge": "livecert.challenge",
    "Challenge": "livecert.challenge",
    "MemoryNonceStore": "livecert.challenge",
    "SQLiteNonceStore": "livecert.challenge",
    "generate_key": "livecert.challenge",
    "load_key": "livecert.challenge",
    "LivenessSession": "livecert.session",
    "SessionUpdate": "livecert.session",
    "DigitsEvidence": "livecert.digits_check",
    # configs
    "VerifyConfig": "livecert.config",
    "LandmarkConfig": "livecert.config",
    "QualityConfig": "livecert.config",
    "BlinkConfig": "livecert.config",
    "DigitsConfig": "livecert.config",
    "SessionConfig": "livecert.config",
    "MatchConfig": "livecert.config",
    # results
    "VerificationResult": "livecert.results",
    "Reason": "livecert.results",
    "ReasonCode": "livecert.results",
    "BlinkEvent": "livecert.results",
    "FrameTrace": "livecert.results",
    "Timings": "livecert.results",
    "Frame": "livecert.capture",
    # errors
    "LivecertError": "livecert.errors",
    "InputError": "livecert.errors",
    "ModelError": "livecert.errors",
    "ChallengeError": "livecert.errors",
    "SessionStateError": "livecert.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'livecert' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from livecert.api import verify
    from livecert.blink import detect_blinks
    from livecert.capture import Frame, open_source
    from livecert.challenge import Challenge, MemoryNonceStore, SQLiteNonceStore, generate_key, load_key, new_challenge
    from livecert.config import (
        BlinkConfig,
        DigitsConfig,
        LandmarkConfig,
        MatchConfig,
        QualityConfig,
        SessionConfig,
        VerifyConfig,
    )
    from livecert.digits_check import DigitsEvidence
    from livecert.errors import ChallengeError, InputError, LivecertError, ModelError, SessionStateError
    from livecert.imageio import read_image_rgb
    from livecert.matching import Enrollment, EnrollmentError, MatchResult, enroll
    from livecert.results import BlinkEvent, FrameTrace, Reason, ReasonCode, Timings, VerificationResult
    from livecert.session import LivenessSession, SessionUpdate
