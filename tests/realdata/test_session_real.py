"""LivenessSession on real clips: same result as verify(), sensible guidance."""

from __future__ import annotations

from pathlib import Path

import pytest

import livecert
from livecert.io.sources import open_source
from livecert.liveness.challenge import Challenge
from livecert.liveness.digits import ChallengeOptions
from livecert.session.live import LivenessSession


def _without_timings(result: livecert.VerificationResult) -> dict:
    d = result.to_dict()
    d.pop("timings_ms")
    d.pop("meta", None)  # the audit record: verify() fills it (with its own time), a session does not
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


def test_headless_demo_records_annotated_frames(zju_clip: Path, tmp_path: Path) -> None:
    import numpy as np

    from livecert.app.cli import main

    out = tmp_path / "demo.mp4"
    assert main(["demo", "--video", str(zju_clip), "--headless", "--record", str(out), "--lang", "en"]) == 0
    with open_source(zju_clip) as src:
        original = [f.rgb for f in src]
    with open_source(out) as src:
        recorded = [f.rgb for f in src]
    assert abs(len(recorded) - len(original)) <= 2
    h = original[0].shape[0]
    bottom = slice(h - h // 7, h)  # the instruction bar
    diff = np.abs(recorded[10][bottom].astype(int) - original[10][: recorded[10].shape[0]][bottom].astype(int)).mean()
    assert diff > 20, diff
    middle = slice(h // 3, h // 2)  # face area: only small landmark dots and compression differ
    assert np.abs(recorded[10][middle].astype(int) - original[10][middle].astype(int)).mean() < 20


def test_digits_session_equals_verify(data_dir: Path) -> None:
    from livecert.io.audio import read_audio

    clip = data_dir / "videos" / "grid" / "s1" / "bbaf4p.mpg"  # "... four please"
    challenge = Challenge.for_known_digits("4")
    expected = livecert.verify(clip, mode="digits", challenge=ChallengeOptions(challenge))
    with (
        open_source(clip) as frames,
        LivenessSession(mode="digits", challenge=ChallengeOptions(challenge), live=False) as session,
    ):
        for frame in frames:
            session.push(frame.rgb, frame.t_s)
        got = session.result(audio=read_audio(clip))
    assert _without_timings(got) == _without_timings(expected)
    assert expected.digits is not None and expected.digits.audio and expected.digits.av_sync is not None


def test_digits_demo_on_a_video_hears_its_sound(data_dir: Path, tmp_path: Path) -> None:
    """The demo used to judge a video's digits on the picture alone."""
    from livecert.app.demo import run_demo

    clip = data_dir / "videos" / "grid" / "s1" / "bbaf4p.mpg"  # "... four please"
    shown = run_demo(
        video=str(clip), mode="digits", expect_digits="4", lang="en", headless=True, record=tmp_path / "d.mp4"
    )
    expected = livecert.verify(clip, mode="digits", challenge=ChallengeOptions(Challenge.for_known_digits("4")))
    assert shown.digits is not None and shown.digits.audio and shown.digits.heard is not None
    assert _without_timings(shown) == _without_timings(expected)


def _guidance_runs(codes: list[tuple[float, str]]) -> list[tuple[str, float]]:
    """(code, seconds shown) for each run of one code, the last run left out (cut by the clip's end)."""
    runs: list[tuple[str, float]] = []
    start_t, current = codes[0]
    for t, code in codes[1:]:
        if code != current:
            runs.append((current, t - start_t))
            start_t, current = t, code
    return runs


def test_two_people_guidance_does_not_flicker(data_dir: Path) -> None:
    """Two real faces held up to the camera: every guidance code stays on screen at least
    0.5 s (issue target), and it is MULTIPLE_FACES nearly all the time.  Faces are
    counted every 0.2 s; the frames between used to say HOLD_STILL."""
    from tests.realdata.attacks import photo_video

    photo = livecert.read_image_rgb(data_dir / "photos" / "impostors" / "two_people.jpg", max_side=640)
    codes = []
    with LivenessSession() as session:
        for rgb, t in photo_video(photo, seconds=6.0, fps=25.0, handheld=True, seed=3):
            codes.append((t, session.push(rgb, t).guidance.value))
    runs = _guidance_runs(codes)
    assert all(seconds >= 0.5 - 1e-9 for _, seconds in runs), runs
    multiple = sum(1 for _, code in codes if code == "MULTIPLE_FACES")
    assert multiple >= 0.9 * len(codes), (multiple, len(codes), runs)
