"""LivenessSession: the one code path from frames to a decision.

``verify()`` feeds a recording into a session (``live=False``: the whole
recording is judged, nothing times out); a live application feeds camera
frames into one (``live=True``) and shows what each ``push()`` returns:

1. ``face``: get the face right (one face, big enough, lit, frontal, held
   for ``SessionConfig.face_ok_s``);
2. ``action``: blink, or read the challenge's digits as its prompt schedule
   shows them; the best frames for face matching are kept meanwhile;
3. ``done``: decide (:meth:`LivenessSession.result`).

The steps live in :mod:`livecert.session.steps`, the per-frame signals in
:mod:`livecert.session.trace`, the decision in :mod:`livecert.session.decide`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from livecert.arrays import FloatArray, Image, is_finite_number
from livecert.config import Mode, VerifyConfig
from livecert.errors import ErrorCode, InputError, SessionStateError
from livecert.face import geometry, quality
from livecert.face.landmarks import FaceLandmarker, FaceObservation, RunningMode
from livecert.identity.embedding import Embedder
from livecert.identity.enrollment import Enrollment, enroll
from livecert.identity.matching import FramePool, match_faces
from livecert.identity.onnx_embedder import default_embedder
from livecert.io.audio import AudioTrack
from livecert.io.files import check_file
from livecert.io.frames import Frame
from livecert.liveness.blink import BlinkAnalysis, answered_prompts, detect_blinks
from livecert.liveness.challenge import Challenge, PromptAction, ScheduleKind, check_challenge
from livecert.liveness.digits import ChallengeOptions, check_digits
from livecert.liveness.mouth import answered_mouth_prompts, fits_prompt, mouth_events
from livecert.liveness.spoof import SpoofRecorder, assess
from livecert.liveness.turn import answered_turn_prompts
from livecert.results import (
    BlinkEvent,
    DigitsEvidence,
    FrameTrace,
    MatchResult,
    Reason,
    ReasonCode,
    SpoofEvidence,
    Timings,
    VerificationResult,
)
from livecert.session.ahead import MeshAhead, checked_frame
from livecert.session.audit import result_meta, utc_now_iso
from livecert.session.decide import Evidence, decide, duration_s
from livecert.session.steps import Guidance, SessionUpdate, StepMachine
from livecert.session.trace import TraceRecorder
from livecert.speech.english import EnglishDigitRecogniser
from livecert.speech.recogniser import DigitRecogniser

#: What ``enrolled=`` accepts: an Enrollment, its saved ``.npz`` file, or a photo to enroll.
Enrolled = Enrollment | str | os.PathLike[str]


#: What a live session says while a blink challenge's prompt asking for each action is up.
_PROMPT_GUIDANCE: dict[PromptAction, Guidance] = {
    PromptAction.BLINK: Guidance.BLINK_NOW,
    PromptAction.OPEN_MOUTH: Guidance.OPEN_MOUTH_NOW,
    PromptAction.TURN_HEAD: Guidance.TURN_HEAD_NOW,
}

#: The reason a blink challenge gives when prompts asking for an action went unanswered, and
#: what its detail says was seen ("... after k of n prompts").
_NOT_ON_CUE: dict[PromptAction, tuple[ReasonCode, str]] = {
    PromptAction.BLINK: (ReasonCode.BLINK_NOT_ON_CUE, "a blink"),
    PromptAction.OPEN_MOUTH: (ReasonCode.MOUTH_NOT_ON_CUE, "the mouth opened"),
    PromptAction.TURN_HEAD: (ReasonCode.TURN_NOT_ON_CUE, "the head turned"),
}


class LivenessSession:
    """Streaming liveness (and identity) check.

    Parameters
    ----------
    mode : Mode or {"blink", "digits"}
    config : VerifyConfig, optional
    challenge : ChallengeOptions, optional
        Digits mode (required there): the read-digits challenge, its key,
        the single-use store and the recogniser.  Blink mode (optional): a
        blink challenge (:func:`~livecert.liveness.challenge.new_blink_challenge`),
        whose every "blink now" prompt a blink must answer, and every "open
        your mouth" prompt a mouth opening.  Signature and expiry are
        checked when the session starts.  The nonce is spent once the
        inputs are known to be usable: a live session spends it when it
        starts, after the enrollment has loaded; a recording (``live=False``,
        :func:`livecert.verify`) when :meth:`result` is called, after every
        frame was read.  An input error before then leaves the challenge
        usable for the retry.
    enrolled : Enrollment, str or PathLike, optional
        The enrolled face: an :class:`~livecert.identity.enrollment.Enrollment`,
        a saved enrollment file (``.npz``) or a photo to enroll.  A live
        session loads it before it starts, so that an unusable photo is
        refused before the person acts; a recording (``live=False``) loads
        it on a thread of its own while the frames are read, and an
        unusable photo raises from the first :meth:`push` after that
        thread finished, or from :meth:`result`.
    live : bool
        True: steps end on success, time out, and :meth:`push` refuses
        frames after the end.  False (``verify()``): the whole recording
        is judged; the prompt is taken to appear at the first frame.
    now : float, optional
        Wall-clock time for the challenge expiry check (default: now).

    Use as a context manager.
    """

    def __init__(
        self,
        *,
        mode: Mode | str = Mode.BLINK,
        config: VerifyConfig | None = None,
        challenge: ChallengeOptions | None = None,
        enrolled: Enrolled | None = None,
        live: bool = True,
        now: float | None = None,
    ) -> None:
        self.mode = Mode.parse(mode)
        if config is not None and not isinstance(config, VerifyConfig):
            raise InputError(
                f"config must be a livecert.VerifyConfig, not {type(config).__name__}", code=ErrorCode.BAD_CONFIG
            )
        if challenge is not None and not isinstance(challenge, ChallengeOptions):
            raise InputError(
                "challenge must be a livecert.ChallengeOptions (the token, the key and the used-challenge store), "
                f"not {type(challenge).__name__}",
                code=ErrorCode.BAD_ARGUMENT,
            )
        if not isinstance(live, bool):
            raise InputError(f"live must be True or False, not {live!r}", code=ErrorCode.BAD_ARGUMENT)
        if now is not None and not is_finite_number(now):
            raise InputError(f"now must be a time in seconds (time.time()), not {now!r}", code=ErrorCode.BAD_ARGUMENT)
        self.live = live
        self.config = config or VerifyConfig()
        self._checked_at = utc_now_iso()
        self._options = challenge
        self._challenge, self._challenge_reason = _check_challenge(self.mode, challenge, now)
        self._nonce_store = challenge.nonce_store if challenge is not None else None
        self._now = now
        self._nonce_spent = False
        self._recogniser = _digit_recogniser(self.mode, challenge)
        self._embedder: Embedder | None = None
        self._pool: FramePool | None = None
        self._enrollment: Enrollment | None = None
        self._enrolling: Future[_Enrolled] | None = None
        self._match_ms = 0.0
        if enrolled is not None:
            _check_enrolled(enrolled)
            self._pool = FramePool(self.config.match.max_frames, self.config.match.min_frame_gap_s)
            if live:
                self._take_enrollment(_prepare_enrollment(enrolled, self.config))
        self._landmarker = FaceLandmarker(self.config.landmarks, mode=RunningMode.VIDEO)
        if enrolled is not None and not live:
            # After the landmarker: mediapipe is imported once, on this thread.
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="livecert-enroll")
            self._enrolling = pool.submit(_prepare_enrollment, enrolled, self.config)
            pool.shutdown(wait=False)  # its thread ends with the job
        spoof_config = self.config.spoof
        self._spoof = SpoofRecorder(background=spoof_config.fixed_camera) if spoof_config.enabled else None
        self._spoof_ms = 0.0
        if live:
            self._spend_nonce()  # a live session refuses a replayed challenge at once
        self._recorder = TraceRecorder()
        checked = self._challenge  # a blink challenge's prompts; () for none or a digits challenge
        self._windows = checked.windows() if checked is not None else ()
        self._actions = checked.actions if checked is not None else ()
        # Each action the challenge asks for, with its prompts' windows (read every live frame).
        self._action_windows = (
            {a: checked.windows(a) for a in PromptAction if checked.windows(a)} if checked is not None else {}
        )
        self._steps = StepMachine(
            self.mode,
            self.config.session,
            live=live,
            action_limit_s=self._action_limit(),
            prompt=self._prompt,
            instruction=self._instruction if self._windows else None,
        )
        self._last_t = -math.inf
        self._image_check: tuple[float, tuple[float, float]] | None = None
        self._blinks_seen = 0
        self._faces_counted = 0
        self._landmarks_ms = 0.0
        self._decode_ms = 0.0
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
        return self._steps.finished or self._result is not None

    @property
    def frames_pushed(self) -> int:
        return len(self._recorder)

    # ------------------------------------------------------------------ frames

    def push(self, frame_rgb: Image, timestamp_s: float, *, decode_ms: float = 0.0) -> SessionUpdate:
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
            A frame of the wrong type, dtype or shape; or (``live=False``) the
            enrolled photo or file, once its thread found it unusable.
        """
        self._check_open()
        rgb, t = checked_frame(frame_rgb, timestamp_s, self._last_t, len(self._recorder))
        t0 = time.perf_counter()
        obs = self._landmarker.process(rgb, t)
        return self._analyse(rgb, t, obs, decode_ms=decode_ms, mesh_ms=(time.perf_counter() - t0) * 1e3)

    def push_recording(self, frames: Iterable[Frame], *, limit_s: float = math.inf) -> None:
        """Push a recording's frames, in order, as :func:`livecert.verify` does.

        The same as :meth:`push` on every frame, but each next frame is meshed
        on a worker thread while this one is analysed (by this session's own
        landmarker, in order, so every observation is the same).

        Parameters
        ----------
        frames : iterable of Frame
            Read on the worker thread.
        limit_s : float
            Stop after the first frame at least this long after the first
            one (a camera never ends on its own).

        Raises
        ------
        SessionStateError, InputError
            As :meth:`push`, at the frame concerned; errors of ``frames``
            itself (decoding) at the frame they happened at.
        """
        self._check_open()
        if not isinstance(frames, Iterable):
            raise InputError(
                f"push_recording() takes an iterable of Frame objects, not {type(frames).__name__}",
                code=ErrorCode.BAD_ARGUMENT,
            )
        first = len(self._recorder)
        with MeshAhead(self._landmarker, frames, first_index=first, last_t=self._last_t, limit_s=limit_s) as ahead:
            for item in ahead:
                self._check_open()
                self._analyse(item.rgb, item.t_s, item.observation, decode_ms=item.decode_ms, mesh_ms=item.mesh_ms)

    def _check_open(self) -> None:
        """Refuse frames after the end; raise an unusable enrollment once its thread found it."""
        if self._closed or self.finished:
            raise SessionStateError(
                "push() after the session finished; call result(), or start a new LivenessSession",
                code=ErrorCode.SESSION_FINISHED,
            )
        if self._enrolling is not None and self._enrolling.done():
            self._take_enrollment(self._enrolling.result())  # an unusable enrollment raises here

    def _analyse(
        self, rgb: Image, t: float, obs: FaceObservation, *, decode_ms: float, mesh_ms: float
    ) -> SessionUpdate:
        """Everything :meth:`push` does with a checked frame and its mesh."""
        self._last_t = t
        self._decode_ms += decode_ms
        t0 = time.perf_counter()
        if obs.n_faces >= 0:
            self._faces_counted = obs.n_faces
        # Faces are counted every face_count_interval_s; the frames between carry the last count.
        faces = obs.n_faces if obs.n_faces >= 0 else self._faces_counted
        q = quality.measure(rgb, obs.points, faces, self.config.quality, self._light_and_sharpness(rgb, obs.points, t))
        if obs.points is not None:
            left, right = geometry.eye_apertures(obs.points)
            widths = geometry.eye_width_ratio(obs.points)
            inner = geometry.mouth_aperture(obs.points)
            outer = geometry.mouth_height(obs.points)
            if self._pool is not None:
                self._pool.offer_frame(rgb, obs.points, t, q, (left + right) / 2)
        else:
            left = right = widths = inner = outer = math.nan
        self._recorder.append(
            t_s=t,
            n_faces=obs.n_faces,
            left_eye=left,
            right_eye=right,
            eye_width_ratio=widths,
            inner_lip_gap=inner,
            outer_lip_height=outer,
            yaw_deg=q.yaw_deg,
            pitch_deg=q.pitch_deg,
            face_width_px=q.face_width_px,
            brightness=q.brightness,
            sharpness=q.sharpness,
            flags=int(q.flags),
        )
        update = self._steps.advance(t, int(q.flags), self._check_action)
        t1 = time.perf_counter()
        self._landmarks_ms += mesh_ms + (t1 - t0) * 1e3
        if self._spoof is not None:
            self._spoof.observe(rgb, obs.points, t)
            self._spoof_ms += (time.perf_counter() - t1) * 1e3
        return replace(update, points=obs.points, eye_aperture=(left + right) / 2, mouth_aperture=inner)

    def _take_enrollment(self, loaded: _Enrolled) -> None:
        self._embedder, self._enrollment, self._match_ms = loaded
        self._enrolling = None

    def _light_and_sharpness(self, rgb: Image, points: FloatArray | None, t: float) -> tuple[float, float] | None:
        if points is None:
            self._image_check = None
            return None
        last = self._image_check
        if last is None or t - last[0] >= self.config.quality.image_check_interval_s:
            last = (t, quality.measure_light_and_sharpness(rgb, points))
            self._image_check = last
        return last[1]

    # ------------------------------------------------------------------- steps

    def _action_limit(self) -> float:
        cfg = self.config.session
        if self.mode is Mode.BLINK:
            if self._windows:
                return max(hide for _, hide in self._windows) + 1.0
            return cfg.blink_step_s
        d = self.config.digits
        n = len(self._challenge.digits) if self._challenge is not None else 4
        return _schedule_end(self._challenge) + d.max_reaction_s + n * d.per_digit_s + cfg.digits_extra_s

    def _check_action(self, t: float, start: float) -> tuple[bool, float]:
        """Has the live action succeeded?  (See :data:`~livecert.session.steps.ActionCheck`.)"""
        if self.mode is Mode.BLINK and self._windows:
            trace = self._recorder.since(start)
            answered = sum(self._answered(self._detect_blinks(trace).events, trace, start).values(), ())
            return all(answered), sum(answered) / len(answered)
        if self.mode is Mode.BLINK:
            # The last few seconds are enough to see a new blink (bounded cost per frame).
            trace = self._recorder.since(max(start, t - 2.0 * self.config.blink.baseline_window_s))
            self._blinks_seen = max(self._blinks_seen, len(self._detect_blinks(trace).events))
            needed = max(1, self.config.blink.min_blinks)
            return self._blinks_seen >= self.config.blink.min_blinks, self._blinks_seen / needed
        if self._challenge is None or t - start < _schedule_end(self._challenge):
            return False, 0.0
        trace = self._recorder.since(start)
        events = mouth_events(trace.t_s, trace.where_usable("inner_lip_gap"), self.config.digits).events
        ok, _ = fits_prompt(events, len(self._challenge.digits), start, self.config.digits)
        return ok and t - events[-1] >= self.config.session.quiet_after_speech_s, 0.0

    def _detect_blinks(self, trace: FrameTrace) -> BlinkAnalysis:
        """Blinks in the frames whose face is good enough to judge the eyes."""
        return detect_blinks(
            trace.t_s,
            trace.where_usable("left_eye"),
            trace.where_usable("right_eye"),
            self.config.blink,
            eye_width_ratio=trace.where_usable("eye_width_ratio"),
        )

    def _answered(
        self, blinks: tuple[BlinkEvent, ...], trace: FrameTrace, origin_s: float
    ) -> dict[PromptAction, tuple[bool, ...]]:
        """A blink challenge's prompts answered, per action asked for: each "blink now" by one of
        ``blinks`` (found in ``trace``), each "open your mouth" by the mouth, each "turn your head"
        by the head."""
        react = self.config.blink.min_reaction_s
        answered: dict[PromptAction, tuple[bool, ...]] = {}
        for action, windows in self._action_windows.items():
            if action is PromptAction.BLINK:
                answered[action] = answered_prompts(blinks, windows, origin_s, react)
            elif action is PromptAction.OPEN_MOUTH:
                gap = trace.where_usable("inner_lip_gap")
                answered[action] = answered_mouth_prompts(trace.t_s, gap, windows, origin_s, react, self.config.digits)
            else:
                min_turn = self.config.blink.min_head_turn_deg
                answered[action] = answered_turn_prompts(trace.t_s, trace.yaw_deg, windows, origin_s, react, min_turn)
        return answered

    def _instruction(self, elapsed: float) -> Guidance:
        """Blink challenges: what the prompt up asks for, else "watch for the prompt"."""
        for (show, hide), action in zip(self._windows, self._actions):
            if show <= elapsed < hide:
                return _PROMPT_GUIDANCE[action]
        return Guidance.WATCH_FOR_PROMPT

    def _prompt(self, elapsed: float) -> str:
        if self._challenge is None or self._challenge.schedule_kind is ScheduleKind.BLINK:
            return ""
        shown = [
            s.text
            for s in self._challenge.schedule
            if s.show_at_s <= elapsed and (s.hide_at_s is None or elapsed < s.hide_at_s)
        ]
        return "".join(shown)

    def _spend_nonce(self) -> None:
        """Use up the challenge's nonce (once): after the inputs are known to be usable, so
        that a server's own input error (a missing enrollment, a cut upload) does not burn it."""
        if self._nonce_spent or self._challenge is None or self._challenge_reason is not None:
            return
        self._nonce_spent = True
        store = self._nonce_store
        now = time.time() if self._now is None else self._now
        if store is not None and not store.consume(self._challenge.nonce, self._challenge.expires_at, now):
            self._challenge_reason = ReasonCode.CHALLENGE_REUSED

    # ------------------------------------------------------------------ result

    def trace(self) -> FrameTrace:
        """The per-frame signals pushed so far."""
        return self._recorder.since()

    def result(
        self, *, audio: AudioTrack | None = None, extra_ms: dict[str, float] | None = None
    ) -> VerificationResult:
        """Decide.  The session is finished afterwards; calling again returns
        the same result.

        Parameters
        ----------
        audio : AudioTrack, optional
            The recording's sound, on the frames' timeline (digits mode).
        extra_ms : dict, optional
            ``{"audio_decode": ms}`` spent by the caller reading the audio.

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` when ``audio`` is not an :class:`AudioTrack`.
        """
        if self._result is not None:
            return self._result
        if audio is not None and not isinstance(audio, AudioTrack):
            raise InputError(
                "audio must be a livecert.AudioTrack (livecert.io.audio.read_audio reads one), "
                f"not {type(audio).__name__}",
                code=ErrorCode.BAD_ARGUMENT,
            )
        if self._enrolling is not None:
            self._take_enrollment(self._enrolling.result())
        self._spend_nonce()  # a recording: only once it was read whole
        extra = extra_ms or {}
        trace = self.trace()

        t0 = time.perf_counter()
        blinks = self._detect_blinks(trace)
        blink_ms = (time.perf_counter() - t0) * 1e3

        start = self._steps.action_start
        # When the prompts (digits, or a blink challenge's) started: a live session's action step, a recording's start.
        prompt_at = start if (self.live and start is not None) else (float(trace.t_s[0]) if len(trace) else 0.0)
        action_reasons: list[Reason] = []
        if self._windows:
            for action, answered in self._answered(blinks.events, trace, prompt_at).items():
                if not all(answered):
                    code, seen = _NOT_ON_CUE[action]
                    action_reasons.append(Reason(code, f"{seen} after {sum(answered)} of {len(answered)} prompts"))

        digits: DigitsEvidence | None = None
        digits_ms = None
        if self.mode is Mode.DIGITS:
            t1 = time.perf_counter()
            if self._challenge is not None:
                digits, digit_reasons = check_digits(
                    self._challenge,
                    trace.t_s,
                    trace.where_usable("inner_lip_gap"),
                    audio,
                    self.config.digits,
                    recogniser=self._recogniser,
                    prompt_at_s=prompt_at,
                    mouth_height=trace.where_usable("outer_lip_height"),
                )
                action_reasons.extend(digit_reasons)
            digits_ms = (time.perf_counter() - t1) * 1e3 + extra.get("audio_decode", 0.0)

        match: MatchResult | None = None
        match_ms = None
        if self._enrollment is not None and self._pool is not None:
            t2 = time.perf_counter()
            match = match_faces(self._enrollment, self._pool.candidates(), self.config.match, embedder=self._embedder)
            match_ms = self._match_ms + (time.perf_counter() - t2) * 1e3

        spoof: SpoofEvidence | None = None
        if self._spoof is not None:
            t3 = time.perf_counter()
            spoof = assess(self._spoof, blinks.events, self.config.spoof)
            self._spoof_ms += (time.perf_counter() - t3) * 1e3

        evidence = Evidence(
            blinks=blinks.events,
            action_reasons=tuple(action_reasons),
            match=match,
            challenge_reason=self._challenge_reason,
            timeout_step=self._steps.timeout_step,
            spoof=spoof,
        )
        decision = decide(trace, self.mode, self.config, evidence)
        reasons = decision.reasons
        total = (
            self._decode_ms + self._landmarks_ms + blink_ms + (digits_ms or 0.0) + (match_ms or 0.0) + self._spoof_ms
        )
        self._result = VerificationResult(
            passed=not reasons,
            mode=self.mode,
            reasons=reasons,
            blinks=blinks.events,
            frames_total=len(trace),
            frames_with_face=int(trace.has_face.sum()),
            duration_s=duration_s(trace.t_s),
            timings=Timings(
                self._decode_ms,
                self._landmarks_ms,
                blink_ms,
                extra.get("total", total),
                digits_ms,
                match_ms,
                self._spoof_ms,
            ),
            trace=trace,
            digits=digits,
            match=match,
            spoof=spoof,
            advice=decision.advice,
            meta=result_meta(
                checked_at=self._checked_at,
                mode=self.mode,
                enrolled=self._enrollment is not None,
                challenge=self._options,
                input_sha256=None,
            ),
        )
        return self._result


