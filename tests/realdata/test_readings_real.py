"""Digits read one by one (``one_by_one`` challenges) on readings cut from GRID s1.

Readings are built by :mod:`tests.realdata.readings`: 4 to 6 GRID digit
words, each said a drawn reaction time after its prompt, with the mouth
closed and the room quiet in between.  The GRID halves of
``test_sync_real.py`` are kept apart: readings of the tuning half (the
even-indexed clips in sorted order) chose every setting of the prompt
decision (:class:`~livecert.config.DigitsConfig` ``prompt_sync_threshold``,
and ``ANSWER_PAD_S`` of the per-answer recognition) and PocketSphinx's
garbage phones around a one-digit answer
(:data:`~livecert.speech.recogniser.GARBAGE_PHONES`, chosen on tuning
readings cut with narrower and wider sound pads too, and on FSDD and
espeak-ng words for "zero": ``benchmarks/notes/speech.md``); the tests
below score readings of the held-out half (the odd-indexed clips, which
include every "zero" GRID s1 says), built from a seed of their own.

Attacks on each held-out reading:

* dubbed: its picture with the sound another reader would make answering
  the same prompts (the next reading's words, each a new reaction time
  after its prompt): the sound follows the prompts, only the lips tell;
* prompts from another challenge: the genuine recording checked against a
  new draw of prompt times for the same digits (a recording made earlier);
* shifted: the genuine recording with every answer 2 s later or earlier
  than it was made (a replay started late or early).  A shift smaller than
  the reaction window's slack looks like a slower or quicker reader and is
  not expected to fail.

The genuine and dubbed readings are also scored with their sound cut to
telephone band (8 kHz) and under white noise 20 dB below the answers'
speech.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from livecert.config import DigitsConfig, SpoofConfig, VerifyConfig
from livecert.io.audio import AudioTrack, resample
from livecert.liveness.challenge import Challenge
from livecert.liveness.digits import ChallengeOptions, check_digits
from livecert.results import Content, DigitsEvidence, ReasonCode
from livecert.schemas import SchemaName, load_schema
from livecert.session.live import LivenessSession
from livecert.speech.recogniser import DigitRecogniser
from livecert.speech.sphinx import PocketSphinxDigitRecogniser

from .degrade import Kind, degrade
from .readings import (
    Clips,
    Reading,
    build_reading,
    draw_schedule,
    dubbed,
    grid_words,
    lip_trace,
    mesh_lips,
    picture,
    sound,
)

log = logging.getLogger(__name__)

N_READINGS = 12
HELD_OUT_SEED = 29
DEGRADED = ("telephone", "snr20")


def _degraded(track: AudioTrack, kind: str, reading: Reading, seed: int) -> AudioTrack:
    """``track`` cut to telephone band, or with white noise 20 dB below the power of the answers' words."""
    x = track.samples.astype(np.float64)
    if kind == "telephone":
        x = resample(resample(x.astype(np.float32), track.sample_rate, 8000), 8000, track.sample_rate)[: len(x)]
    else:
        words = np.zeros(len(x), dtype=bool)
        for p in reading.sound:
            a = int(p.onset_s * track.sample_rate)
            words[a : a + int((p.word.end_s - p.word.start_s) * track.sample_rate)] = True
        power = float(np.mean(x[words] ** 2))
        x = x + np.random.default_rng(seed).normal(0.0, np.sqrt(power / 100.0), len(x))
    return AudioTrack(x.astype(np.float32), track.sample_rate, track.start_s)


@dataclass(frozen=True)
class Scored:
    """One recording's verdicts: (evidence, reason codes) with and without a recogniser."""

    recognised: tuple[DigitsEvidence, tuple[ReasonCode, ...]] | None
    timing_only: tuple[DigitsEvidence, tuple[ReasonCode, ...]]

    @property
    def passed_recognised(self) -> bool:
        return self.recognised is not None and not self.recognised[1]

    @property
    def passed_timing_only(self) -> bool:
        return not self.timing_only[1]


def _check(
    challenge: Challenge,
    lips: tuple[np.ndarray, np.ndarray, np.ndarray],
    track: AudioTrack,
    recogniser: DigitRecogniser | None,
    shift_s: float = 0.0,
) -> tuple[DigitsEvidence, tuple[ReasonCode, ...]]:
    t, inner, outer = lips
    moved = AudioTrack(track.samples, track.sample_rate, track.start_s + shift_s)
    evidence, reasons = check_digits(
        challenge, t + shift_s, inner, moved, DigitsConfig(), recogniser, mouth_height=outer
    )
    return evidence, tuple(r.code for r in reasons)


