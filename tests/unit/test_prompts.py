"""Digits read one by one: prompt timing and per-answer sync on synthetic signals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from livecert.config import DigitsConfig
from livecert.errors import InputError
from livecert.io.audio import AudioTrack
from livecert.liveness import digits as digits_module
from livecert.liveness.challenge import ONE_BY_ONE_STEP_S, Challenge, PromptStep, ScheduleKind, new_challenge
from livecert.liveness.digits import ChallengeOptions, check_digits
from livecert.liveness.mouth import answered_mouth_prompts
from livecert.liveness.prompts import answer_prompts, judge_timing, prompt_times, voice_answers, voiced_onsets
from livecert.results import Content, DigitsEvidence, PromptAnswer, ReasonCode
from livecert.schemas import SchemaName, load_schema

FPS = 25.0
RATE = 16000
SHOWN = (0.0, 2.6, 5.9, 8.3)
WORD_S = 0.4


def _challenge(shown: tuple[float, ...] = SHOWN, digits: str = "4729") -> Challenge:
    hides = (*shown[1:], shown[-1] + 3.0)
    steps = tuple(PromptStep(d, a, b) for d, a, b in zip(digits, shown, hides))
    return Challenge(digits, "n", 0.0, math.inf, steps, ScheduleKind.ONE_BY_ONE, True)


def _bump(t: np.ndarray, onsets: list[float]) -> np.ndarray:
    """1 during each word (a raised cosine of WORD_S seconds from each onset), 0 elsewhere."""
    out = np.zeros_like(t)
    for a in onsets:
        inside = (t >= a) & (t <= a + WORD_S)
        out[inside] = np.sin(np.pi * (t[inside] - a) / WORD_S) ** 2
    return out


def _reading(
    mouth_onsets: list[float], voice_onsets: list[float], seconds: float = 12.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, AudioTrack, tuple[tuple[float, float], ...]]:
    """Frame times, inner gap, outer height (F,), a voiced track and its voice segments."""
    t = np.arange(0.0, seconds, 1 / FPS)
    opening = np.sqrt(_bump(t, mouth_onsets))  # lips open wider and longer than the sound's energy
    inner = 0.005 + 0.06 * opening
    outer = 0.1 + 0.08 * opening
    ts = np.arange(int(seconds * RATE)) / RATE
    voiced = sum(np.sin(2 * np.pi * 120 * k * ts) / k for k in range(1, 30))
    rng = np.random.default_rng(0)
    samples = 0.3 * _bump(ts, voice_onsets) * voiced + 0.01 * rng.normal(size=ts.size)
    speech = tuple((a, a + WORD_S) for a in voice_onsets)
    return t, inner, outer, AudioTrack(samples.astype(np.float32), RATE, 0.0), speech


def _judge(mouth: list[float], voice: list[float], challenge: Challenge | None = None) -> set[ReasonCode]:
    t, inner, outer, track, speech = _reading(mouth, voice)
    timing = answer_prompts(challenge or _challenge(), t, inner, outer, track, speech, DigitsConfig())
    return {r.code for r in timing.reasons}


REACTIONS = (0.7, 0.55, 1.1, 0.8)
ANSWERS = [s + r for s, r in zip(SHOWN, REACTIONS)]


def test_a_reader_answering_each_prompt_passes() -> None:
    t, inner, outer, track, speech = _reading(ANSWERS, ANSWERS)
    timing = answer_prompts(_challenge(), t, inner, outer, track, speech, DigitsConfig())
    assert timing.passed, timing.reasons
    assert [a.voice_onset_s for a in timing.answers] == pytest.approx(ANSWERS)
    assert all(a.mouth_onset_s is not None and abs(a.mouth_onset_s - a.voice_onset_s) <= 0.1 for a in timing.answers)  # type: ignore[operator]
    assert timing.sync >= DigitsConfig().prompt_sync_threshold


@pytest.mark.parametrize("shift_s", [-0.8, 2.5])
def test_answers_before_the_prompt_or_too_late_are_not_on_cue(shift_s: float) -> None:
    moved = [a + shift_s for a in ANSWERS]
    assert ReasonCode.DIGITS_NOT_ON_CUE in _judge(moved, moved)


def test_a_recording_for_other_prompts_is_not_on_cue() -> None:
    other = _challenge((0.0, 4.3, 6.5, 10.4))
    assert ReasonCode.DIGITS_NOT_ON_CUE in _judge(ANSWERS, ANSWERS, other)


def test_dubbed_sound_on_time_but_lips_elsewhere_is_out_of_sync() -> None:
    lips = [a + 0.6 for a in ANSWERS]  # the picture of another reading of the same prompts
    assert _judge(lips, ANSWERS) == {ReasonCode.AV_OUT_OF_SYNC}


def test_a_still_mouth_with_sound_is_out_of_sync() -> None:
    assert ReasonCode.AV_OUT_OF_SYNC in _judge([], ANSWERS)


def test_without_sound_each_prompt_needs_a_mouth_opening() -> None:
    t, inner, outer, _, _ = _reading(ANSWERS, [])
    ok = answer_prompts(_challenge(), t, inner, outer, None, (), DigitsConfig())
    assert ok.passed and all(a.voice_onset_s is None for a in ok.answers)
    t, inner, outer, _, _ = _reading(ANSWERS[:3], [])
    missing = answer_prompts(_challenge(), t, inner, outer, None, (), DigitsConfig())
    assert {r.code for r in missing.reasons} == {ReasonCode.NO_SPEECH_MOVEMENT}


def test_voice_segments_are_matched_to_prompts() -> None:
    shown = np.array(SHOWN)
    speech = ((-0.5, -0.2), (0.7, 0.9), (1.05, 1.3), (2.65, 2.9), (3.0, 3.2), (6.5, 6.9), (8.0, 8.2))
    answers, unprompted = voice_answers(shown, speech, DigitsConfig())
    # a word split in two is one answer; voice 0.05 s after a prompt is too quick to answer it;
    # 2.3 s after one is too late
    assert answers == [(0.7, 1.3), (3.0, 3.2), (6.5, 6.9), None]
    assert unprompted == [-0.5, 2.65, 8.0]


def test_one_cough_is_tolerated_two_are_not() -> None:
    speech = tuple((a, a + WORD_S) for a in ANSWERS)
    shown = np.array(SHOWN)
    assert judge_timing(shown, (*speech, (11.5, 11.7)), DigitsConfig())[2] is None
    reason = judge_timing(shown, (*speech, (11.0, 11.2), (11.5, 11.7)), DigitsConfig())[2]
    assert reason is not None and reason.code is ReasonCode.DIGITS_NOT_ON_CUE


def _schedule(n: int, rng: np.random.Generator) -> np.ndarray:
    low, high = ONE_BY_ONE_STEP_S
    return np.concatenate([[0.0], np.cumsum(rng.integers(low * 100, high * 100 + 1, n - 1) / 100)])


@pytest.mark.parametrize(("n_digits", "at_most"), [(4, 0.15), (6, 0.04)])
def test_a_recording_made_for_other_prompts_passes_only_by_chance(n_digits: int, at_most: float) -> None:
    """A reading made for one challenge, checked against another's prompt times (the schedule
    :func:`new_challenge` draws): the timing rule lets it through this rarely."""
    rng = np.random.default_rng(7)
    config = DigitsConfig()
    passed = 0
    draws = 3000
    for _ in range(draws):
        made_for = _schedule(n_digits, rng) + rng.uniform(0.45, 1.2, n_digits)
        speech = tuple((float(a), float(a) + WORD_S) for a in made_for)
        passed += judge_timing(_schedule(n_digits, rng), speech, config)[2] is None
    assert passed / draws <= at_most


def test_live_readers_within_the_window_always_pass_the_timing_rule() -> None:
    rng = np.random.default_rng(8)
    for _ in range(500):
        shown = _schedule(6, rng)
        onsets = shown + rng.uniform(0.3, 1.5, 6)
        assert judge_timing(shown, tuple((float(a), float(a) + 0.8) for a in onsets), DigitsConfig())[2] is None


def test_prompt_times_follow_the_schedule() -> None:
    assert prompt_times(_challenge(), 1.5).tolist() == pytest.approx([s + 1.5 for s in SHOWN])
    challenge = new_challenge(schedule="one_by_one")
    assert len(challenge.digits) == 6 and len(prompt_times(challenge, 0.0)) == 6


class _OneDigitAtATime:
    """Hears the challenge's digits one answer at a time, and records what it was asked."""

    def __init__(self, digits: str) -> None:
        self.digits = list(digits)
        self.asked: list[int] = []

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
        self.asked.append(n_digits)
        return self.digits.pop(0)


