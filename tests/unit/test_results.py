"""Result containers: the frame trace, quality flags, modes and the pure decision."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from livecert.config import Mode, VerifyConfig
from livecert.errors import InputError
from livecert.results import BlinkEvent, FrameTrace, MatchResult, QualityFlag, ReasonCode
from livecert.session.decide import Evidence, decide
from livecert.session.steps import Step
from livecert.session.trace import TraceRecorder


def _trace(n: int, *, flags: int = 0, face: bool = True) -> FrameTrace:
    rec = TraceRecorder()
    for i in range(n):
        v = 0.3 if face else math.nan
        rec.append(
            t_s=i / 25,
            n_faces=1,
            left_eye=v,
            right_eye=v,
            eye_width_ratio=v,
            inner_lip_gap=v,
            outer_lip_height=v,
            yaw_deg=0.0,
            pitch_deg=0.0,
            face_width_px=100.0,
            brightness=120.0,
            sharpness=50.0,
            flags=flags | (0 if face else int(QualityFlag.NO_FACE)),
        )
    return rec.since()


def test_trace_columns_must_have_one_value_per_frame() -> None:
    good = _trace(3)
    with pytest.raises(InputError) as err:
        FrameTrace(**{**{c: getattr(good, c) for c in FrameTrace.columns()}, "left_eye": np.zeros(2)})
    assert err.value.code == "BAD_TRACE" and "left_eye" in str(err.value)
    with pytest.raises(InputError):
        FrameTrace(**{**{c: getattr(good, c) for c in FrameTrace.columns()}, "flags": np.zeros((3, 1))})
    with pytest.raises(InputError) as err:
        FrameTrace(**{**{c: getattr(good, c) for c in FrameTrace.columns()}, "n_faces": ["one", "two", "three"]})
    assert err.value.code == "BAD_TRACE" and "n_faces must be numbers" in str(err.value)


def test_trace_masking_and_slicing_keep_columns_parallel() -> None:
    trace = _trace(10)
    part = trace[trace.t_s >= 0.2]
    assert len(part) == 5 and part.t_s[0] == pytest.approx(0.2)
    assert len(trace[2:4]) == 2 and trace[np.array([0, 9])].t_s.tolist() == pytest.approx([0.0, 0.36])
    with pytest.raises(InputError):
        trace[np.ones(3, dtype=bool)]
    assert part.flags.dtype == np.int64 and part.n_faces.dtype == np.int64
    assert len(FrameTrace.empty()) == 0


def test_recorder_cuts_by_time() -> None:
    rec = TraceRecorder()
    for i in range(5):
        rec.append(
            t_s=float(i), n_faces=1, left_eye=1, right_eye=1, eye_width_ratio=0.5, inner_lip_gap=0,
            outer_lip_height=0, yaw_deg=0, pitch_deg=0, face_width_px=1, brightness=1, sharpness=1, flags=0,
        )  # fmt: skip
    assert rec.since(2.5).t_s.tolist() == [3.0, 4.0] and len(rec.since()) == 5 == len(rec)


def test_usable_frames_ignore_the_picture_but_not_a_turned_face() -> None:
    poor = QualityFlag.BLURRY | QualityFlag.TOO_DARK | QualityFlag.FACE_TOO_SMALL
    assert _trace(3, flags=int(poor)).usable.all()
    assert np.isnan(_trace(3, flags=int(QualityFlag.FACE_TURNED)).where_usable("left_eye")).all()


def test_each_quality_flag_has_its_reason_code() -> None:
    for flag in QualityFlag.split(0b111111):
        assert flag.reason_code.value == flag.name
    assert QualityFlag.split(int(QualityFlag.TOO_DARK | QualityFlag.NO_FACE)) == [
        QualityFlag.NO_FACE,
        QualityFlag.TOO_DARK,
    ]
    with pytest.raises(ValueError):
        _ = (QualityFlag.TOO_DARK | QualityFlag.BLURRY).reason_code


def test_mode_parses_strings_and_names_the_choices() -> None:
    assert Mode.parse("digits") is Mode.DIGITS and Mode.parse(Mode.BLINK) is Mode.BLINK
    with pytest.raises(InputError) as err:
        Mode.parse("wink")
    assert err.value.code == "BAD_MODE" and "blink" in str(err.value)


def test_decide_is_a_pure_function_of_trace_and_evidence() -> None:
    cfg = VerifyConfig()
    trace = _trace(50)
    blink = BlinkEvent(0.5, 0.7, 0.1)
    assert decide(trace, Mode.BLINK, cfg, Evidence(blinks=(blink,))).reasons == ()
    codes = [r.code for r in decide(trace, Mode.BLINK, cfg, Evidence()).reasons]
    assert codes == [ReasonCode.NO_BLINK]
    mismatch = MatchResult(False, 0.5, 0.365, 3)
    reasons = decide(
        trace, Mode.BLINK, cfg, Evidence(blinks=(blink,), match=mismatch, timeout_step=Step.ACTION)
    ).reasons
    assert [r.code for r in reasons] == [ReasonCode.TIMEOUT, ReasonCode.FACE_MISMATCH]
    assert reasons[0].detail == "step action"
    dark = decide(_trace(50, face=False), Mode.DIGITS, cfg, Evidence()).reasons
    assert [r.code for r in dark] == [ReasonCode.NO_FACE]
    assert [r.code for r in decide(_trace(10), Mode.DIGITS, cfg, Evidence()).reasons] == [ReasonCode.TOO_SHORT]


def test_picture_problems_refuse_only_when_the_evidence_failed() -> None:
    cfg = VerifyConfig()
    dim = _trace(50, flags=int(QualityFlag.TOO_DARK | QualityFlag.BLURRY))
    blink = BlinkEvent(0.5, 0.7, 0.1)
    read = decide(dim, Mode.BLINK, cfg, Evidence(blinks=(blink,)))
    assert read.passed and [r.code for r in read.advice] == [ReasonCode.TOO_DARK, ReasonCode.BLURRY]
    unread = decide(dim, Mode.BLINK, cfg, Evidence())
    assert [r.code for r in unread.reasons] == [ReasonCode.TOO_DARK, ReasonCode.BLURRY, ReasonCode.NO_BLINK]
    assert unread.advice == ()
    mismatch = MatchResult(False, 0.5, 0.365, 3)
    unmatched = decide(dim, Mode.BLINK, cfg, Evidence(blinks=(blink,), match=mismatch))
    assert [r.code for r in unmatched.reasons] == [ReasonCode.TOO_DARK, ReasonCode.BLURRY, ReasonCode.FACE_MISMATCH]
    flags = np.where(np.arange(50) < 30, int(QualityFlag.TOO_DARK), 0)
    mostly_dim = decide(dataclasses.replace(_trace(50), flags=flags), Mode.BLINK, cfg, Evidence(blinks=(blink,)))
    assert mostly_dim.passed and mostly_dim.advice[0].detail == "30 of 50 face frames"
