"""LivenessSession state machine with synthetic frames."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import livecert
from livecert.config import SessionConfig, VerifyConfig
from livecert.errors import ErrorCode, InputError, SessionStateError
from livecert.io.frames import Frame
from livecert.liveness.challenge import Challenge
from livecert.liveness.digits import ChallengeOptions
from livecert.session.live import LivenessSession

from .paths import SAMPLE
from .videos import frames_of

BLANK = np.full((120, 160, 3), 80, np.uint8)


def test_out_of_order_timestamps_raise() -> None:
    with LivenessSession() as s:
        s.push(BLANK, 1.0)
        for bad in (1.0, 0.5, float("nan"), "x"):
            with pytest.raises(SessionStateError) as err:
                s.push(BLANK, bad)  # type: ignore[arg-type]
            assert err.value.code in ("TIMESTAMP_NOT_INCREASING", "BAD_TIMESTAMP")


def test_face_step_times_out_with_its_step() -> None:
    cfg = replace(VerifyConfig(), session=SessionConfig(face_step_s=1.0))
    with LivenessSession(config=cfg) as s:
        updates = [s.push(BLANK, i / 10) for i in range(12)]
        assert updates[0].guidance == "NO_FACE" and updates[0].step == "face"
        assert updates[-1].finished and updates[-1].guidance == "TIMEOUT"
        with pytest.raises(SessionStateError) as err:
            s.push(BLANK, 2.0)
        assert err.value.code == "SESSION_FINISHED"
        result = s.result()
    assert not result.passed
    timeout = [r for r in result.reasons if r.code.value == "TIMEOUT"]
    assert timeout and "face" in timeout[0].detail


def test_not_live_never_times_out() -> None:
    cfg = replace(VerifyConfig(), session=SessionConfig(face_step_s=1.0))
    with LivenessSession(config=cfg, live=False) as s:
        updates = [s.push(BLANK, i / 10) for i in range(30)]
        assert not any(u.finished for u in updates)
        assert "TIMEOUT" not in s.result().reason_codes


def test_result_is_stable_and_finishes_the_session() -> None:
    with LivenessSession(live=False) as s:
        for i in range(25):
            s.push(BLANK, i / 25)
        first = s.result()
        assert s.result() is first
        with pytest.raises(SessionStateError) as err:
            s.push(BLANK, 5.0)
        assert err.value.code == "SESSION_FINISHED"


def test_bilingual_guidance() -> None:
    with LivenessSession() as s:
        u = s.push(BLANK, 0.0)
    assert u.message("en") != u.message("zh") and u.message_zh


def test_digits_mode_needs_a_challenge() -> None:
    with pytest.raises(InputError) as err:
        LivenessSession(mode="digits")
    assert err.value.code == "NO_CHALLENGE"
    with pytest.raises(InputError) as err:
        LivenessSession(mode="blink", challenge=ChallengeOptions(Challenge.for_known_digits("12")))
    assert err.value.code == "BAD_ARGUMENT"


def test_a_token_without_its_key_is_a_programming_error() -> None:
    """It used to reach the pensioner as CHALLENGE_INVALID ("start again")."""
    with pytest.raises(InputError) as err:
        ChallengeOptions("some-token")
    assert err.value.code == "NO_KEY" and "key=" in str(err.value)
    with pytest.raises(InputError) as err:
        ChallengeOptions(4729)  # type: ignore[arg-type]
    assert err.value.code == "NO_CHALLENGE"


def test_challenge_problems_are_reasons_not_exceptions() -> None:
    from livecert.liveness.challenge import MemoryNonceStore, generate_key, new_challenge

    key = generate_key()
    store = MemoryNonceStore()
    token = new_challenge(4, ttl_s=60, now=1000.0).to_token(key)
    cases = {
        "CHALLENGE_INVALID": (ChallengeOptions(token[:-3] + "AAA", key=key, nonce_store=store), 1001.0),
        "CHALLENGE_EXPIRED": (ChallengeOptions(token, key=key, nonce_store=store), 5000.0),
    }
    for code, (options, now) in cases.items():
        with LivenessSession(mode="digits", live=False, challenge=options, now=now) as s:
            s.push(BLANK, 0.0)
            assert s.result().reason_codes[0] == code
    options = ChallengeOptions(token, key=key, nonce_store=store)
    with LivenessSession(mode="digits", live=False, challenge=options, now=1001.0) as s:
        s.push(BLANK, 0.0)
        assert "CHALLENGE_REUSED" not in s.result().reason_codes
    with LivenessSession(mode="digits", live=False, challenge=options, now=1002.0) as s:
        s.push(BLANK, 0.0)
        assert s.result().reason_codes[0] == "CHALLENGE_REUSED"


def test_verify_reports_challenge_reuse() -> None:
    from livecert.liveness.challenge import MemoryNonceStore, generate_key, new_challenge

    key, store = generate_key(), MemoryNonceStore()
    token = new_challenge(4).to_token(key)
    frames = lambda: ((BLANK, i / 10) for i in range(20))  # noqa: E731
    options = ChallengeOptions(token, key=key, nonce_store=store)
    livecert.verify(frames(), mode="digits", challenge=options)
    again = livecert.verify(frames(), mode="digits", challenge=options)
    assert again.reason_codes[0] == "CHALLENGE_REUSED" and not again.passed


def test_action_step_retries_then_times_out() -> None:
    """A photo holds its face still but never blinks: TRY_AGAIN twice, then TIMEOUT (action)."""
    skimage_data = pytest.importorskip("skimage.data")
    photo = skimage_data.astronaut()
    cfg = replace(VerifyConfig(), session=SessionConfig(face_ok_s=0.2, blink_step_s=1.0, action_retries=2))
    codes = []
    with LivenessSession(config=cfg) as s:
        for i in range(200):
            update = s.push(photo, i / 10)
            if not codes or codes[-1] != update.guidance:
                codes.append(update.guidance)
            if update.finished:
                break
        result = s.result()
    assert codes[:2] == ["HOLD_STILL", "PLEASE_BLINK"], codes
    assert codes.count("TRY_AGAIN") == 2 and codes[-1] == "TIMEOUT", codes
    timeout = [r for r in result.reasons if r.code.value == "TIMEOUT"]
    assert timeout and timeout[0].detail == "step action"
    assert "NO_BLINK" in result.reason_codes and not result.passed


class _FixedRecogniser:
    """A stand-in recogniser: returns ``answer`` and records what it was asked."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[tuple[int, int, int]] = []

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
        self.calls.append((len(samples), sample_rate, n_digits))
        return self.answer