def test_check_digits_says_whether_the_content_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    t, inner, outer, track, speech = _reading(ANSWERS, ANSWERS)
    monkeypatch.setattr(digits_module, "voice_activity", lambda _track: list(speech))
    challenge = _challenge()
    evidence, reasons = check_digits(challenge, t, inner, track, DigitsConfig(), None, mouth_height=outer)
    assert not reasons and evidence.content is Content.NOT_CHECKED and evidence.heard is None
    recogniser = _OneDigitAtATime("4729")
    evidence, reasons = check_digits(challenge, t, inner, track, DigitsConfig(), recogniser, mouth_height=outer)
    assert not reasons and evidence.content is Content.RECOGNISED and evidence.heard == "4729"
    assert recogniser.asked == [1, 1, 1, 1] and [a.heard for a in evidence.prompts] == list("4729")
    wrong = _OneDigitAtATime("4739")
    evidence, reasons = check_digits(challenge, t, inner, track, DigitsConfig(), wrong, mouth_height=outer)
    assert not reasons and evidence.heard == "4739" and evidence.misheard == 1  # one of 4 misheard is allowed
    exact = DigitsConfig(max_misheard=0)
    evidence, reasons = check_digits(challenge, t, inner, track, exact, _OneDigitAtATime("4739"), mouth_height=outer)
    assert [r.code for r in reasons] == [ReasonCode.DIGITS_MISMATCH] and evidence.misheard == 1
    evidence, reasons = check_digits(
        challenge, t, inner, track, DigitsConfig(), _OneDigitAtATime("4839"), mouth_height=outer
    )
    assert [r.code for r in reasons] == [ReasonCode.DIGITS_MISMATCH] and evidence.misheard == 2
    assert "2 of 4 digits wrong, 1 allowed" in reasons[0].detail


