"""The decision: from a clip's trace and the evidence gathered on it to the
reasons it does not pass.  Pure functions: no models, no clocks, no state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livecert.arrays import FloatArray
from livecert.config import Mode, QualityConfig, VerifyConfig
from livecert.results import BlinkEvent, FrameTrace, MatchResult, QualityFlag, Reason, ReasonCode, SpoofEvidence
from livecert.session.steps import Step

#: Per-frame problems that become a clip reason when they affect too many face frames.
_FRAME_PROBLEMS = (QualityFlag.FACE_TOO_SMALL, QualityFlag.TOO_DARK, QualityFlag.BLURRY, QualityFlag.FACE_TURNED)


@dataclass(frozen=True)
class Evidence:
    """What the checks found on one clip, the input of :func:`decide`.

    Attributes
    ----------
    blinks : tuple of BlinkEvent
    action_reasons : tuple of Reason
        Reasons the action's own check raised: the read-digits check (for
        digits shown one by one, ``DIGITS_NOT_ON_CUE`` when the prompts were
        not answered in time), or the blink challenge's prompts
        (``BLINK_NOT_ON_CUE``, ``MOUTH_NOT_ON_CUE``, ``TURN_NOT_ON_CUE``).
    match : MatchResult or None
        Face matching, when an enrollment was given.
    challenge_reason : ReasonCode or None
        ``CHALLENGE_INVALID``, ``CHALLENGE_EXPIRED`` or ``CHALLENGE_REUSED``.
    timeout_step : Step or None
        The step a live session timed out in.
    spoof : SpoofEvidence or None
        The presentation-attack cues (None when the check is switched off).
    """

    blinks: tuple[BlinkEvent, ...] = ()
    action_reasons: tuple[Reason, ...] = ()
    match: MatchResult | None = None
    challenge_reason: ReasonCode | None = None
    timeout_step: Step | None = None
    spoof: SpoofEvidence | None = None


def duration_s(t: FloatArray) -> float:
    """Clip time from the first to the last frame, plus one (median) frame period."""
    if t.shape[0] < 2:
        return 0.0
    return float(t[-1] - t[0]) + float(np.median(np.diff(t)))


@dataclass(frozen=True)
class Decision:
    """The verdict on one clip.

    Attributes
    ----------
    reasons : tuple of Reason
        Every reason the clip does not pass, each code once, in a fixed
        order; empty when it passes.
    advice : tuple of Reason
        Picture problems on most frames that did not stop the check, because
        its evidence could be read anyway.
    """

    reasons: tuple[Reason, ...]
    advice: tuple[Reason, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.reasons


def presence_reasons(trace: FrameTrace, config: QualityConfig) -> list[Reason]:
    """``NO_FACE`` when too few frames have a face, ``MULTIPLE_FACES`` when too many
    counted frames have several."""
    n = len(trace)
    if n == 0:
        return [Reason(ReasonCode.NO_FACE, "no frames")]
    reasons: list[Reason] = []
    multi = int(np.count_nonzero(trace.n_faces > 1))
    n_counted = int(np.count_nonzero(trace.n_faces >= 0))
    if n_counted and multi / n_counted > config.max_multiple_face_fraction:
        reasons.append(Reason(ReasonCode.MULTIPLE_FACES, f"several faces in {multi} of {n_counted} counted frames"))
    n_face = int(np.count_nonzero(trace.has_face))
    if n_face / n < config.min_face_fraction:
        reasons.append(Reason(ReasonCode.NO_FACE, f"face in {n_face} of {n} frames"))
    return reasons


def picture_problems(trace: FrameTrace, config: QualityConfig) -> list[Reason]:
    """Each per-frame problem (small, dark, blurry, turned) that affects more than
    ``config.max_bad_fraction`` of the face frames."""
    face = trace.has_face
    n_face = int(np.count_nonzero(face))
    problems: list[Reason] = []
    for flag in _FRAME_PROBLEMS:
        bad = int(np.count_nonzero((trace.flags & int(flag))[face]))
        if n_face and bad / n_face > config.max_bad_fraction:
            problems.append(Reason(flag.reason_code, f"{bad} of {n_face} face frames"))
    return problems


def decide(trace: FrameTrace, mode: Mode, config: VerifyConfig, evidence: Evidence) -> Decision:
    """Every reason the clip does not pass, and the advice for one that passes.

    A picture problem (:func:`picture_problems`) is a reason only when the
    evidence it could spoil failed (no blink, the action's check, the
    presentation-attack check or the face match): it then tells the person
    what to change.  When all the evidence was read, it is advice.
    """
    reasons: list[Reason] = []
    if evidence.challenge_reason is not None:
        reasons.append(Reason(evidence.challenge_reason))
    if evidence.timeout_step is not None:
        reasons.append(Reason(ReasonCode.TIMEOUT, f"step {evidence.timeout_step.value}"))
    n = len(trace)
    duration = duration_s(trace.t_s)
    if n == 0 or duration < config.quality.min_clip_s:
        reasons.append(Reason(ReasonCode.TOO_SHORT, f"{n} frames, {duration:.2f} s"))
    presence = presence_reasons(trace, config.quality)
    reasons.extend(presence)
    failed: list[Reason] = []
    if evidence.spoof is not None and not evidence.spoof.passed:
        fired = "; ".join(f"{c.cue.value} {c.score:.2f} < {c.threshold:.2f}: {c.detail}" for c in evidence.spoof.fired)
        failed.append(Reason(ReasonCode.SPOOF_SUSPECTED, fired))
    if mode is Mode.BLINK and len(evidence.blinks) < config.blink.min_blinks:
        failed.append(Reason(ReasonCode.NO_BLINK, f"{len(evidence.blinks)} blinks, {config.blink.min_blinks} needed"))
    failed.extend(evidence.action_reasons)
    match = evidence.match
    if match is not None:
        if match.frames_used == 0:
            failed.append(Reason(ReasonCode.FACE_MISMATCH, "no frame was good enough to compare faces"))
        elif not match.passed:
            failed.append(
                Reason(ReasonCode.FACE_MISMATCH, f"distance {match.distance:.3f}, {match.frames_used} frames")
            )
    no_face = any(r.code is ReasonCode.NO_FACE for r in presence)
    problems = [] if no_face else picture_problems(trace, config.quality)
    if failed:
        return Decision(_dedupe(reasons + problems + failed))
    return Decision(_dedupe(reasons), tuple(problems))


def _dedupe(reasons: list[Reason]) -> tuple[Reason, ...]:
    seen: set[ReasonCode] = set()
    out = []
    for r in reasons:
        if r.code not in seen:
            seen.add(r.code)
            out.append(r)
    return tuple(out)