def test_plugged_in_recogniser_is_what_hears_the_digits() -> None:
    from livecert.io.audio import AudioTrack

    rng = np.random.default_rng(0)
    track = AudioTrack(rng.normal(0, 0.05, 32000).astype(np.float32), 16000)
    for answer, mismatch in (("4729", False), ("4728", False), ("4128", True)):  # one digit of 4 may be misheard
        rec = _FixedRecogniser(answer)
        options = ChallengeOptions(Challenge.for_known_digits("4729"), recogniser=rec)
        with LivenessSession(mode="digits", challenge=options, live=False) as s:
            for i in range(50):
                s.push(BLANK, i / 25)
            result = s.result(audio=track)
        assert rec.calls and rec.calls[0][1:] == (16000, 4)
        assert result.digits is not None and result.digits.heard == answer
        assert ("DIGITS_MISMATCH" in result.reason_codes) is mismatch
        assert not result.passed  # blank frames: no face, no mouth movement


def test_recogniser_is_checked() -> None:

    with pytest.raises(InputError) as err:
        ChallengeOptions(Challenge.for_known_digits("12"), recogniser="pocketsphinx")  # type: ignore[arg-type]
    assert err.value.code == "BAD_ARGUMENT" and "recognise" in str(err.value)
    with pytest.raises(InputError) as err:
        LivenessSession(
            mode="blink", challenge=ChallengeOptions(Challenge.for_known_digits("1"), recogniser=_FixedRecogniser("1"))
        )
    assert err.value.code == "BAD_ARGUMENT"
    with pytest.raises(InputError) as err:
        livecert.verify(
            [(BLANK, i / 25) for i in range(5)],
            mode="blink",
            challenge=ChallengeOptions(Challenge.for_known_digits("1"), recogniser=_FixedRecogniser("1")),
        )
    assert "digits" in str(err.value)


def test_guidance_hold_keeps_each_code_on_screen() -> None:
    """A quality flag that comes and goes every other frame is shown steadily."""
    from livecert.config import Mode
    from livecert.results import QualityFlag
    from livecert.session.steps import StepMachine

    def shown(hold_s: float) -> list[str]:
        cfg = SessionConfig(guidance_hold_s=hold_s, face_step_s=60.0)
        machine = StepMachine(Mode.BLINK, cfg, live=True, action_limit_s=15.0, prompt=lambda _: "")
        out = []
        for i in range(50):  # 2 s at 25 fps: too dark on even frames only
            flags = int(QualityFlag.TOO_DARK) if i % 2 == 0 else 0
            out.append(machine.advance(i / 25, flags, lambda t, s: (False, 0.0)).guidance.value)
        return out

    flicker = shown(0.0)
    assert sum(a != b for a, b in zip(flicker, flicker[1:])) > 40
    steady = shown(0.5)
    assert set(steady) == {"TOO_DARK"}


