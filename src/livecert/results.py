"""Result types: reason codes with bilingual messages, blink events, the
per-frame trace and :class:`VerificationResult`.

Everything here is a frozen dataclass or an enum; ``to_dict()`` produces the
JSON documented in the README.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from livecert.arrays import BoolArray, FloatArray, IntArray, per_frame
from livecert.config import MatchPolicy, Mode
from livecert.enums import StrEnum
from livecert.errors import ErrorCode, InputError


class ReasonCode(StrEnum):
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
    SPOOF_SUSPECTED = "SPOOF_SUSPECTED"
    BLINK_NOT_ON_CUE = "BLINK_NOT_ON_CUE"
    MOUTH_NOT_ON_CUE = "MOUTH_NOT_ON_CUE"
    TURN_NOT_ON_CUE = "TURN_NOT_ON_CUE"
    DIGITS_NOT_ON_CUE = "DIGITS_NOT_ON_CUE"
    EYES_CLOSED = "EYES_CLOSED"
    GLASSES_GLARE = "GLASSES_GLARE"

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
        "Not enough blinks were seen. Please blink your eyes slowly, a few times.",
        "眨眼次数不够。请慢慢地眨几次眼。",
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
        "The face does not match the enrolled photo. Take off a mask or sunglasses, face the camera in good "
        "light and try again. If it fails again, ask for a new enrollment photo.",
        "人脸与登记照片不一致。请摘下口罩和墨镜，在光线充足处正对镜头再试；如仍不通过，请到经办机构重新拍摄登记照片。",
    ),
    ReasonCode.BLINK_NOT_ON_CUE: (
        'No blink came when the screen asked for one. Blink each time the screen says "Blink now".',
        "屏幕提示时没有看到眨眼。请在屏幕显示\u201c现在请眨眼\u201d时眨一下眼。",
    ),
    ReasonCode.MOUTH_NOT_ON_CUE: (
        'The mouth did not open when the screen asked. Open your mouth each time the screen says "Open your '
        'mouth now", then close it.',
        "屏幕提示时没有看到张嘴。请在屏幕显示\u201c现在请张嘴\u201d时张一下嘴，然后闭上。",
    ),
    ReasonCode.TURN_NOT_ON_CUE: (
        'The head did not turn when the screen asked. Each time the screen says "Turn your head slowly to one side '
        'now", turn it to either side, then look back at the camera.',
        "屏幕提示时没有看到转头。请在屏幕显示\u201c现在请慢慢向一侧转头\u201d时把头转向任意一侧，再转回来看着镜头。",
    ),
    ReasonCode.DIGITS_NOT_ON_CUE: (
        "The digits were not read as they appeared. Read each digit aloud as soon as it appears on the screen, "
        "then wait for the next one.",
        "没有在数字出现时读出。请在每个数字出现时立即大声读出，然后等待下一个数字。",
    ),
    ReasonCode.SPOOF_SUSPECTED: (
        "Show your own face to the camera, not a photo, a screen or a video.",
        "请本人直接面对镜头，不要使用照片、屏幕或视频。",
    ),
    ReasonCode.TIMEOUT: (
        "Time ran out. Please try again, and take your time.",
        "操作超时。请重试，不用着急。",
    ),
    ReasonCode.EYES_CLOSED: (
        "Your eyes are closed. Open your eyes and look at the camera.",
        "眼睛是闭着的。请睁开眼睛看镜头。",
    ),
    ReasonCode.GLASSES_GLARE: (
        "Light reflects on your glasses. Tilt them slightly, turn away from the lamp or window, or take them off.",
        "眼镜上有反光。请把眼镜稍微倾斜、背对灯光或窗户，或摘下眼镜。",
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
        return {"start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4), "min_ratio": round(self.min_ratio, 3)}


class QualityFlag(enum.IntFlag):
    """Per-frame quality problems, the bits of :attr:`FrameTrace.flags`.

    Each flag has one :class:`ReasonCode` (:attr:`reason_code`) with the same name.
    """

    NO_FACE = 1
    MULTIPLE_FACES = 2
    FACE_TOO_SMALL = 4
    TOO_DARK = 8
    BLURRY = 16
    FACE_TURNED = 32

    @property
    def reason_code(self) -> ReasonCode:
        """The reason code of a single flag (``ValueError`` for a combination)."""
        if self.name is None or self not in _SINGLE_FLAGS:
            raise ValueError(f"{self!r} is not a single quality flag")
        return ReasonCode[self.name]

    @classmethod
    def split(cls, flags: int) -> list[QualityFlag]:
        """The single flags set in a bitmask, in a fixed order (lowest bit first)."""
        return [f for f in _SINGLE_FLAGS if flags & f]


_SINGLE_FLAGS: tuple[QualityFlag, ...] = tuple(QualityFlag.__members__.values())

#: Flags that make a frame unusable for judging eyes and mouth.  Darkness, a small
#: face and blur do not: the blink and mouth detectors' own noise floors decide
#: whether such a picture can still be read.
BLOCKING_FLAGS = QualityFlag.NO_FACE | QualityFlag.FACE_TURNED


def flag_names(flags: int) -> list[str]:
    """Reason codes set in a per-frame flag bitmask, in a fixed order."""
    return [f.reason_code.value for f in QualityFlag.split(flags)]


@dataclass(frozen=True)
class FrameTrace:
    """Per-frame signals as parallel arrays of length ``N`` (frames decoded).

    A validated container: every column is one-dimensional and of the same
    length (``InputError`` ``BAD_TRACE`` otherwise).  Index it with a slice,
    a boolean mask of shape (N,) or integer indices to get another
    ``FrameTrace`` of the selected frames.  Values are ``nan`` where no face
    was tracked.

    Attributes
    ----------
    t_s : ndarray of float64, shape (N,)
        Container timestamp of each frame, seconds.
    n_faces : ndarray of int64, shape (N,)
        Faces counted in the frame (-1 where not counted this frame).
    left_eye, right_eye : ndarray of float64, shape (N,)
        Eyelid aperture (lid gap / eye width) of the subject's left and right eye.
    eye_width_ratio : ndarray of float64, shape (N,)
        Mean eye width over the nose's length
        (:func:`~livecert.face.geometry.eye_width_ratio`): it narrows when the
        face, or a picture of it, turns to the side, and not in a blink.
    inner_lip_gap : ndarray of float64, shape (N,)
        Inner-lip gap over face width: the mouth openings of read-digits.
    outer_lip_height : ndarray of float64, shape (N,)
        Outer-lip height over face width: what lip-voice sync correlates.
    yaw_deg, pitch_deg : ndarray of float64, shape (N,)
        Head rotation estimated from the mesh.
    face_width_px, brightness, sharpness : ndarray of float64, shape (N,)
        Quality measurements (see :class:`~livecert.config.QualityConfig`).
    flags : ndarray of int64, shape (N,)
        Bitmask of :class:`QualityFlag` per frame.
    """

    t_s: FloatArray
    n_faces: IntArray
    left_eye: FloatArray
    right_eye: FloatArray
    eye_width_ratio: FloatArray
    inner_lip_gap: FloatArray
    outer_lip_height: FloatArray
    yaw_deg: FloatArray
    pitch_deg: FloatArray
    face_width_px: FloatArray
    brightness: FloatArray
    sharpness: FloatArray
    flags: IntArray

    def __post_init__(self) -> None:
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        columns = per_frame("FrameTrace", given, ErrorCode.BAD_TRACE, integer=_INT_COLUMNS)
        for name, col in columns.items():
            object.__setattr__(self, name, col)

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def empty(cls) -> FrameTrace:
        """A trace of no frames."""
        f, i = np.zeros(0), np.zeros(0, dtype=np.int64)
        return cls(f, i, f, f, f, f, f, f, f, f, f, f, i)

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def __getitem__(self, index: slice | BoolArray | IntArray) -> FrameTrace:
        """The frames selected by a slice, a boolean mask of shape (N,) or integer indices."""
        if isinstance(index, np.ndarray) and index.dtype == np.bool_ and index.shape != self.t_s.shape:
            raise InputError(f"mask of shape {index.shape} for a trace of {len(self)} frames", code=ErrorCode.BAD_TRACE)
        return FrameTrace(**{name: getattr(self, name)[index] for name in self.columns()})

    @property
    def has_face(self) -> BoolArray:
        """Boolean mask, shape (N,): a face was tracked in the frame."""
        return np.isfinite(self.left_eye)

    @property
    def usable(self) -> BoolArray:
        """Boolean mask, shape (N,): the face is good enough to judge eyes and mouth
        (tracked and frontal; see :data:`BLOCKING_FLAGS`)."""
        blocked: BoolArray = (self.flags & int(BLOCKING_FLAGS)) != 0
        return self.has_face & ~blocked

    def where_usable(self, column: str) -> FloatArray:
        """A float column with ``nan`` in the frames that are not :attr:`usable`, shape (N,)."""
        return np.where(self.usable, getattr(self, column), np.nan)


_INT_COLUMNS = frozenset({"n_faces", "flags"})


class Content(StrEnum):
    """Which evidence decided what was said in a read-digits check (``"content"`` in the JSON)."""

    #: A recogniser heard the digits and they were compared with the challenge.
    RECOGNISED = "recognised"
    #: No recogniser for the reader's language: the decision rests on the
    #: mouth and voice answering the prompts in time and in sync, not on
    #: which words were said.
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class PromptAnswer:
    """How one digit of a ``one_by_one`` challenge was answered (clip seconds).

    Attributes
    ----------
    shown_s : float
        When the digit appeared.
    voice_onset_s, voice_end_s : float or None
        The answer's voice, None when no voice answered the prompt (or the
        recording has no sound).
    mouth_onset_s : float or None
        When the mouth opened for the answer, None when it did not.
    heard : str or None
        The digit the recogniser heard in the answer (``""``: none), None
        when no recogniser was used.
    """

    shown_s: float
    voice_onset_s: float | None
    voice_end_s: float | None
    mouth_onset_s: float | None
    heard: str | None = None

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        return {
            "shown_s": round(self.shown_s, 3),
            "voice_onset_s": r(self.voice_onset_s),
            "voice_end_s": r(self.voice_end_s),
            "mouth_onset_s": r(self.mouth_onset_s),
            "heard": self.heard,
        }


@dataclass(frozen=True)
class DigitsEvidence:
    """What the read-digits check found (``"digits"`` in the JSON).

    ``content`` says whether a recogniser checked the words, ``misheard``
    how many digits it heard wrong (edit distance; None when not checked,
    and :attr:`~livecert.config.DigitsConfig.max_misheard` says how many may
    be); ``prompts``
    (``one_by_one`` challenges) how each digit was answered, and
    ``prompt_sync`` the lip-voice sync score over the answers only.
    """

    expected: str
    heard: str | None
    speech_segments: tuple[tuple[float, float], ...]
    mouth_events: tuple[float, ...]
    av_sync: tuple[float, float] | None
    audio: bool
    passed: bool
    content: Content = Content.NOT_CHECKED
    prompts: tuple[PromptAnswer, ...] = ()
    prompt_sync: float | None = None
    misheard: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "heard": self.heard,
            "misheard": self.misheard,
            "speech_segments": [{"start_s": round(a, 3), "end_s": round(b, 3)} for a, b in self.speech_segments],
            "mouth_events": [round(x, 3) for x in self.mouth_events],
            "av_sync": None
            if self.av_sync is None
            else {"score": round(self.av_sync[0], 4), "lag_s": round(self.av_sync[1], 3)},
            "audio": self.audio,
            "passed": self.passed,
            "content": self.content.value,
            "prompts": [a.to_dict() for a in self.prompts],
            "prompt_sync": None
            if self.prompt_sync is None or not math.isfinite(self.prompt_sync)
            else round(self.prompt_sync, 4),
        }


@dataclass(frozen=True)
class MatchResult:
    """Outcome of comparing the live face with the enrollment: ``passed`` is
    ``distance <= threshold`` with at least one frame used; ``distance`` is that
    of the frames' mean descriptor (``nan`` without frames); ``policy`` is the
    named operating point whose threshold was used (None for a custom
    threshold); ``frame_distances``
    (each frame's own, not in ``to_dict()``) are for diagnosis;
    ``probe_descriptors``, shape (frames_used, D), are the live frames' own
    descriptors, so that a tuning run can compare the very descriptors
    :func:`livecert.verify` made with other enrollments."""

    passed: bool
    distance: float
    threshold: float
    frames_used: int
    frame_distances: tuple[float, ...] = field(default=(), compare=False)
    probe_descriptors: FloatArray = field(default_factory=lambda: np.zeros((0, 0)), compare=False, repr=False)
    policy: MatchPolicy | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"passed", "distance", "threshold", "policy", "frames_used"}``; distance is
        null if nan, policy null for a custom threshold."""
        return {
            "passed": self.passed,
            "distance": round(self.distance, 4) if math.isfinite(self.distance) else None,
            "threshold": self.threshold,
            "policy": None if self.policy is None else self.policy.value,
            "frames_used": self.frames_used,
        }


class Cue(StrEnum):
    """The presentation-attack cues (see :mod:`livecert.liveness.spoof`)."""

    PLANAR_MOTION = "planar_motion"
    BACKGROUND_LOCK = "background_lock"
    STILLNESS = "stillness"
    LID_MOTION = "lid_motion"
    BLINK_SHAPE = "blink_shape"
    HELD_PICTURE = "held_picture"
    TONE = "tone"


@dataclass(frozen=True)
class CueScore:
    """One presentation-attack cue's verdict on a clip.

    Attributes
    ----------
    cue : Cue
    score : float or None
        1 looks live, 0 looks like an attack; ``None`` when the clip holds
        too little evidence for this cue (undecided).
    threshold : float
        The cue rejects when its score is below this.
    detail : str
        Measured figures, or why the cue is undecided.
    """

    cue: Cue
    score: float | None
    threshold: float
    detail: str = ""

    @property
    def decided(self) -> bool:
        return self.score is not None

    @property
    def rejects(self) -> bool:
        return self.score is not None and self.score < self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": None if self.score is None else round(self.score, 4),
            "threshold": self.threshold,
            "decided": self.decided,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class SpoofEvidence:
    """The presentation-attack check on one clip (``"spoof"`` in the JSON).

    Attributes
    ----------
    cues : tuple of CueScore
    fused : float or None
        The lowest decided cue score relative to its threshold
        (``score / threshold``, below 1 rejects); ``None`` when every cue
        is undecided.
    passed : bool
        No decided cue rejects.  Undecided cues never pass or fail a clip
        on their own: the blink and read-digits checks still have to pass.
    """

    cues: tuple[CueScore, ...]
    fused: float | None
    passed: bool

    @property
    def threshold(self) -> float:
        """The fused score below which a clip is rejected (a cue below its own threshold)."""
        return 1.0

    @property
    def fired(self) -> tuple[CueScore, ...]:
        """The cues that reject the clip."""
        return tuple(c for c in self.cues if c.rejects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "fused": None if self.fused is None else round(self.fused, 4),
            "threshold": self.threshold,
            "cues": {c.cue.value: c.to_dict() for c in self.cues},
        }


@dataclass(frozen=True)
class Timings:
    """Wall-clock milliseconds spent in each stage over the whole clip."""

    decode: float = 0.0
    landmarks: float = 0.0
    blink: float = 0.0
    total: float = 0.0
    digits: float | None = None
    match: float | None = None
    spoof: float = 0.0

    def to_dict(self) -> dict[str, float]:
        out = {"decode": self.decode, "landmarks": self.landmarks, "blink": self.blink, "spoof": self.spoof}
        if self.digits is not None:
            out["digits"] = self.digits
        if self.match is not None:
            out["match"] = self.match
        out["total"] = self.total
        return {k: round(v, 2) for k, v in out.items()}


@dataclass(frozen=True)
class ModelInfo:
    """One model a check used (``meta.models[]`` in the JSON).

    Attributes
    ----------
    id : str
        Stable name of the model, e.g. ``"dlib_face_recognition_resnet_model_v1"``.
    package : str
        The package that ships it, with its version (``"mediapipe==0.10.21"``),
        or ``""`` for a model given by the caller.
    sha256 : str or None
        SHA-256 of the model file, hex; None when it is not one file livecert
        can read (a caller's recogniser).
    """

    id: str
    package: str = ""
    sha256: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "package": self.package, "sha256": self.sha256}


