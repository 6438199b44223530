"""LivenessSession on real clips: same result as verify(), sensible guidance."""

from __future__ import annotations

from pathlib import Path

import pytest

import livecert
from livecert.capture import open_source
from livecert.session import LivenessSession


def _without_timings(result: livecert.VerificationResult) -> dict:
    d = result.to_dict()
    d.pop("timings_ms")
    return d


@pytest.fixture(scope="module")
def zju_clip(data_dir: Path) -> Path:
    return next((data_dir / "videos" / "zju_eyeblink").glob("*/000005M_FTN.avi"))


def test_session_result_equals_verify(zju_clip: Path) -> None:
    expected = livecert.verify(zju_clip)
    with open_source(zju_clip) as frames, LivenessSession(live=False) as session:
        for frame in frames:
            session.push(frame.rgb, frame.t_s)
        got = session.result()
    assert _without_timings(got) == _without_timings(expected)
    assert expected.passed and len(expected.blinks) >= 1


def test_live_guidance_order(zju_clip: Path) -> None:
    codes = []
    with open_source(zju_clip) as frames, LivenessSession() as session:
        for frame in frames:
            update = session.push(frame.rgb, frame.t_s)
            if not codes or codes[-1] != update.guidance:
                codes.append(update.guidance)
            if update.finished:
                break
        result = session.result()
    assert codes[-1] == "DONE", codes
    assert codes.index("HOLD_STILL") < codes.index("PLEASE_BLINK") < codes.index("DONE"), codes
    assert result.passed and len(result.blinks) >= 1