def test_an_input_error_does_not_burn_the_challenge(tmp_path: Path) -> None:
    """A missing enrollment photo or a recording cut short (the server's own input errors)
    leave the challenge usable; the retry with good inputs is not CHALLENGE_REUSED."""
    from livecert.liveness.challenge import MemoryNonceStore, generate_key, new_challenge

    key, store = generate_key(), MemoryNonceStore()
    options = ChallengeOptions(new_challenge(4).to_token(key), key=key, nonce_store=store)

    def cut_short() -> Iterator[tuple[np.ndarray, float]]:
        for i in range(10):
            yield BLANK, i / 10
        raise InputError("the upload was cut short", code="TRUNCATED_FILE")

    with pytest.raises(InputError):
        livecert.verify([(BLANK, 0.0)], mode="digits", challenge=options, enrolled=tmp_path / "missing.jpg")
    with pytest.raises(InputError):
        livecert.verify(cut_short(), mode="digits", challenge=options)
    first = livecert.verify(((BLANK, i / 10) for i in range(20)), mode="digits", challenge=options)
    assert "CHALLENGE_REUSED" not in first.reason_codes
    again = livecert.verify(((BLANK, i / 10) for i in range(20)), mode="digits", challenge=options)
    assert again.reason_codes[0] == "CHALLENGE_REUSED"


def test_a_recording_enrolls_meanwhile_and_an_unusable_photo_stops_it(tmp_path: Path) -> None:
    """A recording's enrollment loads on a thread of its own while frames are pushed: a
    missing file is refused when the session starts, a photo without a face by a push
    soon after its thread finished, long before the recording ends, and the challenge
    is left for the retry."""
    import cv2

    from livecert.identity.enrollment import EnrollmentError
    from livecert.liveness.challenge import MemoryNonceStore, generate_key, new_challenge

    with pytest.raises(InputError) as missing:
        LivenessSession(live=False, enrolled=tmp_path / "missing.jpg")
    assert missing.value.code == "FILE_NOT_FOUND"
    no_face = tmp_path / "wall.png"
    cv2.imwrite(str(no_face), np.full((480, 640, 3), 128, np.uint8))
    key, store = generate_key(), MemoryNonceStore()
    options = ChallengeOptions(new_challenge(4).to_token(key), key=key, nonce_store=store)
    pushed = 0
    with (
        pytest.raises(EnrollmentError) as refused,
        LivenessSession(mode="digits", challenge=options, live=False, enrolled=no_face) as session,
    ):
        for pushed in range(100_000):  # about 15 minutes of video at 100 frames a second
            session.push(BLANK, pushed / 100)
    assert refused.value.code == "NO_FACE"
    assert 0 < pushed < 100_000
    retry = livecert.verify(((BLANK, i / 10) for i in range(20)), mode="digits", challenge=options)
    assert "CHALLENGE_REUSED" not in retry.reason_codes


def test_blink_challenge_prompts_and_their_windows() -> None:
    """A blink challenge asks for blinks at random moments; a blink answers a prompt when it
    starts 0.15 s or more after it appeared and before it is hidden."""
    from livecert.config import Mode
    from livecert.liveness.blink import answered_prompts
    from livecert.liveness.challenge import ScheduleKind, generate_key, new_blink_challenge
    from livecert.results import BlinkEvent
    from livecert.session.steps import Guidance, StepMachine

    challenge = new_blink_challenge(3, mouth_prompts=0, window_s=2.5)
    windows = challenge.blink_windows
    assert challenge.schedule_kind is ScheduleKind.BLINK and challenge.digits == "" and len(windows) == 3
    assert 1.5 <= windows[0][0] <= 3.0 and all(round((b[0] - a[1]) * 100) >= 100 for a, b in zip(windows, windows[1:]))
    key = generate_key()
    assert Challenge.from_token(challenge.to_token(key), key).blink_windows == windows

    on_cue = tuple(BlinkEvent(10.0 + show + 0.6, 10.0 + show + 0.9, 0.1) for show, _ in windows)
    assert answered_prompts(on_cue, windows, 10.0, 0.15) == (True, True, True)
    too_soon = (BlinkEvent(10.0 + windows[0][0] + 0.05, 10.0 + windows[0][0] + 0.3, 0.1),)
    assert answered_prompts(too_soon, windows, 10.0, 0.15) == (False, False, False)

    machine = StepMachine(
        Mode.BLINK,
        SessionConfig(face_ok_s=0.0),
        live=True,
        action_limit_s=windows[-1][1] + 1,
        prompt=lambda _: "",
        instruction=lambda e: Guidance.BLINK_NOW if any(a <= e < b for a, b in windows) else Guidance.WATCH_FOR_PROMPT,
    )
    shown = {}
    for i in range(int((windows[-1][1] + 0.5) * 25)):
        shown[i / 25] = machine.advance(i / 25, 0, lambda t, s: (False, 0.0)).guidance
    inside = [g for t, g in shown.items() if any(a + 0.1 <= t < b - 0.1 for a, b in windows)]
    assert set(inside) == {Guidance.BLINK_NOW}
    assert Guidance.WATCH_FOR_PROMPT in shown.values()