def _score(
    challenge: Challenge,
    lips: tuple[np.ndarray, np.ndarray, np.ndarray],
    track: AudioTrack,
    recogniser: DigitRecogniser | None,
    shift_s: float = 0.0,
) -> Scored:
    recognised = _check(challenge, lips, track, recogniser, shift_s) if recogniser is not None else None
    return Scored(recognised, _check(challenge, lips, track, None, shift_s))


def _other_digits(challenge: Challenge) -> Challenge:
    """The same prompt times showing other digits: every one differs from the one read."""
    digits = "".join(str((int(d) + 1 + i % 9) % 10) for i, d in enumerate(challenge.digits))
    steps = tuple(replace(step, text=digits[i]) for i, step in enumerate(challenge.schedule))
    return replace(challenge, digits=digits, schedule=steps)


def _held_out_readings(data_dir: Path, rng: np.random.Generator) -> list[Reading]:
    """The 12 held-out readings, 4, 5, 6, 4, ... digits."""
    words = grid_words(data_dir)[1::2]
    readings: list[Reading] = []
    for i in range(N_READINGS):
        n = 4 + i % 3
        readings.append(build_reading([words[k] for k in rng.choice(len(words), n, replace=False)], rng))
    return readings


@pytest.fixture(scope="module")
def held_out(data_dir: Path) -> dict[str, list[Scored]]:
    """Verdicts on the 12 held-out readings and their attacks, by kind."""
    rng = np.random.default_rng(HELD_OUT_SEED)
    readings = _held_out_readings(data_dir, rng)
    clips = Clips()
    recogniser = PocketSphinxDigitRecogniser()
    kinds = ("genuine", "dubbed", "other_prompts", "late", "early")
    out: dict[str, list[Scored]] = {k: [] for k in (*kinds, *(f"{k}_{d}" for k in kinds[:2] for d in DEGRADED))}
    out["other_digits"] = []
    for i, reading in enumerate(readings):
        lips = lip_trace(reading, clips)
        track = sound(reading, clips)
        other = readings[(i + 1) % N_READINGS]
        other_words = [p.word for p in other.picture]
        other_words = (other_words * 2)[: len(reading.picture)]
        dub = sound(dubbed(reading, other_words, rng), clips)
        out["genuine"].append(_score(reading.challenge, lips, track, recogniser))
        out["dubbed"].append(_score(reading.challenge, lips, dub, recogniser))
        out["other_digits"].append(_score(_other_digits(reading.challenge), lips, track, recogniser))
        for kind in DEGRADED:
            for name, audio in (("genuine", track), ("dubbed", dub)):
                degraded = _degraded(audio, kind, reading, seed=i)
                out[f"{name}_{kind}"].append(_score(reading.challenge, lips, degraded, None))
        redrawn = draw_schedule(reading.challenge.digits, rng)
        out["other_prompts"].append(_score(redrawn, lips, track, None))
        out["late"].append(_score(reading.challenge, lips, track, None, 2.0))
        out["early"].append(_score(reading.challenge, lips, track, None, -2.0))
    return out


def _summary(held: dict[str, list[Scored]]) -> str:
    lines = []
    for kind, scored in held.items():
        timing = sum(s.passed_timing_only for s in scored)
        recog = sum(s.passed_recognised for s in scored)
        syncs = [s.timing_only[0].prompt_sync for s in scored]
        with_recogniser = f", with recogniser {recog}/{len(scored)} pass" if scored[0].recognised else ""
        lines.append(
            f"{kind}: timing only {timing}/{len(scored)} pass{with_recogniser}, "
            f"answers sync {np.round(np.nan_to_num(np.array(syncs, dtype=float), nan=-1.0), 2).tolist()}, "
            f"reasons {[s.timing_only[1] for s in scored if s.timing_only[1]]}"
        )
    return "\n".join(lines)


def test_timing_only_held_out(held_out: dict[str, list[Scored]]) -> None:
    """The decision without a recogniser (``"content": "not_checked"``), held out.

    Measured: genuine 11/12 pass (BPCER 1/12: one answer whose mouth
    opened too late or not past the open level; 10/12 when the lag was
    counted from the voice onset rather than from voicing, the other miss
    a GRID "three" whose lips part 0.21 s after its "th"); dubbed, prompts
    from another challenge, 2 s late and 2 s early: 0/12 pass (APCER 0 each).
    """
    log.info("held-out readings:\n%s", _summary(held_out))
    genuine = held_out["genuine"]
    assert all(s.timing_only[0].content is Content.NOT_CHECKED for s in genuine)
    assert sum(s.passed_timing_only for s in genuine) >= 11
    for attack in ("dubbed", "other_prompts", "late", "early"):
        assert not [s.timing_only[1] for s in held_out[attack] if s.passed_timing_only], attack


