"""LivenessSession: the one code path from frames to a decision.

``verify()`` feeds a recording into a session (``live=False``: the whole
recording is judged, nothing times out); a live application feeds camera
frames into one (``live=True``) and shows what each ``push()`` returns:

1. ``face``: get the face right (one face, big enough, lit, frontal, held
   for ``SessionConfig.face_ok_s``);
2. ``action``: blink, or read the challenge's digits as its prompt schedule
   shows them; the best frames for face matching are kept meanwhile;
3. ``done``: decide (:meth:`LivenessSession.result`).

Each step has a time limit (``SessionConfig``); the action step may be
retried ``action_retries`` times before the session ends with ``TIMEOUT``.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from livecert.config import VerifyConfig
from livecert.errors import InputError, SessionStateError
from livecert.face import geometry, quality
from livecert.face.landmarks import FaceLandmarker, RunningMode
from livecert.identity.embedding import DlibEmbedder
from livecert.identity.enrollment import Enrollment, enroll
from livecert.identity.matching import FramePool, match_faces
from livecert.io.frames import check_frame
from livecert.liveness.blink import detect_blinks
from livecert.liveness.challenge import Challenge, check_challenge
from livecert.liveness.digits import check_digits
from livecert.liveness.mouth import fits_prompt, mouth_events
from livecert.results import FLAG_CODES, FrameTrace, Reason, ReasonCode, Timings, VerificationResult
from livecert.speech.english import EnglishDigitRecogniser

MODES = ("blink", "digits")

_N_COLS = 12


class Guidance(str, enum.Enum):
    """What the person is asked to do; quality problems use their :class:`ReasonCode` value."""

    HOLD_STILL = "HOLD_STILL"
    PLEASE_BLINK = "PLEASE_BLINK"
    READ_DIGITS = "READ_DIGITS"
    TRY_AGAIN = "TRY_AGAIN"
    DONE = "DONE"
    TIMEOUT = "TIMEOUT"


_GUIDANCE_TEXT: dict[Guidance, tuple[str, str]] = {
    Guidance.HOLD_STILL: ("Good. Hold still and look at the camera.", "很好。请保持不动，看着镜头。"),
    Guidance.PLEASE_BLINK: ("Please blink your eyes slowly.", "请慢慢眨眨眼。"),
    Guidance.READ_DIGITS: ("Please read the digits aloud.", "请大声读出屏幕上的数字。"),
    Guidance.TRY_AGAIN: ("Let's try once more, take your time.", "我们再试一次，不用着急。"),
    Guidance.DONE: ("Done. Thank you.", "完成，谢谢。"),
    Guidance.TIMEOUT: ("Time ran out. Please start again.", "操作超时。请重新开始。"),
}


@dataclass(frozen=True)
class SessionUpdate:
    """What the application should show after one frame.

    Attributes
    ----------
    step : str
        ``"face"``, ``"action"`` or ``"done"``.
    guidance : str
        Stable code: a quality :class:`ReasonCode` value (``NO_FACE``,
        ``FACE_TOO_SMALL``, ...) or a :class:`Guidance` value.
    message_en, message_zh : str
        What to tell the person.
    progress : float
        0 to 1.
    finished : bool
        The session has decided; call :meth:`LivenessSession.result`.
    prompt : str
        Digits to show now (digits mode, action step), else ``""``.
    seconds_left : float
        Time left in the current step (``inf`` when not live).
    repeat : int
        How many times this instruction has been repeated.
    points : ndarray, shape (478, 3), or None
        The tracked face mesh in this frame (for drawing).
    eye_aperture : float
        Mean eyelid aperture of both eyes in this frame (``nan`` without a face).
    mouth_aperture : float
    """

    step: str
    guidance: str
    message_en: str
    message_zh: str
    progress: float
    finished: bool
    prompt: str = ""
    seconds_left: float = math.inf
    repeat: int = 0
    points: np.ndarray | None = field(default=None, repr=False, compare=False)
    eye_aperture: float = math.nan
    mouth_aperture: float = math.nan

    def message(self, lang: str = "en") -> str:
        return self.message_zh if lang == "zh" else self.message_en


class LivenessSession:
    """Streaming liveness (and identity) check.

    Parameters
    ----------
    mode : {"blink", "digits"}
    config : VerifyConfig, optional
    challenge : str or Challenge, optional
        Digits mode: a signed token (checked with ``key``) or a Challenge.
        It is checked, and its nonce used up, when the session starts.
    key : bytes, optional
    nonce_store : NonceStore, optional
        Single-use store; without one reuse is not detected.
    enrolled : Enrollment, str or Path, optional
        The enrolled face: an :class:`~livecert.identity.enrollment.Enrollment`, a
        saved enrollment file (``.npz``) or a photo to enroll.
    live : bool
        True: steps end on success, time out, and :meth:`push` refuses
        frames after the end.  False (``verify()``): the whole recording
        is judged; the prompt is taken to appear at the first frame.
    now : float, optional
        Wall-clock time for the challenge expiry check (default: now).
    recogniser : DigitRecogniser, optional
        Digits mode: what turns the recording's sound into digits (anything
        with ``recognise(samples, sample_rate, n_digits) -> str``, see
        :mod:`livecert.speech.recogniser`).  Default: a new English
        :class:`~livecert.speech.english.EnglishDigitRecogniser`.  Pass one
        instance to many sessions (one thread at a time) to load its model
        once.

    Use as a context manager.
    """

    def __init__(
        self,
        *,
        mode: str = "blink",
        config: VerifyConfig | None = None,
        challenge: Any = None,
        key: bytes | None = None,
        nonce_store: Any = None,
        enrolled: Any = None,
        live: bool = True,
        now: float | None = None,
        recogniser: Any = None,
    ) -> None:
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}", code="BAD_MODE")
        if config is not None and not isinstance(config, VerifyConfig):
            raise InputError(f"config must be a livecert.VerifyConfig, not {type(config).__name__}", code="BAD_CONFIG")
        self.mode = mode
        self.live = live
        self.config = config or VerifyConfig()
        self._challenge, self._challenge_reason = _check_challenge(mode, challenge, key, nonce_store, now)
        self._recogniser = _digit_recogniser(mode, recogniser)
        t0 = time.perf_counter()
        self._embedder: Any = None
        self._pool: Any = None
        self._enrollment = None
        if enrolled is not None:
            self._embedder = DlibEmbedder()  # one model load serves enrollment and matching
            self._enrollment = _load_enrollment(enrolled, self.config, self._embedder)
            self._pool = FramePool(self.config.match.max_frames, self.config.match.min_frame_gap_s)
        self._match_ms = (time.perf_counter() - t0) * 1e3 if enrolled is not None else 0.0
        self._landmarker = FaceLandmarker(self.config.landmarks, mode=RunningMode.VIDEO)
        self._rows: list[tuple[float, ...]] = []
        self._last_t = -math.inf
        self._image_check: tuple[float, tuple[float, float]] | None = None
        self._landmarks_ms = 0.0
        self._decode_ms = 0.0
        # step state
        self._step = "face"
        self._step_start: float | None = None
        self._face_ok_since: float | None = None
        self._action_start: float | None = None
        self._tries = 0
        self._blinks_seen = 0
        self._last_progress_t = -math.inf
        self._timeout_step: str | None = None
        self._finished = False
        self._closed = False
        self._result: VerificationResult | None = None

    def __enter__(self) -> LivenessSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the face models.  Safe to call twice."""
        if not self._closed:
            self._landmarker.close()
            self._closed = True

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def frames_pushed(self) -> int:
        return len(self._rows)

    # ------------------------------------------------------------------ frames

    def push(self, frame_rgb: np.ndarray, timestamp_s: float, *, decode_ms: float = 0.0) -> SessionUpdate:
        """Analyse one frame and say what to show.

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
            Timestamps not increasing (``TIMESTAMP_NOT_INCREASING``), or the
            session finished or was closed (``SESSION_FINISHED``).
        InputError
            A frame of the wrong type, dtype or shape.
        """
        if self._closed or self._finished:
            raise SessionStateError(
                "push() after the session finished; call result(), or start a new LivenessSession",
                code="SESSION_FINISHED",
            )
        rgb = check_frame(frame_rgb, f"frame {len(self._rows)}")
        try:
            t = float(timestamp_s)
        except (TypeError, ValueError):
            raise SessionStateError(f"timestamp {timestamp_s!r} is not a number", code="BAD_TIMESTAMP") from None
        if not math.isfinite(t) or t <= self._last_t:
            raise SessionStateError(
                f"timestamps must increase: got {timestamp_s} s after {self._last_t} s",
                code="TIMESTAMP_NOT_INCREASING",
            )
        self._last_t = t
        self._decode_ms += decode_ms
        t0 = time.perf_counter()
        obs = self._landmarker.process(rgb, t)
        q = quality.measure(
            rgb, obs.points, obs.n_faces, self.config.quality, self._light_and_sharpness(rgb, obs.points, t)
        )
        if obs.points is not None:
            left, right = geometry.eye_apertures(obs.points)
            mouth = geometry.mouth_aperture(obs.points)
            mouth_h = geometry.mouth_height(obs.points)
            if self._pool is not None:
                self._pool.offer_frame(rgb, obs.points, t, q, (left + right) / 2)
        else:
            left = right = mouth = mouth_h = math.nan
        self._rows.append(
            (
                t,
                obs.n_faces,
                left,
                right,
                mouth,
                mouth_h,
                q.yaw_deg,
                q.pitch_deg,
                q.face_width_px,
                q.brightness,
                q.sharpness,
                q.flags,
            )
        )
        update = replace(
            self._advance(t, q.flags), points=obs.points, eye_aperture=(left + right) / 2, mouth_aperture=mouth
        )
        self._landmarks_ms += (time.perf_counter() - t0) * 1e3
        return update

    def _light_and_sharpness(self, rgb: np.ndarray, points: np.ndarray | None, t: float) -> tuple[float, float] | None:
        if points is None:
            self._image_check = None
            return None
        last = self._image_check
        if last is None or t - last[0] >= self.config.quality.image_check_interval_s:
            last = (t, quality.measure_light_and_sharpness(rgb, points))
            self._image_check = last
        return last[1]

    # ------------------------------------------------------------------- steps

    def _advance(self, t: float, flags: int) -> SessionUpdate:
        cfg = self.config.session
        if self._step_start is None:
            self._step_start = t
        if self._step == "face":
            self._face_ok_since = (self._face_ok_since or t) if flags == 0 else None
            if self._face_ok_since is not None and t - self._face_ok_since >= cfg.face_ok_s:
                self._start_action(t)
            elif self.live and t - self._step_start > cfg.face_step_s:
                return self._time_out("face")
            else:
                left = cfg.face_step_s - (t - self._step_start)
                return self._update(flags, Guidance.HOLD_STILL, 0.1 if flags else 0.2, t, left)
        return self._action(t, flags)

    def _start_action(self, t: float) -> None:
        self._step = "action"
        self._action_start = t
        self._step_start = t
        self._tries += 1

    def _action_limit(self) -> float:
        cfg = self.config.session
        if self.mode == "blink":
            return cfg.blink_step_s
        d = self.config.digits
        n = len(self._challenge.digits) if self._challenge is not None else 4
        return _schedule_end(self._challenge) + d.max_reaction_s + n * d.per_digit_s + cfg.digits_extra_s

    def _action(self, t: float, flags: int) -> SessionUpdate:
        cfg = self.config.session
        elapsed = t - (self._action_start if self._action_start is not None else t)
        limit = self._action_limit()
        done = self._action_done(t)
        if done and self.live:
            self._step = "done"
            self._finished = True
            return SessionUpdate("done", Guidance.DONE.value, *_GUIDANCE_TEXT[Guidance.DONE], 1.0, True)
        if self.live and elapsed > limit:
            if self._tries <= cfg.action_retries:
                self._start_action(t)
                return SessionUpdate(
                    "action",
                    Guidance.TRY_AGAIN.value,
                    *_GUIDANCE_TEXT[Guidance.TRY_AGAIN],
                    0.3,
                    False,
                    self._prompt(0.0),
                    limit,
                    0,
                )
            return self._time_out("action")
        want = Guidance.PLEASE_BLINK if self.mode == "blink" else Guidance.READ_DIGITS
        progress = 0.3 + 0.6 * min(1.0, elapsed / limit)
        if self.mode == "blink":
            progress = max(progress, 0.3 + 0.6 * min(1.0, self._blinks_seen / max(1, self.config.blink.min_blinks)))
        update = self._update(flags, want, progress, t, limit - elapsed, elapsed)
        return update

    def _action_done(self, t: float) -> bool:
        """Has the action succeeded?  Live sessions only (a recording is judged
        as a whole by :meth:`result`); evaluated every ``progress_every_s``."""
        cfg = self.config.session
        if not self.live or t - self._last_progress_t < cfg.progress_every_s:
            return False
        self._last_progress_t = t
        start = self._action_start if self._action_start is not None else t
        # Blinks: the last few seconds are enough to see a new one (bounded cost per frame).
        window_start = max(start, t - 2.0 * self.config.blink.baseline_window_s)
        trace = self._trace_since(window_start if self.mode == "blink" else start)
        if self.mode == "blink":
            blinks = self._detect_blinks(trace, quality.usable_mask(trace))
            self._blinks_seen = max(self._blinks_seen, len(blinks.events))
            return self._blinks_seen >= self.config.blink.min_blinks

        if self._challenge is None or t - start < _schedule_end(self._challenge):
            return False
        mouth = np.where(quality.usable_mask(trace), trace.mouth, np.nan)
        events = mouth_events(trace.t_s, mouth, self.config.digits).events
        ok, _ = fits_prompt(events, len(self._challenge.digits), start, self.config.digits)
        return ok and t - events[-1] >= cfg.quiet_after_speech_s

    def _detect_blinks(self, trace: FrameTrace, usable: np.ndarray) -> Any:
        """Blinks in the frames whose face is good enough to judge the eyes (``usable``, shape (N,))."""
        left = np.where(usable, trace.left_eye, np.nan)
        right = np.where(usable, trace.right_eye, np.nan)
        return detect_blinks(trace.t_s, left, right, self.config.blink)

    def _prompt(self, elapsed: float) -> str:
        if self.mode != "digits" or self._challenge is None:
            return ""
        shown = [
            s.text
            for s in self._challenge.schedule
            if s.show_at_s <= elapsed and (s.hide_at_s is None or elapsed < s.hide_at_s)
        ]
        return "".join(shown)

    def _update(
        self, flags: int, want: Guidance, progress: float, t: float, seconds_left: float, elapsed: float | None = None
    ) -> SessionUpdate:
        repeat = int((t - (self._step_start or t)) // self.config.session.reprompt_s)
        prompt = self._prompt(elapsed) if elapsed is not None else ""
        for bit, code in FLAG_CODES.items():
            if flags & bit:
                return SessionUpdate(
                    self._step,
                    code.value,
                    code.message_en,
                    code.message_zh,
                    progress,
                    False,
                    prompt,
                    seconds_left if self.live else math.inf,
                    repeat,
                )
        en, zh = _GUIDANCE_TEXT[want]
        return SessionUpdate(
            self._step, want.value, en, zh, progress, False, prompt, seconds_left if self.live else math.inf, repeat
        )

    def _time_out(self, step: str) -> SessionUpdate:
        self._timeout_step = step
        self._finished = True
        self._step = "done"
        return SessionUpdate("done", Guidance.TIMEOUT.value, *_GUIDANCE_TEXT[Guidance.TIMEOUT], 1.0, True)

    # ------------------------------------------------------------------ result

    def trace(self) -> FrameTrace:
        """The per-frame signals pushed so far."""
        return self._trace_since(-math.inf)

    def _trace_since(self, t0: float) -> FrameTrace:
        rows = self._rows
        if t0 > -math.inf:
            i = len(rows)
            while i > 0 and rows[i - 1][0] >= t0:
                i -= 1
            rows = rows[i:]
        cols = np.array(rows, dtype=np.float64).reshape(-1, _N_COLS).T
        return FrameTrace(
            t_s=cols[0],
            n_faces=cols[1].astype(np.int64),
            left_eye=cols[2],
            right_eye=cols[3],
            mouth=cols[4],
            mouth_height=cols[5],
            yaw_deg=cols[6],
            pitch_deg=cols[7],
            face_width_px=cols[8],
            brightness=cols[9],
            sharpness=cols[10],
            flags=cols[11].astype(np.int64),
        )

    def result(self, *, audio: Any = None, extra_ms: dict[str, float] | None = None) -> VerificationResult:
        """Decide.  The session is finished afterwards; calling again returns
        the same result.

        Parameters
        ----------
        audio : AudioTrack, optional
            The recording's sound, on the frames' timeline (digits mode).
        extra_ms : dict, optional
            ``{"audio_decode": ms}`` spent by the caller reading the audio.
        """
        if self._result is not None:
            return self._result
        self._finished = True
        extra = extra_ms or {}
        trace = self.trace()
        n = len(trace)
        duration = _duration(trace.t_s)
        reasons: list[Reason] = []
        if self._challenge_reason is not None:
            reasons.append(Reason(self._challenge_reason))
        if self._timeout_step is not None:
            reasons.append(Reason(ReasonCode.TIMEOUT, f"step {self._timeout_step}"))
        if n == 0 or duration < self.config.quality.min_clip_s:
            reasons.append(Reason(ReasonCode.TOO_SHORT, f"{n} frames, {duration:.2f} s"))
        reasons.extend(quality.clip_reasons(trace, self.config.quality))

        t0 = time.perf_counter()
        usable = quality.usable_mask(trace)
        blinks = self._detect_blinks(trace, usable)
        blink_ms = (time.perf_counter() - t0) * 1e3
        if self.mode == "blink" and len(blinks.events) < self.config.blink.min_blinks:
            reasons.append(
                Reason(ReasonCode.NO_BLINK, f"{len(blinks.events)} blinks, {self.config.blink.min_blinks} needed")
            )

        digits = None
        digits_ms = None
        if self.mode == "digits":
            t1 = time.perf_counter()
            if self._challenge is not None:
                prompt_at = (
                    self._action_start
                    if (self.live and self._action_start is not None)
                    else (float(trace.t_s[0]) if n else 0.0)
                )
                digits, digit_reasons = check_digits(
                    self._challenge,
                    trace.t_s,
                    np.where(usable, trace.mouth, np.nan),
                    audio,
                    self.config.digits,
                    recogniser=self._recogniser,
                    prompt_at_s=prompt_at,
                    mouth_height=np.where(usable, trace.mouth_height, np.nan),
                )
                reasons.extend(digit_reasons)
            digits_ms = (time.perf_counter() - t1) * 1e3 + extra.get("audio_decode", 0.0)

        match = None
        match_ms = None
        if self._enrollment is not None and self._pool is not None:
            t2 = time.perf_counter()
            match = match_faces(self._enrollment, self._pool.candidates(), self.config.match, embedder=self._embedder)
            match_ms = self._match_ms + (time.perf_counter() - t2) * 1e3
            if match.frames_used == 0:
                reasons.append(Reason(ReasonCode.FACE_MISMATCH, "no frame was good enough to compare faces"))
            elif not match.passed:
                reasons.append(
                    Reason(ReasonCode.FACE_MISMATCH, f"distance {match.distance:.3f}, {match.frames_used} frames")
                )

        total = self._decode_ms + self._landmarks_ms + blink_ms + (digits_ms or 0.0) + (match_ms or 0.0)
        self._result = VerificationResult(
            passed=not reasons,
            mode=self.mode,
            reasons=tuple(_dedupe(reasons)),
            blinks=blinks.events,
            frames_total=n,
            frames_with_face=int(np.count_nonzero(trace.has_face)),
            duration_s=duration,
            timings=Timings(
                self._decode_ms, self._landmarks_ms, blink_ms, extra.get("total", total), digits_ms, match_ms
            ),
            trace=trace,
            digits=digits,
            match=match,
        )
        return self._result


def _check_challenge(
    mode: str, challenge: Any, key: bytes | None, store: Any, now: float | None
) -> tuple[Any, ReasonCode | None]:
    if mode != "digits":
        if challenge is not None:
            raise InputError("a challenge is only used in mode='digits'", code="BAD_ARGUMENT")
        return None, None

    if not isinstance(challenge, (Challenge, str)):
        raise InputError(
            "digits mode needs a challenge: a token from livecert.new_challenge(...).to_token(key), a Challenge, "
            "or Challenge.for_known_digits('4729') for recorded test clips",
            code="NO_CHALLENGE",
        )
    # Checked, and its nonce used up, when the session starts: a replay fails at once.
    return check_challenge(challenge, key=key, store=store, now=now)


def _digit_recogniser(mode: str, recogniser: Any) -> Any:
    """The recogniser a digits session uses (``None`` in blink mode)."""
    if recogniser is not None and not callable(getattr(recogniser, "recognise", None)):
        raise InputError(
            f"recogniser must have a recognise(samples, sample_rate, n_digits) method, got {type(recogniser).__name__}",
            code="BAD_ARGUMENT",
        )
    if mode != "digits":
        if recogniser is not None:
            raise InputError("a recogniser is only used in mode='digits'", code="BAD_ARGUMENT")
        return None
    if recogniser is None:
        recogniser = EnglishDigitRecogniser()  # its models load on first use: not at all without audio
    return recogniser


def _load_enrollment(enrolled: Any, config: VerifyConfig, embedder: Any) -> Any:
    from pathlib import Path

    if isinstance(enrolled, Enrollment):
        return enrolled
    if isinstance(enrolled, (str, Path)):
        if str(enrolled).lower().endswith(".npz"):
            return Enrollment.load(enrolled, model_id=embedder.model_id)
        return enroll(enrolled, config=config.match, embedder=embedder, landmark_config=config.landmarks)
    raise InputError(
        f"enrolled must be an Enrollment, an enrollment .npz file or a photo path, not {type(enrolled).__name__}",
        code="BAD_ARGUMENT",
    )


def _schedule_end(challenge: Any) -> float:
    if challenge is None or not challenge.schedule:
        return 0.0
    return max(s.show_at_s for s in challenge.schedule)


def _duration(t: np.ndarray) -> float:
    if t.shape[0] < 2:
        return 0.0
    return float(t[-1] - t[0]) + float(np.median(np.diff(t)))


def _dedupe(reasons: list[Reason]) -> list[Reason]:
    seen: set[ReasonCode] = set()
    out = []
    for r in reasons:
        if r.code not in seen:
            seen.add(r.code)
            out.append(r)
    return out