def test_a_challenge_must_fit_the_mode() -> None:
    from livecert.liveness.challenge import new_blink_challenge

    key = livecert.generate_key()
    with pytest.raises(InputError) as err:
        LivenessSession(mode="blink", challenge=ChallengeOptions(livecert.new_challenge(4).to_token(key), key=key))
    assert err.value.code == "BAD_ARGUMENT" and "new_blink_challenge" in str(err.value)
    with pytest.raises(InputError) as err:
        LivenessSession(mode="digits", challenge=ChallengeOptions(new_blink_challenge().to_token(key), key=key))
    assert err.value.code == "BAD_ARGUMENT"
    with LivenessSession(mode="blink", live=False, challenge=ChallengeOptions(new_blink_challenge(), key=key)) as s:
        for i in range(30):
            s.push(BLANK, i / 10)
        result = s.result()
        assert {"BLINK_NOT_ON_CUE", "MOUTH_NOT_ON_CUE"} <= set(result.reason_codes)
        details = {r.code.value: r.detail for r in result.reasons}
        assert details["MOUTH_NOT_ON_CUE"] == "the mouth opened after 0 of 1 prompts"
    turn = ChallengeOptions(new_blink_challenge(1, mouth_prompts=0, turn_prompts=2), key=key)
    with LivenessSession(mode="blink", live=False, challenge=turn) as s:
        for i in range(30):
            s.push(BLANK, i / 10)
        details = {r.code.value: r.detail for r in s.result().reasons}
        assert details["TURN_NOT_ON_CUE"] == "the head turned after 0 of 2 prompts"


def test_a_live_session_says_which_action_each_prompt_asks_for() -> None:
    """While a prompt is up the person is told what it asks for; in between, to watch for the next."""
    from livecert.liveness.challenge import PromptAction
    from livecert.session.steps import Guidance

    actions = (PromptAction.OPEN_MOUTH, PromptAction.BLINK, PromptAction.TURN_HEAD)
    options = ChallengeOptions(Challenge.for_known_blink_prompts((2.0, 6.0, 10.0), 2.5, actions))
    with LivenessSession(mode="blink", live=True, challenge=options) as s:
        said = {t: s._instruction(t) for t in (1.0, 2.5, 4.6, 6.1, 8.4, 9.0, 10.5, 12.6)}
    assert said == {
        1.0: Guidance.WATCH_FOR_PROMPT,
        2.5: Guidance.OPEN_MOUTH_NOW,
        4.6: Guidance.WATCH_FOR_PROMPT,
        6.1: Guidance.BLINK_NOW,
        8.4: Guidance.BLINK_NOW,
        9.0: Guidance.WATCH_FOR_PROMPT,
        10.5: Guidance.TURN_HEAD_NOW,
        12.6: Guidance.WATCH_FOR_PROMPT,
    }
    assert s._prompt(2.5) == ""  # an action is said in words, never drawn as digits


@pytest.mark.parametrize(
    ("problem", "starts_at_s"),
    [("TOO_DARK", 3.5), ("FACE_TOO_SMALL", 3.5), ("BLURRY", 3.5), ("FACE_TURNED", None), ("NO_FACE", None)],
)
def test_a_poor_picture_delays_the_action_but_an_absent_face_stops_it(problem: str, starts_at_s: float | None) -> None:
    """Dark, small or blurred: the person is told how to help for picture_grace_s, then asked
    to blink anyway; no face or a turned one: never."""
    from livecert.config import Mode
    from livecert.results import QualityFlag
    from livecert.session.steps import Step, StepMachine

    cfg = SessionConfig(face_ok_s=0.5, picture_grace_s=3.0, face_step_s=60.0, guidance_hold_s=0.0)
    machine = StepMachine(Mode.BLINK, cfg, live=True, action_limit_s=15.0, prompt=lambda _: "")
    started = None
    for i in range(150):  # 6 s at 25 fps with the same problem on every frame
        update = machine.advance(i / 25, int(QualityFlag[problem]), lambda t, s: (False, 0.0))
        if started is None and update.step is Step.ACTION:
            started = i / 25
        if started is None:
            assert update.guidance.value == problem
    assert started == (None if starts_at_s is None else pytest.approx(starts_at_s, abs=0.05))