def _check_challenge(
    mode: Mode, options: ChallengeOptions | None, now: float | None
) -> tuple[Challenge | None, ReasonCode | None]:
    if options is None:
        if mode is Mode.BLINK:
            return None, None  # blink mode without prompts
        raise InputError(
            "digits mode needs challenge=ChallengeOptions(token_or_challenge, key=..., nonce_store=...): a token "
            "from livecert.new_challenge(...).to_token(key), a Challenge, or Challenge.for_known_digits('4729') "
            "for recorded test clips",
            code=ErrorCode.NO_CHALLENGE,
        )
    if mode is Mode.BLINK and options.recogniser is not None:
        raise InputError("a recogniser is only used in mode='digits'", code=ErrorCode.BAD_ARGUMENT)
    # Signature and expiry are checked now; the nonce is spent by LivenessSession._spend_nonce.
    challenge, reason = check_challenge(options.challenge, key=options.key, store=None, now=now)
    if challenge is not None and (challenge.schedule_kind is ScheduleKind.BLINK) != (mode is Mode.BLINK):
        wanted = (
            "a blink challenge (livecert.new_blink_challenge())"
            if mode is Mode.BLINK
            else "a read-digits challenge (livecert.new_challenge())"
        )
        raise InputError(f"{mode.value} mode takes {wanted}, not one of the other mode", code=ErrorCode.BAD_ARGUMENT)
    return challenge, reason


