"""Result types: reason codes with bilingual messages, blink events, the
per-frame trace and :class:`VerificationResult`.

Everything here is a frozen dataclass or an enum; ``to_dict()`` produces the
JSON documented in the README.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ReasonCode(str, enum.Enum):
    """Stable codes for why a check did not pass (or what to fix).

    The string values never change between versions; messages may.
    """

    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    TOO_DARK = "TOO_DARK"
    BLURRY = "BLURRY"
    FACE_TURNED = "FACE_TURNED"
    NO_BLINK = "NO_BLINK"
    TOO_SHORT = "TOO_SHORT"
    NO_SPEECH_MOVEMENT = "NO_SPEECH_MOVEMENT"
    DIGITS_MISMATCH = "DIGITS_MISMATCH"
    AV_OUT_OF_SYNC = "AV_OUT_OF_SYNC"
    CHALLENGE_INVALID = "CHALLENGE_INVALID"
    CHALLENGE_EXPIRED = "CHALLENGE_EXPIRED"
    CHALLENGE_REUSED = "CHALLENGE_REUSED"
    FACE_MISMATCH = "FACE_MISMATCH"
    TIMEOUT = "TIMEOUT"

    @property
    def message_en(self) -> str:
        return _MESSAGES[self][0]

    @property
    def message_zh(self) -> str:
        return _MESSAGES[self][1]

    def message(self, lang: str = "en") -> str:
        """The message in ``"en"`` or ``"zh"``."""
        if lang not in ("en", "zh"):
            raise ValueError(f"lang must be 'en' or 'zh', not {lang!r}")
        return self.message_zh if lang == "zh" else self.message_en


_MESSAGES: dict[ReasonCode, tuple[str, str]] = {
    ReasonCode.NO_FACE: (
        "No face was found. Face the camera with your whole face in view.",
        "未检测到人脸。请正对镜头，让整张脸出现在画面中。",
    ),
    ReasonCode.MULTIPLE_FACES: (
        "More than one face is in view. Only the person being certified may be in the picture.",
        "画面中有多张人脸。请只让本人出现在画面中。",
    ),
    ReasonCode.FACE_TOO_SMALL: (
        "Your face is too small. Move closer to the camera.",
        "人脸太小。请靠近镜头。",
    ),
    ReasonCode.TOO_DARK: (
        "It is too dark. Turn on a light or face a window.",
        "光线太暗。请打开灯或面向窗户。",
    ),
    ReasonCode.BLURRY: (
        "The picture is blurred. Hold the phone still and wipe the camera lens.",
        "画面模糊。请拿稳手机并擦拭镜头。",
    ),
    ReasonCode.FACE_TURNED: (
        "Your face is turned away. Look straight at the camera.",
        "脸部偏转。请正视镜头。",
    ),
    ReasonCode.NO_BLINK: (
        "No blink was seen. Please blink your eyes slowly once or twice.",
        "未检测到眨眼。请慢慢眨眼一两次。",
    ),
    ReasonCode.TOO_SHORT: (
        "The recording is too short to check. Record for a few seconds.",
        "录像太短，无法认证。请录制几秒钟。",
    ),
    ReasonCode.NO_SPEECH_MOVEMENT: (
        "No lip movement was seen. Read the digits aloud, facing the camera.",
        "未检测到嘴部动作。请面对镜头大声读出数字。",
    ),
    ReasonCode.DIGITS_MISMATCH: (
        "The digits heard do not match the digits shown. Read the digits on screen again, clearly.",
        "读出的数字与屏幕上的不一致。请清楚地重新读出屏幕上的数字。",
    ),
    ReasonCode.AV_OUT_OF_SYNC: (
        "The voice does not match the lip movement. Read the digits yourself, facing the camera.",
        "声音与口型不一致。请本人面对镜头读出数字。",
    ),
    ReasonCode.CHALLENGE_INVALID: (
        "The challenge is not valid. Start the certification again.",
        "验证码无效。请重新开始认证。",
    ),
    ReasonCode.CHALLENGE_EXPIRED: (
        "The challenge has expired. Start the certification again.",
        "验证码已过期。请重新开始认证。",
    ),
    ReasonCode.CHALLENGE_REUSED: (
        "This challenge was already used. Start the certification again.",
        "该验证码已被使用。请重新开始认证。",
    ),
    ReasonCode.FACE_MISMATCH: (
        "The face does not match the enrolled photo.",
        "人脸与登记照片不一致。",
    ),
    ReasonCode.TIMEOUT: (
        "Time ran out. Please try again, and take your time.",
        "操作超时。请重试，不用着急。",
    ),
}


@dataclass(frozen=True)
class Reason:
    """One reason a check did not pass, or a problem to fix.

    Attributes
    ----------
    code : ReasonCode
    detail : str
        Optional measured figures, e.g. ``"face in 12% of frames"``.
    """

    code: ReasonCode
    detail: str = ""

    def message(self, lang: str = "en") -> str:
        return self.code.message(lang)

    def to_dict(self, lang: str = "en") -> dict[str, str]:
        out = {"code": self.code.value, "message": self.message(lang)}
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class BlinkEvent:
    """One blink on the clip's own timeline.

    Attributes
    ----------
    start_s, end_s : float
        When the eyes started closing and were open again.
    min_ratio : float
        Smallest eye aperture during the blink, as a fraction of the
        person's open-eye baseline (0 = fully shut).
    """

    start_s: float
    end_s: float
    min_ratio: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, float]:
        return {"start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4)}


# Per-frame quality flags (bits of FrameTrace.flags).
FLAG_NO_FACE = 1

FLAG_MULTIPLE_FACES = 2

FLAG_FACE_TOO_SMALL = 4

FLAG_TOO_DARK = 8

FLAG_BLURRY = 16

FLAG_FACE_TURNED = 32

FLAG_CODES: dict[int, ReasonCode] = {
    FLAG_NO_FACE: ReasonCode.NO_FACE,
    FLAG_MULTIPLE_FACES: ReasonCode.MULTIPLE_FACES,
    FLAG_FACE_TOO_SMALL: ReasonCode.FACE_TOO_SMALL,
    FLAG_TOO_DARK: ReasonCode.TOO_DARK,
    FLAG_BLURRY: ReasonCode.BLURRY,
    FLAG_FACE_TURNED: ReasonCode.FACE_TURNED,
}


def flag_names(flags: int) -> list[str]:
    """Reason codes set in a per-frame flag bitmask, in a fixed order."""
    return [code.value for bit, code in FLAG_CODES.items() if flags & bit]


@dataclass(frozen=True)
class FrameTrace:
    """Per-frame signals as parallel arrays of length ``N`` (frames decoded).

    Values are ``nan`` where no face was tracked.

    Attributes
    ----------
    t_s : ndarray, shape (N,)
        Container timestamp of each frame, seconds.
    n_faces : ndarray of int, shape (N,)
        Faces counted in the frame (-1 where not counted this frame).
    left_eye, right_eye : ndarray, shape (N,)
        Eyelid aperture (lid gap / eye width) of the subject's left and right eye.
    mouth : ndarray, shape (N,)
        Inner-lip gap normalised by face width.
    mouth_height : ndarray, shape (N,)
        Outer-lip height normalised by face width (used for lip-voice sync).
    yaw_deg, pitch_deg : ndarray, shape (N,)
        Head rotation estimated from the mesh.
    face_width_px, brightness, sharpness : ndarray, shape (N,)
        Quality measurements (see :class:`~livecert.config.QualityConfig`).
    flags : ndarray of int, shape (N,)
        Bitmask of per-frame quality problems (``FLAG_*`` in this module).
    """

    t_s: np.ndarray
    n_faces: np.ndarray
    left_eye: np.ndarray
    right_eye: np.ndarray
    mouth: np.ndarray
    mouth_height: np.ndarray
    yaw_deg: np.ndarray
    pitch_deg: np.ndarray
    face_width_px: np.ndarray
    brightness: np.ndarray
    sharpness: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def has_face(self) -> np.ndarray:
        """Boolean mask, shape (N,): a face was tracked in the frame."""
        return np.isfinite(self.left_eye)


@dataclass(frozen=True)
class Timings:
    """Wall-clock milliseconds spent in each stage over the whole clip."""

    decode: float = 0.0
    landmarks: float = 0.0
    blink: float = 0.0
    total: float = 0.0
    digits: float | None = None
    match: float | None = None

    def to_dict(self) -> dict[str, float]:
        out = {"decode": self.decode, "landmarks": self.landmarks, "blink": self.blink}
        if self.digits is not None:
            out["digits"] = self.digits
        if self.match is not None:
            out["match"] = self.match
        out["total"] = self.total
        return {k: round(v, 2) for k, v in out.items()}


@dataclass(frozen=True)
class VerificationResult:
    """What :func:`livecert.verify` returns.

    Attributes
    ----------
    passed : bool
        True only when every required check passed and no reason was raised.
    mode : str
        ``"blink"`` or ``"digits"``.
    reasons : tuple of Reason
        Why it did not pass, or quality problems worth fixing; empty when
        everything was fine.
    blinks : tuple of BlinkEvent
    frames_total, frames_with_face : int
    duration_s : float
        Clip time from first to last frame (plus one frame period).
    timings : Timings
    trace : FrameTrace or None
        Per-frame signals (not part of ``to_dict()``).
    digits, match : object or None
        Filled by the read-digits mode and by face matching.
    """

    passed: bool
    mode: str
    reasons: tuple[Reason, ...]
    blinks: tuple[BlinkEvent, ...]
    frames_total: int
    frames_with_face: int
    duration_s: float
    timings: Timings
    trace: FrameTrace | None = field(default=None, repr=False, compare=False)
    digits: Any = None
    match: Any = None

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code.value for r in self.reasons)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The JSON object printed by ``livecert verify --json``."""
        out: dict[str, Any] = {
            "passed": self.passed,
            "mode": self.mode,
            "reasons": [r.to_dict(lang) for r in self.reasons],
            "blinks": [b.to_dict() for b in self.blinks],
            "frames": {"total": self.frames_total, "with_face": self.frames_with_face},
            "duration_s": round(self.duration_s, 4),
            "timings_ms": self.timings.to_dict(),
        }
        if self.digits is not None:
            out["digits"] = self.digits.to_dict()
        if self.match is not None:
            out["match"] = self.match.to_dict()
        return out
