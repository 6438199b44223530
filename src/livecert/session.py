"""LivenessSession: the one code path from frames to a decision.

``verify()`` feeds a recording into a session; a live application feeds
camera frames into one and shows what ``push()`` returns.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from livecert import geometry, quality
from livecert.blink import detect_blinks
from livecert.capture import check_frame
from livecert.config import VerifyConfig
from livecert.errors import InputError, SessionStateError
from livecert.landmarks import FaceLandmarker, RunningMode
from livecert.results import (
    FLAG_CODES,
    FrameTrace,
    Reason,
    ReasonCode,
    Timings,
    VerificationResult,
)

MODES = ("blink",)


@dataclass(frozen=True)
class SessionUpdate:
    """What the application should show after one frame.

    Attributes
    ----------
    step : str
        ``"face"`` (get the face right) or ``"action"`` (blink / read digits).
    guidance : str
        Stable code: a quality :class:`ReasonCode` value, ``"PLEASE_BLINK"``
        or ``"DONE"``.
    message_en, message_zh : str
        What to tell the person.
    progress : float
        0 to 1.
    finished : bool
    """

    step: str
    guidance: str
    message_en: str
    message_zh: str
    progress: float
    finished: bool


_PLEASE_BLINK = ("Please blink slowly.", "请慢慢眨眼。")
_DONE = ("Done. Thank you.", "完成，谢谢。")


class LivenessSession:
    """Streaming liveness check.

    Parameters
    ----------
    mode : str
        ``"blink"``.
    config : VerifyConfig, optional

    Use as a context manager; push frames with strictly increasing
    timestamps, then call :meth:`result`.
    """

    def __init__(self, *, mode: str = "blink", config: VerifyConfig | None = None) -> None:
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}", code="BAD_MODE")
        if config is not None and not isinstance(config, VerifyConfig):
            raise InputError(f"config must be a livecert.VerifyConfig, not {type(config).__name__}", code="BAD_CONFIG")
        self.mode = mode
        self.config = config or VerifyConfig()
        self._landmarker = FaceLandmarker(self.config.landmarks, mode=RunningMode.VIDEO)
        self._rows: list[tuple[float, ...]] = []
        self._last_t = -math.inf
        self._landmarks_ms = 0.0
        self._decode_ms = 0.0
        self._finished = False
        self._closed = False
        self._result: VerificationResult | None = None

    def __enter__(self) -> LivenessSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._landmarker.close()
            self._closed = True

    @property
    def frames_pushed(self) -> int:
        return len(self._rows)

    def push(self, frame_rgb: np.ndarray, timestamp_s: float, *, decode_ms: float = 0.0) -> SessionUpdate:
        """Analyse one frame.

        Parameters
        ----------
        frame_rgb : ndarray of uint8, shape (H, W, 3)
        timestamp_s : float
            Strictly greater than the previous frame's.
        decode_ms : float
            Time the caller spent producing the frame (reported as "decode").

        Raises
        ------
        SessionStateError
            Timestamps not increasing, or the session has finished or closed.
        InputError
            A frame of the wrong type, dtype or shape.
        """
        if self._closed or self._finished:
            raise SessionStateError(
                "push() after the session finished; start a new LivenessSession", code="SESSION_FINISHED"
            )
        rgb = check_frame(frame_rgb, f"frame {len(self._rows)}")
        t = float(timestamp_s)
        if not math.isfinite(t) or t <= self._last_t:
            raise SessionStateError(
                f"timestamps must increase: got {timestamp_s} s after {self._last_t} s",
                code="TIMESTAMP_NOT_INCREASING",
            )
        self._last_t = t
        self._decode_ms += decode_ms
        t0 = time.perf_counter()
        obs = self._landmarker.process(rgb, t)
        q = quality.measure(rgb, obs.points, obs.n_faces, self.config.quality)
        if obs.points is not None:
            left, right = geometry.eye_apertures(obs.points)
            mouth = geometry.mouth_aperture(obs.points)
        else:
            left = right = mouth = math.nan
        self._rows.append(
            (t, obs.n_faces, left, right, mouth, q.yaw_deg, q.pitch_deg, q.face_width_px, q.brightness, q.sharpness, q.flags)
        )
        self._landmarks_ms += (time.perf_counter() - t0) * 1e3
        return self._guidance(q.flags)

    def _guidance(self, flags: int) -> SessionUpdate:
        for bit, code in FLAG_CODES.items():
            if flags & bit:
                return SessionUpdate("face", code.value, code.message_en, code.message_zh, 0.0, False)
        return SessionUpdate("action", "PLEASE_BLINK", *_PLEASE_BLINK, 0.5, False)

    def trace(self) -> FrameTrace:
        """The per-frame signals pushed so far."""
        cols = np.array(self._rows, dtype=np.float64).reshape(-1, 11).T
        return FrameTrace(
            t_s=cols[0],
            n_faces=cols[1].astype(np.int64),
            left_eye=cols[2],
            right_eye=cols[3],
            mouth=cols[4],
            yaw_deg=cols[5],
            pitch_deg=cols[6],
            face_width_px=cols[7],
            brightness=cols[8],
            sharpness=cols[9],
            flags=cols[10].astype(np.int64),
        )

    def result(self, *, extra_ms: dict[str, float] | None = None) -> VerificationResult:
        """Decide.  The session is finished afterwards; calling again returns
        the same result."""
        if self._result is not None:
            return self._result
        self._finished = True
        trace = self.trace()
        reasons: list[Reason] = []
        n = len(trace)
        duration = _duration(trace.t_s)
        if n == 0 or duration < self.config.quality.min_clip_s:
            reasons.append(Reason(ReasonCode.TOO_SHORT, f"{n} frames, {duration:.2f} s"))
        reasons.extend(quality.clip_reasons(trace, self.config.quality))

        t0 = time.perf_counter()
        usable = quality.usable_mask(trace)
        left = np.where(usable, trace.left_eye, np.nan)
        right = np.where(usable, trace.right_eye, np.nan)
        blinks = detect_blinks(trace.t_s, left, right, self.config.blink)
        blink_ms = (time.perf_counter() - t0) * 1e3
        if len(blinks.events) < self.config.blink.min_blinks:
            reasons.append(
                Reason(ReasonCode.NO_BLINK, f"{len(blinks.events)} blinks, {self.config.blink.min_blinks} needed")
            )
        extra = extra_ms or {}
        timings = Timings(
            decode=self._decode_ms,
            landmarks=self._landmarks_ms,
            blink=blink_ms,
            total=extra.get("total", self._decode_ms + self._landmarks_ms + blink_ms),
        )
        self._result = VerificationResult(
            passed=not reasons,
            mode=self.mode,
            reasons=tuple(_dedupe(reasons)),
            blinks=blinks.events,
            frames_total=n,
            frames_with_face=int(np.count_nonzero(trace.has_face)),
            duration_s=duration,
            timings=timings,
            trace=trace,
        )
        return self._result


def _duration(t: np.ndarray) -> float:
    if t.shape[0] < 2:
        return 0.0
    step = float(np.median(np.diff(t)))
    return float(t[-1] - t[0]) + step


def _dedupe(reasons: list[Reason]) -> list[Reason]:
    seen: set[Any] = set()
    out = []
    for r in reasons:
        if r.code not in seen:
            seen.add(r.code)
            out.append(r)
    return out