def _digit_recogniser(mode: Mode, options: ChallengeOptions | None) -> DigitRecogniser | None:
    """The recogniser a digits session uses (``None`` in blink mode, or when the content is not checked)."""
    if mode is not Mode.DIGITS or options is None or not options.check_content:
        return None
    # The default's models load on first use: not at all without audio.
    return options.recogniser if options.recogniser is not None else EnglishDigitRecogniser()


#: The descriptor model, the enrolled face, and the milliseconds it took to load them.
_Enrolled = tuple[Embedder, Enrollment, float]


def _prepare_enrollment(enrolled: Enrolled, config: VerifyConfig) -> _Enrolled:
    t0 = time.perf_counter()
    embedder = default_embedder()  # one model load serves enrollment and matching
    enrollment = load_enrollment(enrolled, config, embedder)
    return embedder, enrollment, (time.perf_counter() - t0) * 1e3


def _check_enrolled(enrolled: object) -> None:
    """The checks of :func:`load_enrollment` that cost nothing, made at once: the type, and
    that a file is there to read."""
    if isinstance(enrolled, (str, os.PathLike)):
        check_file(Path(enrolled))
    elif not isinstance(enrolled, Enrollment):
        raise _not_enrollable(enrolled)


def _not_enrollable(enrolled: object) -> InputError:
    return InputError(
        f"enrolled must be an Enrollment, an enrollment .npz file or a photo path, not {type(enrolled).__name__}",
        code=ErrorCode.BAD_ARGUMENT,
    )


def load_enrollment(enrolled: object, config: VerifyConfig, embedder: Embedder) -> Enrollment:
    """What ``enrolled=`` gives, as :func:`livecert.verify` and a session read it: an
    Enrollment as is, a ``.npz`` file loaded, a photo enrolled now.

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` for anything else; the loaders' own errors for an
        unusable file.
    """
    if isinstance(enrolled, Enrollment):
        return enrolled
    if isinstance(enrolled, (str, os.PathLike)):
        path = Path(enrolled)
        if path.suffix.lower() == ".npz":
            return Enrollment.load(path, model_id=embedder.model_id)
        return enroll(path, config=config.match, embedder=embedder, landmark_config=config.landmarks)
    raise _not_enrollable(enrolled)


def _schedule_end(challenge: Challenge | None) -> float:
    if challenge is None or not challenge.schedule:
        return 0.0
    return max(s.show_at_s for s in challenge.schedule)