@pytest.mark.parametrize("kind", DEGRADED)
def test_timing_only_with_telephone_band_or_noisy_sound(kind: str, held_out: dict[str, list[Scored]]) -> None:
    """The same held-out readings with degraded sound, no recogniser: at most one more genuine
    reading lost than with clean sound, and still no dubbed one passing.

    Measured: telephone band, genuine 11/12 pass and dubbed 0/12; 20 dB SNR, 11/12 and 0/12.
    """
    genuine = held_out[f"genuine_{kind}"]
    assert sum(s.passed_timing_only for s in genuine) >= sum(s.passed_timing_only for s in held_out["genuine"]) - 1
    assert not any(s.passed_timing_only for s in held_out[f"dubbed_{kind}"])


def test_dubbed_fail_on_the_lips_not_on_the_words(held_out: dict[str, list[Scored]]) -> None:
    """Dubbed sound answers the prompts in time: it fails on lip-voice sync, not on timing."""
    for s in held_out["dubbed"]:
        assert ReasonCode.AV_OUT_OF_SYNC in s.timing_only[1]
    genuine = [s.timing_only[0].prompt_sync for s in held_out["genuine"]]
    dubbed_ = [s.timing_only[0].prompt_sync for s in held_out["dubbed"]]
    assert np.nanmedian(np.array(genuine, dtype=float)) >= np.nanmedian(np.array(dubbed_, dtype=float)) + 0.3


def test_with_recogniser_dubbed_never_pass(held_out: dict[str, list[Scored]]) -> None:
    """With the recogniser (``"content": "recognised"``) no dubbed reading passes, held out."""
    assert all(s.recognised is not None and s.recognised[0].content is Content.RECOGNISED for s in held_out["dubbed"])
    assert not any(s.passed_recognised for s in held_out["dubbed"])


def test_with_recogniser_genuine_heard_exactly(held_out: dict[str, list[Scored]]) -> None:
    """Each answer recognised on its own (PocketSphinx, one digit, garbage phones at its edges), held out.

    Measured: 5 of 12 readings heard exactly, 51 of 60 answers (without the
    garbage phones 3 of 12, 44 of 60); the errors: one GRID "zero" heard as
    "two" wherever it is used, "one" as "four", "eight" as "five".
    """
    heard = [(s.recognised[0].heard, s.recognised[0].expected) for s in held_out["genuine"] if s.recognised]
    assert len(heard) == N_READINGS
    assert sum(h == e for h, e in heard) >= 4
    assert sum(a == b for h, e in heard for a, b in zip(h or "", e)) >= 48


def test_with_recogniser_one_misheard_digit_is_allowed(held_out: dict[str, list[Scored]]) -> None:
    """``DigitsConfig.max_misheard`` (1, with at least 3 digits heard right), held out: a reader is not
    refused for one digit the recogniser got wrong, while the same readings judged against other
    digits at the same prompt times (every digit differs: a live speaker saying other words) all fail.

    Measured (rule set from the recogniser's error rate and chance, not on these readings):
    genuine readings passing 4 of 12 when heard exactly, 9 of 12 with one misheard digit allowed;
    the 3 left: 1 out of sync, 2 with two digits misheard.  Other digits: 0 of 12 either way.
    """
    genuine = [s for s in held_out["genuine"] if s.recognised]
    assert len(genuine) == N_READINGS
    assert sum(s.passed_recognised for s in genuine) >= 9
    assert all(
        s.recognised is not None and (s.recognised[0].misheard or 0) <= 1 for s in genuine if s.passed_recognised
    )
    assert not [s.recognised[0].heard for s in held_out["other_digits"] if s.passed_recognised and s.recognised]
    for s in held_out["other_digits"]:
        assert s.recognised is not None and ReasonCode.DIGITS_MISMATCH in s.recognised[1]