def test_digits_json_with_prompts_follows_the_schema() -> None:
    evidence = DigitsEvidence(
        expected="47",
        heard=None,
        speech_segments=((0.7, 1.1),),
        mouth_events=(0.8,),
        av_sync=(0.5, 0.02),
        audio=True,
        passed=False,
        content=Content.NOT_CHECKED,
        prompts=(PromptAnswer(0.0, 0.7, 1.1, 0.68), PromptAnswer(2.6, None, None, None)),
        prompt_sync=float("nan"),
    )
    d = evidence.to_dict()
    assert d["content"] == "not_checked" and d["prompt_sync"] is None
    assert d["prompts"][1] == {
        "shown_s": 2.6,
        "voice_onset_s": None,
        "voice_end_s": None,
        "mouth_onset_s": None,
        "heard": None,
    }
    schema = load_schema(SchemaName.RESULT)
    Draft202012Validator(schema["properties"]["digits"] | {"$defs": schema["$defs"]}).validate(d)


@pytest.mark.parametrize(
    "field", [{"answer_window_s": 0.1}, {"max_unprompted": 1.5}, {"onset_lag_s": -1.0}, {"prompt_sync_threshold": 2.0}]
)
def test_bad_prompt_settings_are_refused(field: dict[str, float]) -> None:
    with pytest.raises(InputError) as info:
        DigitsConfig(**field)  # type: ignore[arg-type]
    assert info.value.code == "BAD_CONFIG"


def test_check_content_is_a_bool_and_excludes_a_recogniser() -> None:
    challenge = _challenge()
    assert ChallengeOptions(challenge, check_content=False).recogniser is None
    with pytest.raises(InputError) as info:
        ChallengeOptions(challenge, recogniser=_OneDigitAtATime("4729"), check_content=False)
    assert info.value.code == "BAD_ARGUMENT"
    with pytest.raises(InputError) as info:
        ChallengeOptions(challenge, check_content="no")  # type: ignore[arg-type]
    assert info.value.code == "BAD_ARGUMENT"


@pytest.mark.parametrize(
    ("heard", "expected", "distance"),
    [
        ("4729", "4729", 0),
        ("4739", "4729", 1),
        ("729", "4729", 1),
        ("47299", "4729", 1),
        ("", "4729", 4),
        ("9274", "4729", 4),
    ],
)
def test_edit_distance_counts_digits_replaced_dropped_or_added(heard: str, expected: str, distance: int) -> None:
    assert digits_module.edit_distance(heard, expected) == distance == digits_module.edit_distance(expected, heard)


class _Fixed:
    def __init__(self, heard: str) -> None:
        self.heard = heard

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
        return self.heard


def _silence() -> AudioTrack:
    return AudioTrack(np.random.default_rng(0).normal(0, 1e-3, 64000).astype(np.float32), 16000)


@pytest.mark.parametrize(
    ("shown", "heard", "passes"),
    [("472", "473", False), ("4729", "4739", True), ("472951", "472950", True), ("472951", "372950", False)],
)
def test_a_misheard_digit_is_allowed_only_with_three_heard_right(shown: str, heard: str, passes: bool) -> None:
    """Whole-reading recognition (no prompts one by one): 3 digits must be heard exactly."""
    challenge = Challenge.for_known_digits(shown)
    t = np.arange(0, 4, 0.04)
    mouth = np.full_like(t, np.nan)
    _, reasons = check_digits(challenge, t, mouth, _silence(), DigitsConfig(), _Fixed(heard), mouth_height=mouth)
    assert (ReasonCode.DIGITS_MISMATCH in [r.code for r in reasons]) is not passes


