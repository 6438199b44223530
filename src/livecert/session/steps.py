"""The step machine of a live session: ``face`` -> ``action`` -> ``done``, with
time limits, retries and what to tell the person at each frame."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from livecert.arrays import FloatArray
from livecert.config import Mode, SessionConfig
from livecert.enums import StrEnum
from livecert.results import QualityFlag, ReasonCode

#: Problems that mean there is no single frontal face to judge; the others
#: (small, dark, blurred) only make the picture poor.
_ABSENT = QualityFlag.NO_FACE | QualityFlag.MULTIPLE_FACES | QualityFlag.FACE_TURNED


class Step(StrEnum):
    """Where a session is."""

    FACE = "face"
    ACTION = "action"
    DONE = "done"


class Guidance(StrEnum):
    """What the person is asked to do; quality problems use their :class:`ReasonCode` instead."""

    HOLD_STILL = "HOLD_STILL"
    PLEASE_BLINK = "PLEASE_BLINK"
    BLINK_NOW = "BLINK_NOW"
    OPEN_MOUTH_NOW = "OPEN_MOUTH_NOW"
    TURN_HEAD_NOW = "TURN_HEAD_NOW"
    WATCH_FOR_PROMPT = "WATCH_FOR_PROMPT"
    READ_DIGITS = "READ_DIGITS"
    TRY_AGAIN = "TRY_AGAIN"
    DONE = "DONE"
    TIMEOUT = "TIMEOUT"

    @property
    def message_en(self) -> str:
        return _GUIDANCE_TEXT[self][0]

    @property
    def message_zh(self) -> str:
        return _GUIDANCE_TEXT[self][1]


_GUIDANCE_TEXT: dict[Guidance, tuple[str, str]] = {
    Guidance.HOLD_STILL: ("Good. Hold still and look at the camera.", "很好。请保持不动，看着镜头。"),
    Guidance.PLEASE_BLINK: ("Please blink your eyes slowly.", "请慢慢眨眨眼。"),
    Guidance.BLINK_NOW: ("Blink now.", "现在请眨眼。"),
    Guidance.OPEN_MOUTH_NOW: ("Open your mouth now.", "现在请张嘴。"),
    Guidance.TURN_HEAD_NOW: ("Turn your head slowly to one side now.", "现在请慢慢向一侧转头。"),
    Guidance.WATCH_FOR_PROMPT: ("Look at the camera. Do what the screen asks.", "请看着镜头，按屏幕提示做。"),
    Guidance.READ_DIGITS: ("Please read the digits aloud.", "请大声读出屏幕上的数字。"),
    Guidance.TRY_AGAIN: ("Let's try once more, take your time.", "我们再试一次，不用着急。"),
    Guidance.DONE: ("Done. Thank you.", "完成，谢谢。"),
    Guidance.TIMEOUT: ("Time ran out. Please start again.", "操作超时。请重新开始。"),
}

#: What a blink challenge's prompts ask for while they are up.
PROMPTED = frozenset({Guidance.BLINK_NOW, Guidance.OPEN_MOUTH_NOW, Guidance.TURN_HEAD_NOW})


@dataclass(frozen=True)
class SessionUpdate:
    """What the application should show after one frame.

    Attributes
    ----------
    step : Step
    guidance : Guidance or ReasonCode
        Stable code: a quality :class:`ReasonCode` (``NO_FACE``,
        ``FACE_TOO_SMALL``, ...) or a :class:`Guidance`.  Both are ``str``
        enums, so ``update.guidance == "HOLD_STILL"`` works.
    message_en, message_zh : str
        What to tell the person.
    progress : float
        0 to 1; it never decreases within a session (a retry keeps the bar where it was).
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
        Inner-lip gap over face width in this frame.
    """

    step: Step
    guidance: Guidance | ReasonCode
    message_en: str
    message_zh: str
    progress: float
    finished: bool
    prompt: str = ""
    seconds_left: float = math.inf
    repeat: int = 0
    points: FloatArray | None = field(default=None, repr=False, compare=False)
    eye_aperture: float = math.nan
    mouth_aperture: float = math.nan

    def message(self, lang: str = "en") -> str:
        return self.message_zh if lang == "zh" else self.message_en


#: ``(t, action_start) -> (done, fraction)``: has the action succeeded, and how
#: far along it is (blinks seen over blinks needed; 0 when not measurable).
ActionCheck = Callable[[float, float], tuple[bool, float]]


class StepMachine:
    """Steps, time limits and retries of one session.

    Parameters
    ----------
    mode : Mode
    config : SessionConfig
    live : bool
        False (a recording judged as a whole): nothing times out and the
        action never ends early.
    action_limit_s : float
        Time allowed for one try of the action.
    prompt : callable
        ``prompt(elapsed_s) -> str``: the digits to show that long after the
        action started (``""`` in blink mode).
    instruction : callable, optional
        ``instruction(elapsed_s) -> Guidance``: what to ask for that long
        after the action started (a blink challenge says ``BLINK_NOW``,
        ``OPEN_MOUTH_NOW`` or ``TURN_HEAD_NOW`` only while a prompt is up); default
        ``PLEASE_BLINK`` or ``READ_DIGITS``.
    """

    def __init__(
        self,
        mode: Mode,
        config: SessionConfig,
        *,
        live: bool,
        action_limit_s: float,
        prompt: Callable[[float], str],
        instruction: Callable[[float], Guidance] | None = None,
    ) -> None:
        self.mode = mode
        self.config = config
        self.live = live
        self.action_limit_s = action_limit_s
        self._prompt = prompt
        default = Guidance.PLEASE_BLINK if mode is Mode.BLINK else Guidance.READ_DIGITS
        self._instruction = instruction or (lambda _elapsed: default)
        self.step = Step.FACE
        self.action_start: float | None = None
        self.timeout_step: Step | None = None
        self._step_start: float | None = None
        self._face_ok_since: float | None = None
        self._face_there_since: float | None = None
        self._tries = 0
        self._fraction = 0.0
        self._last_check_t = -math.inf
        self._hold = _GuidanceHold(config.guidance_hold_s)
        self._progress = 0.0

    @property
    def finished(self) -> bool:
        return self.step is Step.DONE

    def advance(self, t: float, flags: int, check: ActionCheck) -> SessionUpdate:
        """Move on by one frame at time ``t`` with its quality ``flags``."""
        cfg = self.config
        if self._step_start is None:
            self._step_start = t
        if self.step is Step.FACE:
            self._face_ok_since = _since(self._face_ok_since, t) if flags == 0 else None
            there = not flags & int(_ABSENT)
            self._face_there_since = _since(self._face_there_since, t) if there else None
            ok = self._face_ok_since is not None and t - self._face_ok_since >= cfg.face_ok_s
            poor_but_there = (
                self._face_there_since is not None and t - self._face_there_since >= cfg.face_ok_s + cfg.picture_grace_s
            )
            if ok or poor_but_there:
                self._start_action(t)
            elif self.live and t - self._step_start > cfg.face_step_s:
                return self._time_out(Step.FACE)
            else:
                left = cfg.face_step_s - (t - self._step_start)
                return self._update(flags, Guidance.HOLD_STILL, 0.1 if flags else 0.2, t, left)
        return self._action(t, flags, check)

    def _start_action(self, t: float) -> None:
        self._hold.reset()
        self.step = Step.ACTION
        self.action_start = t
        self._step_start = t
        self._tries += 1

    def _action(self, t: float, flags: int, check: ActionCheck) -> SessionUpdate:
        start = self.action_start if self.action_start is not None else t
        elapsed = t - start
        limit = self.action_limit_s
        if self.live and t - self._last_check_t >= self.config.progress_every_s:
            self._last_check_t = t
            done, fraction = check(t, start)
            self._fraction = max(self._fraction, fraction)
            if done:
                self.step = Step.DONE
                return SessionUpdate(
                    Step.DONE, Guidance.DONE, Guidance.DONE.message_en, Guidance.DONE.message_zh, 1.0, True
                )
        if self.live and elapsed > limit:
            if self._tries <= self.config.action_retries:
                self._start_action(t)
                g = Guidance.TRY_AGAIN
                progress = self._monotonic(0.3)
                return SessionUpdate(
                    Step.ACTION, g, g.message_en, g.message_zh, progress, False, self._prompt(0.0), limit, 0
                )
            return self._time_out(Step.ACTION)
        want = self._instruction(elapsed)
        progress = max(0.3 + 0.6 * min(1.0, elapsed / limit), 0.3 + 0.6 * min(1.0, self._fraction))
        return self._update(flags, want, progress, t, limit - elapsed, elapsed)

    def _update(
        self, flags: int, want: Guidance, progress: float, t: float, seconds_left: float, elapsed: float | None = None
    ) -> SessionUpdate:
        repeat = int((t - (self._step_start or t)) // self.config.reprompt_s)
        prompt = self._prompt(elapsed) if elapsed is not None else ""
        left = seconds_left if self.live else math.inf
        problems = QualityFlag.split(flags)
        # A prompt ("blink now", "open your mouth") is shown over any quality problem: it is up for a few seconds.
        asked = want if want in PROMPTED or not problems else problems[0].reason_code
        code = self._hold.show(asked, t)
        shown = self._monotonic(progress)
        return SessionUpdate(self.step, code, code.message_en, code.message_zh, shown, False, prompt, left, repeat)

    def _monotonic(self, progress: float) -> float:
        """``progress``, but never less than shown before: a retry or a passing
        problem does not move the bar back (an old person reads that as failing)."""
        self._progress = max(self._progress, progress)
        return self._progress

    def _time_out(self, step: Step) -> SessionUpdate:
        self.timeout_step = step
        self.step = Step.DONE
        g = Guidance.TIMEOUT
        return SessionUpdate(Step.DONE, g, g.message_en, g.message_zh, 1.0, True)


def _since(start: float | None, t: float) -> float:
    """When a condition that holds at ``t`` began: ``start``, or ``t`` if it just began."""
    return t if start is None else start


class _GuidanceHold:
    """Hysteresis for what a person is told: a new code is shown only once it
    has been what the frames say for ``hold_s`` without a break, so every code
    stays on screen at least that long (a flag that comes and goes between
    face counts no longer flickers).  ``BLINK_NOW``, ``OPEN_MOUTH_NOW`` and
    ``TURN_HEAD_NOW`` come and go at once: their timing is the blink challenge itself."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.reset()

    def reset(self) -> None:
        """Forget what was shown: the next code is shown at once (a new step)."""
        self._shown: Guidance | ReasonCode | None = None
        self._candidate: Guidance | ReasonCode | None = None
        self._since = 0.0

    def show(self, code: Guidance | ReasonCode, t: float) -> Guidance | ReasonCode:
        """The code to show at time ``t`` when the frames say ``code``."""
        if self._shown is None or code == self._shown or code in PROMPTED or self._shown in PROMPTED:
            self._shown, self._candidate = code, None
            return code
        if code != self._candidate:
            self._candidate, self._since = code, t
        if t - self._since >= self.hold_s:
            self._shown, self._candidate = code, None
        return self._shown