@dataclass(frozen=True)
class ResultMeta:
    """What an audit record needs beside the verdict (``"meta"`` in the JSON).

    Attributes
    ----------
    livecert_version : str
    checked_at : str
        When the check started, UTC, ISO 8601 (``"2026-03-01T08:15:30.123Z"``).
    models : tuple of ModelInfo
        The models the check used, with the SHA-256 of their files.
    challenge_nonce : str or None
        The read-digits challenge's single-use nonce (digits mode, when the
        token could be read).
    input_sha256 : str or None
        SHA-256 of the input, hex, when it was a file (or bytes); None for a
        camera, a folder of images or frames.
    """

    livecert_version: str
    checked_at: str
    models: tuple[ModelInfo, ...] = ()
    challenge_nonce: str | None = None
    input_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "livecert_version": self.livecert_version,
            "checked_at": self.checked_at,
            "models": [m.to_dict() for m in self.models],
            "challenge_nonce": self.challenge_nonce,
            "input_sha256": self.input_sha256,
        }


@dataclass(frozen=True)
class VerificationResult:
    """What :func:`livecert.verify` returns.

    Attributes
    ----------
    passed : bool
        True only when every required check passed and no reason was raised.
    mode : Mode
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
    digits : DigitsEvidence or None
        What the read-digits check found (digits mode).
    match : MatchResult or None
        Face matching, when an enrollment was given.
    spoof : SpoofEvidence or None
        The presentation-attack cues (None when the check is switched off).
    meta : ResultMeta or None
        Audit record: livecert version, models and their hashes, time of
        the check, challenge nonce, input hash.  :func:`livecert.verify`
        fills it; None from a :class:`~livecert.session.live.LivenessSession`.
    frames_dropped : int
        Frames the file holds that were not judged (damaged packets that
        decode to nothing, frames repeating a timestamp); ``frames.dropped``
        in the JSON.
    warnings : tuple of str
        What the input had that may change the verdict (damaged packets,
        dropped frames, other video streams ignored); empty for a clean file.
    advice : tuple of Reason
        Picture problems (``FACE_TOO_SMALL``, ``TOO_DARK``, ``BLURRY``,
        ``FACE_TURNED``) seen on most frames that did not stop the check,
        because its evidence could still be read; the same codes and
        messages as ``reasons``, for an app to help the next time.

    Notes
    -----
    :attr:`liveness_passed` and :attr:`identity_passed` split ``passed``:
    ``FACE_MISMATCH`` is the only identity reason, every other reason is a
    liveness or quality one.
    """

    passed: bool
    mode: Mode
    reasons: tuple[Reason, ...]
    blinks: tuple[BlinkEvent, ...]
    frames_total: int
    frames_with_face: int
    duration_s: float
    timings: Timings
    trace: FrameTrace | None = field(default=None, repr=False, compare=False)
    digits: DigitsEvidence | None = None
    match: MatchResult | None = None
    spoof: SpoofEvidence | None = None
    meta: ResultMeta | None = field(default=None, compare=False)  # two checks differ in time at least
    frames_dropped: int = 0
    warnings: tuple[str, ...] = ()
    advice: tuple[Reason, ...] = ()

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code.value for r in self.reasons)

    @property
    def liveness_passed(self) -> bool:
        """A live person did what was asked: no reason other than ``FACE_MISMATCH``."""
        return all(r.code is ReasonCode.FACE_MISMATCH for r in self.reasons)

    @property
    def identity_passed(self) -> bool | None:
        """The face matches the enrollment; None when no enrollment was given."""
        if self.match is None:
            return None
        return self.match.passed and all(r.code is not ReasonCode.FACE_MISMATCH for r in self.reasons)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The JSON object printed by ``livecert verify --json``."""
        out: dict[str, Any] = {
            "passed": self.passed,
            "liveness_passed": self.liveness_passed,
            "identity_passed": self.identity_passed,
            "mode": self.mode.value,
            "reasons": [r.to_dict(lang) for r in self.reasons],
            "blinks": [b.to_dict() for b in self.blinks],
            "frames": {"total": self.frames_total, "with_face": self.frames_with_face, "dropped": self.frames_dropped},
            "duration_s": round(self.duration_s, 4),
            "timings_ms": self.timings.to_dict(),
        }
        if self.digits is not None:
            out["digits"] = self.digits.to_dict()
        if self.match is not None:
            out["match"] = self.match.to_dict()
        if self.spoof is not None:
            out["spoof"] = self.spoof.to_dict()
        if self.meta is not None:
            out["meta"] = self.meta.to_dict()
        out["warnings"] = list(self.warnings)
        out["advice"] = [r.to_dict(lang) for r in self.advice]
        return out