def test_a_recording_pushed_with_its_meshes_ahead_equals_pushing_frame_by_frame() -> None:
    """push_recording meshes each next frame on a worker thread; the result is the same,
    with the face matched against an enrolled photo of the same frames too."""
    frames = frames_of(SAMPLE)
    enrolled = livecert.enroll(frames[0].rgb)
    results = []
    for ahead in (False, True):
        with LivenessSession(live=False, enrolled=enrolled) as s:
            if ahead:
                s.push_recording(iter(frames))
            else:
                for f in frames:
                    s.push(f.rgb, f.t_s, decode_ms=f.decode_ms)
            assert s.frames_pushed == len(frames)
            results.append(s.result())
    by_frame, meshed_ahead = (r.to_dict() for r in results)
    for d in (by_frame, meshed_ahead):  # times: of the run, and of the check in the audit record
        assert d.pop("timings_ms") and d["meta"].pop("checked_at")
    assert meshed_ahead == by_frame
    assert results[0].passed and len(results[0].blinks) == 3 and results[0].match is not None


def _broken_at(frames: list[Frame], k: int, error: Exception) -> Iterator[Frame]:
    for i, frame in enumerate(frames):
        if i == k:
            raise error
        yield frame


def test_an_error_while_meshing_ahead_is_raised_at_its_frame() -> None:
    """A bad timestamp, a bad frame or a decoding error on the worker thread reaches the
    caller after the frames before it were analysed, and the session closes without a hang;
    something other than frames is refused by name."""
    frames = frames_of(SAMPLE)[:12]
    bad_time = [*frames[:5], replace(frames[5], t_s=frames[4].t_s), *frames[6:]]
    bad_frame = [*frames[:7], replace(frames[7], rgb=np.zeros((4, 4), np.uint8)), *frames[8:]]
    truncated = InputError("clip.mp4: truncated", code=ErrorCode.TRUNCATED_FILE)
    cases: list[tuple[Iterator[Frame], int, ErrorCode, str]] = [
        (iter(bad_time), 5, ErrorCode.TIMESTAMP_NOT_INCREASING, "timestamps must increase"),
        (iter(bad_frame), 7, ErrorCode.BAD_FRAME, "frame 7"),
        (_broken_at(frames, 9, truncated), 9, ErrorCode.TRUNCATED_FILE, "truncated"),
    ]
    with LivenessSession(live=False) as s:
        for wrong in (5, [(frames[0].rgb, 0.0)]):
            with pytest.raises(InputError) as bad:
                s.push_recording(wrong)  # type: ignore[arg-type]
            assert bad.value.code == ErrorCode.BAD_ARGUMENT and "Frame" in str(bad.value)
        assert s.frames_pushed == 0
    for source, k, code, words in cases:
        with LivenessSession(live=False) as s:
            with pytest.raises((InputError, SessionStateError)) as err:
                s.push_recording(source)
            assert s.frames_pushed == k
        assert err.value.code == code and words in str(err.value)


def _failing_analysis(*args: object, **kwargs: object) -> None:
    raise RuntimeError("analysis failed")


def test_meshing_ahead_stops_at_the_limit_and_after_a_failed_analysis() -> None:
    """A camera's frames stop at ``limit_s``; an error in the session's own analysis stops
    the worker before the landmarker is closed (no frame is meshed after the session closed)."""
    frames = frames_of(SAMPLE)[:60]
    with LivenessSession(live=False) as s:
        s.push_recording(iter(frames), limit_s=0.5)
        assert s.frames_pushed == 16  # 0 to 0.5 s at 30 frames a second
    pulled = []

    def counted() -> Iterator[Frame]:
        for f in frames:
            pulled.append(f.t_s)
            yield f

    with LivenessSession(live=False) as s:
        s._analyse = _failing_analysis  # type: ignore[method-assign,assignment]
        with pytest.raises(RuntimeError, match="analysis failed"):
            s.push_recording(counted())
    assert len(pulled) <= 1 + 2 + 1  # the failed frame, at most AHEAD queued, one being meshed
