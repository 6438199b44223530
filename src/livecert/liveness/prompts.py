"""Digits read one by one: is each prompt answered in time, mouth and voice together?

A ``one_by_one`` challenge shows its digits one at a time, at moments drawn
from the signed challenge.  A live reader answers each prompt: the voice
starts within a reaction window after the digit appears, the mouth opens
with it, and lips and voice move together while answering.  A recording
made earlier, or a video dubbed with other sound, cannot know when the
prompts come.  None of this needs to know which words were said, so it
holds in any language; only a recogniser (content checking) stops a live
impostor who says other words at the right moments.

Pure numpy over per-frame mouth signals, voice segments and the audio track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from livecert.arrays import FloatArray
from livecert.config import DigitsConfig
from livecert.io.audio import AudioTrack
from livecert.liveness.challenge import Challenge
from livecert.liveness.sync import av_sync, band_envelopes
from livecert.results import PromptAnswer, Reason, ReasonCode

#: Mouth frames this long before an answer's voice onset and after its end
#: enter the answers-only lip-voice sync score.
SYNC_MARGIN_S = 0.3

#: Where a voiced sound has its energy and an unvoiced consonant ("th", "s",
#: "f"; Mandarin s-, q-, x-) has little: 100-900 Hz, the voice's pitch and
#: first formant.
VOICED_BAND_HZ: tuple[float, float] = (100.0, 900.0)
#: An answer's voicing starts where that band first comes within this many
#: decibels of its loudest in the answer.
VOICED_WITHIN_DB = 10.0


@dataclass(frozen=True)
class PromptTiming:
    """What :func:`answer_prompts` found.

    Attributes
    ----------
    answers : tuple of PromptAnswer
        One per digit, in order.
    unprompted : tuple of float
        Onsets of voice that answered no prompt, clip seconds.
    sync : float
        :func:`~livecert.liveness.sync.av_sync` score over the answers only
        (nan without sound or when too few frames had a face).
    reasons : tuple of Reason
        ``DIGITS_NOT_ON_CUE`` and ``AV_OUT_OF_SYNC`` (or ``NO_SPEECH_MOVEMENT``
        without sound) when the reading does not answer the prompts.
    """

    answers: tuple[PromptAnswer, ...]
    unprompted: tuple[float, ...]
    sync: float
    reasons: tuple[Reason, ...]

    @property
    def passed(self) -> bool:
        return not self.reasons


def prompt_times(challenge: Challenge, prompt_at_s: float) -> FloatArray:
    """When each step of ``challenge`` appeared on the clip timeline.

    Parameters
    ----------
    challenge : Challenge
    prompt_at_s : float
        When the schedule started, clip seconds.

    Returns
    -------
    ndarray of float64, shape (S,)
        ``prompt_at_s + show_at_s`` of each of the S steps.
    """
    return np.array([prompt_at_s + s.show_at_s for s in challenge.schedule], dtype=np.float64)


def voice_answers(
    shown: FloatArray, speech: tuple[tuple[float, float], ...], config: DigitsConfig
) -> tuple[list[tuple[float, float] | None], list[float]]:
    """Match voice segments to prompts.

    The answer to prompt ``i`` is the first segment starting between
    ``shown[i] + min_reaction_s`` and ``shown[i] + answer_window_s`` (and
    before the next prompt's earliest answer); segments starting within
    ``answer_span_s`` of its onset extend it.  Any other segment answered
    no prompt.

    Parameters
    ----------
    shown : ndarray of float, shape (S,)
        Prompt times, increasing.
    speech : tuple of (float, float)
        Voice segments, in order.
    config : DigitsConfig

    Returns
    -------
    answers : list of (float, float) or None, length S
        Each prompt's answer (voice onset, end), None when unanswered.
    unprompted : list of float
        Onsets of the segments that answered no prompt.
    """
    answers: list[tuple[float, float] | None] = [None] * len(shown)
    unprompted: list[float] = []
    for a, b in speech:
        i = int(np.searchsorted(shown, a - config.min_reaction_s, side="right")) - 1
        current = answers[i] if i >= 0 else None
        if current is not None and a <= current[0] + config.answer_span_s:
            answers[i] = (current[0], max(current[1], b))
        elif i >= 0 and current is None and a <= shown[i] + config.answer_window_s:
            answers[i] = (a, b)
        else:
            unprompted.append(a)
    return answers, unprompted


def judge_timing(
    shown: FloatArray, speech: tuple[tuple[float, float], ...], config: DigitsConfig
) -> tuple[list[tuple[float, float] | None], list[float], Reason | None]:
    """Does the voice answer every prompt in time?

    Parameters
    ----------
    shown : ndarray of float, shape (S,)
        Prompt times, increasing.
    speech : tuple of (float, float)
        Voice segments, in order.
    config : DigitsConfig

    Returns
    -------
    answers, unprompted
        As :func:`voice_answers`.
    reason : Reason or None
        ``DIGITS_NOT_ON_CUE`` when a prompt went unanswered, more than
        ``max_unprompted`` stretches of voice answered none, or the reaction
        times spread more than ``max_reaction_spread_s``; else None.
    """
    answers, unprompted = voice_answers(shown, speech, config)
    reactions = [v[0] - s for s, v in zip(shown, answers) if v is not None]
    reason = None
    if len(reactions) < len(shown) or len(unprompted) > config.max_unprompted:
        detail = f"voice answered {len(reactions)} of {len(shown)} digits in time; {len(unprompted)} unprompted"
        reason = Reason(ReasonCode.DIGITS_NOT_ON_CUE, detail)
    elif _spread(reactions) > config.max_reaction_spread_s:
        reason = Reason(ReasonCode.DIGITS_NOT_ON_CUE, f"reaction times spread {_spread(reactions):.2f} s")
    return answers, unprompted, reason


def mouth_onset(
    t: FloatArray, mouth: FloatArray, start_s: float, end_s: float, config: DigitsConfig, closed: float
) -> float | None:
    """First time in ``[start_s, end_s]`` the mouth opens past its closed level.

    Parameters
    ----------
    t, mouth : ndarray of float, shape (N,)
        Frame times and inner-lip gap / face width (nan where unusable).
    start_s, end_s : float
        Where to look.
    config : DigitsConfig
        ``open_delta`` above ``closed`` is open.
    closed : float
        The person's closed-mouth level.

    Returns
    -------
    float or None
        The time of the first frame in the range that is open while the
        usable frame before it was not; None when there is none.
    """
    usable = np.flatnonzero(np.isfinite(mouth))
    times = t[usable]
    is_open = mouth[usable] > closed + config.open_delta
    was_open = np.concatenate([[False], is_open[:-1]])
    hits = np.flatnonzero(is_open & ~was_open & (times >= start_s) & (times <= end_s))
    return float(times[hits[0]]) if hits.size else None


def voiced_onsets(track: AudioTrack, answers: list[tuple[float, float]]) -> list[float]:
    """When each answer's voicing starts: the first 10 ms step whose
    :data:`VOICED_BAND_HZ` energy comes within :data:`VOICED_WITHIN_DB` of its
    loudest in the answer.

    A digit that starts with an unvoiced consonant is heard before the mouth
    opens: the lips stay nearly closed over "th", "s" or "f" and part for
    the vowel (English "three", "six", "four"; Mandarin 三, 四, 七).  This
    finds the vowel: on the tuning GRID readings it came a median 0.02 s
    after the voice onset (at most 0.18 s).  It is the loud voiced part, not
    strictly the start of voicing: a nasal or a glide ("nine", 零) is quiet
    in that band at first, and espeak-ng's digits (synthetic) give 0.07-0.11 s
    after the first sound for th-, s-, f-, q-, j- words and 0-0.11 s for the
    others.

    Parameters
    ----------
    track : AudioTrack
    answers : list of (float, float)
        Each answer's voice onset and end, clip seconds.

    Returns
    -------
    list of float
        One time per answer, between its onset and end.
    """
    steps = [np.arange(a, max(b, a + 0.01), 0.01) for a, b in answers]
    if not steps:
        return []
    level = band_envelopes(track, np.concatenate(steps), (VOICED_BAND_HZ,), window_s=0.03)[:, 0]
    within = VOICED_WITHIN_DB / 20.0 * math.log(10.0)  # band_envelopes is the log of an amplitude
    out: list[float] = []
    for times in steps:
        env, level = level[: times.size], level[times.size :]
        loud = np.flatnonzero(env >= np.nanmax(env) - within) if np.isfinite(env).any() else np.array([0])
        out.append(float(times[loud[0]]))
    return out


def answer_prompts(
    challenge: Challenge,
    t: FloatArray,
    mouth: FloatArray,
    mouth_height: FloatArray,
    track: AudioTrack | None,
    speech: tuple[tuple[float, float], ...],
    config: DigitsConfig,
    *,
    prompt_at_s: float = 0.0,
) -> PromptTiming:
    """Judge whether a recording answers a ``one_by_one`` challenge's prompts.

    With sound, every prompt must be answered by voice within
    ``[min_reaction_s, answer_window_s]`` of its showing, at most
    ``max_unprompted`` stretches of voice may answer none, the reaction
    times may spread by at most ``max_reaction_spread_s``, and each answer's
    mouth opening must start within ``onset_lead_s`` before to
    ``onset_lag_s`` after its voicing starts (:func:`voiced_onsets`: an answer
    that starts with an unvoiced consonant opens the mouth at its vowel)
    (``DIGITS_NOT_ON_CUE`` for the timing, ``AV_OUT_OF_SYNC`` for the
    mouth); the lip-voice sync score
    over the answers alone must reach ``prompt_sync_threshold``
    (``AV_OUT_OF_SYNC``).  Without sound, every prompt must be followed by
    a mouth opening within the reaction window (``NO_SPEECH_MOVEMENT``),
    with the same spread limit.

    Parameters
    ----------
    challenge : Challenge
        A ``one_by_one`` challenge.
    t : ndarray of float, shape (N,)
        Frame times.
    mouth : ndarray of float, shape (N,)
        Inner-lip gap / face width per frame (nan where unusable): mouth onsets.
    mouth_height : ndarray of float, shape (N,)
        Outer-lip height per frame (nan where unusable): lip-voice sync.
    track : AudioTrack or None
        The recording's sound, on the frames' timeline.
    speech : tuple of (float, float)
        Its voice segments (:func:`livecert.speech.vad.voice_activity`).
    config : DigitsConfig
    prompt_at_s : float
        When the schedule started, clip seconds.

    Returns
    -------
    PromptTiming
    """
    t = np.asarray(t, dtype=np.float64)
    mouth = np.asarray(mouth, dtype=np.float64)
    shown = prompt_times(challenge, prompt_at_s)
    finite = mouth[np.isfinite(mouth)]
    closed = float(np.percentile(finite, 10)) if finite.size else math.nan
    n = len(shown)
    reasons: list[Reason] = []
    if track is None:
        answers = []
        for i, s in enumerate(shown):
            end = s + config.answer_window_s
            if i + 1 < n:
                end = min(end, shown[i + 1] + config.min_reaction_s)
            onset = mouth_onset(t, mouth, s + config.min_reaction_s, end, config, closed) if finite.size else None
            answers.append(PromptAnswer(float(s), None, None, onset))
        opened = [a.mouth_onset_s - a.shown_s for a in answers if a.mouth_onset_s is not None]
        if len(opened) < n:
            reasons.append(Reason(ReasonCode.NO_SPEECH_MOVEMENT, f"the mouth opened after {len(opened)} of {n} digits"))
        elif _spread(opened) > config.max_reaction_spread_s:
            reasons.append(Reason(ReasonCode.DIGITS_NOT_ON_CUE, f"reaction times spread {_spread(opened):.2f} s"))
        return PromptTiming(tuple(answers), (), math.nan, tuple(reasons))

    voice, unprompted, timing = judge_timing(shown, speech, config)
    if timing is not None:
        reasons.append(timing)
    out: list[PromptAnswer] = []
    in_step = 0
    voiced = iter(voiced_onsets(track, [v for v in voice if v is not None]))
    for s, v in zip(shown, voice):
        if v is None:
            out.append(PromptAnswer(float(s), None, None, None))
            continue
        last = next(voiced) + config.onset_lag_s
        onset = None
        if finite.size:
            onset = mouth_onset(t, mouth, v[0] - config.onset_lead_s, last, config, closed)
        in_step += onset is not None
        out.append(PromptAnswer(float(s), v[0], v[1], onset))
    answered = [a for a in out if a.voice_onset_s is not None]
    sync = _answers_sync(t, mouth_height, track, answered, config)
    if in_step < len(answered):
        reasons.append(
            Reason(
                ReasonCode.AV_OUT_OF_SYNC, f"the mouth opened with the voice in {in_step} of {len(answered)} answers"
            )
        )
    elif not (sync >= config.prompt_sync_threshold):  # nan fails too
        reasons.append(Reason(ReasonCode.AV_OUT_OF_SYNC, f"lip-voice correlation over the answers {sync:.2f}"))
    return PromptTiming(tuple(out), tuple(unprompted), sync, tuple(reasons))


def _spread(values: list[float]) -> float:
    return float(max(values) - min(values)) if values else 0.0


def _answers_sync(
    t: FloatArray, mouth_height: FloatArray, track: AudioTrack, answered: list[PromptAnswer], config: DigitsConfig
) -> float:
    """:func:`av_sync` score with the mouth kept only around the answers (nan when none)."""
    keep = np.zeros(t.shape, dtype=bool)
    for a in answered:
        if a.voice_onset_s is not None and a.voice_end_s is not None:
            keep |= (t >= a.voice_onset_s - SYNC_MARGIN_S) & (t <= a.voice_end_s + SYNC_MARGIN_S)
    if not keep.any():
        return math.nan
    masked = np.where(keep, np.asarray(mouth_height, dtype=np.float64), np.nan)
    score = av_sync(t, masked, track, max_lag_s=config.max_lag_s, lag_prior_s=config.sync_lag_prior_s)
    return float(score.score)