@pytest.mark.xfail(
    reason="issue #17 target not met: held out, 9 of 12 genuine readings pass with the recogniser (4 when every "
    "digit must be heard exactly). PocketSphinx hears 5 of 12 exactly (51/60 answers: one GRID 'zero' as 'two', "
    "'one' as 'four', 'eight' as 'five'); 2 of 12 have two digits misheard and 1 fails lip-voice sync with or "
    "without a recogniser",
    strict=True,
)
def test_genuine_pass_with_recogniser_target(held_out: dict[str, list[Scored]]) -> None:
    """Issue #17: at least 11 of 12 genuine readings pass with the English recogniser (heard exactly, in sync)."""
    assert sum(s.passed_recognised for s in held_out["genuine"]) >= 11


def test_a_reading_through_a_live_session_and_its_json(data_dir: Path) -> None:
    """One held-out reading frame by frame through :class:`LivenessSession` (the path
    ``verify()`` takes), without a recogniser: it passes on timing and sync, and its
    JSON (``"content": "not_checked"``, one answer per digit) follows the result schema."""
    reading = _held_out_readings(data_dir, np.random.default_rng(HELD_OUT_SEED))[2]
    clips = Clips()
    config = VerifyConfig(spoof=SpoofConfig(enabled=False))  # the still frames between answers are the builder's
    options = ChallengeOptions(reading.challenge, check_content=False)
    with LivenessSession(mode="digits", config=config, challenge=options, live=False) as session:
        for rgb, t in picture(reading, clips):
            session.push(rgb, t)
        result = session.result(audio=sound(reading, clips))
    assert result.passed, result.reasons
    d = result.to_dict()
    Draft202012Validator(load_schema(SchemaName.RESULT)).validate(d)
    digits = d["digits"]
    assert digits["content"] == "not_checked" and digits["heard"] is None
    assert len(digits["prompts"]) == len(reading.challenge.digits)
    for answer, step in zip(digits["prompts"], reading.challenge.schedule):
        assert step.show_at_s < answer["voice_onset_s"] < step.show_at_s + DigitsConfig().answer_window_s


#: Issue 20's strengths (as ``test_degrade_real.py``), and the held-out genuine readings that
#: pass on timing and sync with the picture made that poor (measured 2026-12-05; 11 of 12 with
#: the clean picture).  Small and compressed lips lose sync first.
POOR_PICTURES = {(Kind.DIM, 1): 11, (Kind.SMALL, 1): 8, (Kind.DEFOCUS, 2): 10, (Kind.FPS, 2): 10}


@pytest.fixture(scope="module")
def poor_pictures(data_dir: Path) -> dict[tuple[Kind, int], tuple[list[Scored], list[Scored]]]:
    """Per poor picture: the held-out readings, genuine and dubbed, scored on timing and sync
    with their picture degraded as ``degrade.py`` degrades it (the sound as recorded)."""
    readings = _held_out_readings(data_dir, np.random.default_rng(HELD_OUT_SEED))
    clips = Clips()
    out: dict[tuple[Kind, int], tuple[list[Scored], list[Scored]]] = {k: ([], []) for k in POOR_PICTURES}
    for i, reading in enumerate(readings):
        frames = list(picture(reading, clips))
        track = sound(reading, clips)
        other = [p.word for p in readings[(i + 1) % N_READINGS].picture]
        dub = sound(dubbed(reading, (other * 2)[: len(reading.picture)], np.random.default_rng(100 + i)), clips)
        for (kind, level), (genuine, dubs) in out.items():
            lips = mesh_lips(degrade(frames, kind, level, seed=i))
            genuine.append(_score(reading.challenge, lips, track, None))
            dubs.append(_score(reading.challenge, lips, dub, None))
    for (kind, level), (genuine, dubs) in out.items():
        log.info("%s %d: genuine %d/12 pass, dubbed %d/12", kind.value, level,
                 sum(s.passed_timing_only for s in genuine), sum(s.passed_timing_only for s in dubs))  # fmt: skip
    return out


@pytest.mark.parametrize("picture_kind", list(POOR_PICTURES), ids=[f"{k.value}{n}" for k, n in POOR_PICTURES])
def test_readings_in_a_poor_picture(poor_pictures: dict, picture_kind: tuple[Kind, int]) -> None:
    """Issue 20 asks for read-digits figures under each degradation (its targets are for blink
    mode): held-out readings whose picture is dim, small, defocused or at 12 fps, no recogniser.
    No dubbed reading may pass; genuine readings pass as measured (:data:`POOR_PICTURES`)."""
    genuine, dubs = poor_pictures[picture_kind]
    assert not [s.timing_only[1] for s in dubs if s.passed_timing_only]
    assert sum(s.passed_timing_only for s in genuine) >= POOR_PICTURES[picture_kind]
