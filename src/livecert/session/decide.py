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
        Reasons the action's own check raised: the read-digits check, or
        the blink challenge's prompts (``BLINK_NOT_ON_CUE``).
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


def clip_reasons(trace: FrameTrace, config: QualityConfig) -> list[Reason]:
    """Quality reasons for a whole clip, from its per-frame flags.

    ``NO_FACE`` when too few frames have a face, ``MULTIPLE_FACES`` when too
    many counted frames have several, and each per-frame problem that
    affects more than ``max_bad_fraction`` of the face frames.
    """
    n = len(trace)
    if n == 0:
        return [Reason(ReasonCode.NO_FACE, "no frames")]
    reasons: list[Reason] = []
    multi = int(np.count_nonzero(trace.n_faces > 1))
    n_counted = int(np.count_nonzero(trace.n_faces >= 0))
    if n_counted and multi / n_counted > config.max_multiple_face_fraction:
        reasons.append(Reason(ReasonCode.MULTIPLE_FACES, f"several faces in {multi} of {n_counted} counted frames"))
    face = trace.has_face
    n_face = int(np.count_nonzero(face))
    if n_face / n < config.min_face_fraction:
        reasons.append(Reason(ReasonCode.NO_FACE, f"face in {n_face} of {n} frames"))
        return reasons
    for flag in _FRAME_PROBLEMS:
        bad = int(np.count_nonzero((trace.flags & int(flag))[face]))
        if bad / n_face > config.max_bad_fraction:
            reasons.append(Reason(flag.reason_code, f"{bad} of {n_face} face frames"))
    return reasons


def decide(trace: FrameTrace, mode: Mode, config: VerifyConfig, evidence: Evidence) -> tuple[Reason, ...]:
    """Every reason the clip does not pass, each code once, in a fixed order.

    The clip passes when the returned tuple is empty.
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
    reasons.extend(clip_reasons(trace, config.quality))
    if evidence.spoof is not None and not evidence.spoof.passed:
        fired = "; ".join(f"{c.cue.value} {c.score:.2f} < {c.threshold:.2f}: {c.detail}" for c in evidence.spoof.fired)
        reasons.append(Reason(ReasonCode.SPOOF_SUSPECTED, fired))
    if mode is Mode.BLINK and len(evidence.blinks) < config.blink.min_blinks:
        reasons.append(Reason(ReasonCode.NO_BLINK, f"{len(evidence.blinks)} blinks, {config.blink.min_blinks} needed"))
    reasons.extend(evidence.action_reasons)
    match = evidence.match
    if match is not None:
        if match.frames_used == 0:
            reasons.append(Reason(ReasonCode.FACE_MISMATCH, "no frame was good enough to compare faces"))
        elif not match.passed:
            reasons.append(
                Reason(ReasonCode.FACE_MISMATCH, f"distance {match.distance:.3f}, {match.frames_used} frames")
            )
    return _dedupe(reasons)


def _dedupe(reasons: list[Reason]) -> tuple[Reason, ...]:
    seen: set[ReasonCode] = set()
    out = []
    for r in reasons:
        if r.code not in seen:
            seen.add(r.code)
            out.append(r)
    return tuple(out)