def test_a_mouth_prompt_is_answered_by_an_opening_inside_its_window() -> None:
    """``answered_mouth_prompts``: the mouth must open (its widest point) 0.15 s or more after the
    prompt and before it is hidden; a mouth held open without moving does not answer, one that
    rests a little open and opens wider does."""
    t = np.arange(0, 10, 0.04)
    closed = np.full(t.shape, 0.01)
    opened_at_5 = np.where((t >= 5.0) & (t < 5.6), 0.06, closed)
    windows = ((1.0, 3.5), (4.5, 7.0))
    assert answered_mouth_prompts(t + 20.0, opened_at_5, windows, 20.0, 0.15) == (False, True)
    assert answered_mouth_prompts(t, opened_at_5, ((4.9, 7.4),), 0.0, 0.15) == (False,)  # 0.1 s: too soon
    held_open = np.where((t >= 4.0) & (t < 6.0), 0.06, closed)
    assert answered_mouth_prompts(t, held_open, windows, 0.0, 0.15) == (False, False)
    small = np.where((t >= 5.0) & (t < 5.6), 0.025, closed)  # under open_delta (0.02) above closed
    assert answered_mouth_prompts(t, small, windows, 0.0, 0.15) == (False, False)
    gap = opened_at_5.copy()
    gap[(t >= 4.0) & (t < 5.2)] = np.nan  # the face lost, found again with the mouth open: an opening
    assert answered_mouth_prompts(t, gap, windows, 0.0, 0.15) == (False, True)
    assert answered_mouth_prompts(t, np.full(t.shape, np.nan), windows, 0.0, 0.15) == (False, False)
    assert answered_mouth_prompts(t, opened_at_5, (), 0.0, 0.15) == ()
    resting_open = np.where(t >= 2.0, 0.035, closed)  # closed at first, then resting a little open
    resting_open[(t >= 5.0) & (t < 5.6)] = 0.09
    assert answered_mouth_prompts(t, resting_open, windows, 0.0, 0.15) == (False, True)


def _fricative_then_vowel(onsets: list[float], fricative_s: float, seconds: float = 12.0) -> AudioTrack:
    """Each word: ``fricative_s`` of noise above 3 kHz (an unvoiced "th" or "s"), then a 120 Hz vowel."""
    ts = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(1)
    hiss = np.fft.irfft(np.where(np.fft.rfftfreq(ts.size, 1 / RATE) > 3000, np.fft.rfft(rng.normal(size=ts.size)), 0))
    vowel = sum(np.sin(2 * np.pi * 120 * k * ts) / k for k in range(1, 8))
    samples = 0.01 * rng.normal(size=ts.size)
    for a in onsets:
        f = (ts >= a) & (ts < a + fricative_s)
        v = (ts >= a + fricative_s) & (ts < a + fricative_s + WORD_S)
        samples[f] += 0.1 * hiss[f] / np.std(hiss)
        samples[v] += 0.3 * vowel[v]
    return AudioTrack(samples.astype(np.float32), RATE, 0.0)


def test_voicing_starts_after_an_unvoiced_consonant() -> None:
    track = _fricative_then_vowel([1.0, 4.0], 0.2)
    onsets = voiced_onsets(track, [(1.0, 1.6), (4.0, 4.6)])
    assert onsets == pytest.approx([1.2, 4.2], abs=0.03)
    vowel_only = _fricative_then_vowel([1.0], 0.0)
    assert voiced_onsets(vowel_only, [(1.0, 1.4)]) == pytest.approx([1.0], abs=0.03)
    assert voiced_onsets(track, []) == []


@pytest.mark.parametrize(("fricative_s", "in_sync"), [(0.25, True), (0.0, False)])
def test_the_mouth_may_open_at_the_vowel_of_a_word_that_starts_unvoiced(fricative_s: float, in_sync: bool) -> None:
    """The lips part 0.3 s after the sound starts: in step when a 0.25 s "th" came first, out of
    step when the word started with its vowel (the lag allowed is 0.2 s after voicing starts)."""
    t, inner, outer, _, _ = _reading([a + 0.3 for a in ANSWERS], [])
    track = _fricative_then_vowel(ANSWERS, fricative_s)
    speech = tuple((a, a + fricative_s + WORD_S) for a in ANSWERS)
    timing = answer_prompts(_challenge(), t, inner, outer, track, speech, DigitsConfig())
    opened_in_step = not any("opened with the voice" in r.detail for r in timing.reasons)
    assert opened_in_step is in_sync, timing.reasons
