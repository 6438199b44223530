"""Public functions given an argument of the wrong type: a typed error naming it, never a
NumPy, pathlib or attribute error from deep inside (each case below raised one before)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pytest

import livecert
from livecert.errors import ErrorCode, InputError
from livecert.liveness.challenge import save_key
from livecert.speech.vosk_model import VoskDigitRecogniser

from .paths import SAMPLE

KEY = livecert.generate_key()


def _digits_options(**kwargs: object) -> livecert.ChallengeOptions:
    token = livecert.new_challenge(4).to_token(KEY)
    return livecert.ChallengeOptions(token, key=KEY, **kwargs)  # type: ignore[arg-type]


CASES: dict[str, tuple[Callable[[], object], ErrorCode, str]] = {
    "verify, a token string as the challenge": (
        lambda: livecert.verify(SAMPLE, challenge="token-text"),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "challenge must be a livecert.ChallengeOptions",
    ),
    "a nonce store without consume()": (
        lambda: _digits_options(nonce_store="used.db"),
        ErrorCode.BAD_ARGUMENT,
        "nonce_store must have a consume(",
    ),
    "read_image_rgb, an int": (
        lambda: livecert.read_image_rgb(5),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "an image must be a file path",
    ),
    "read_image_rgb, bytes": (
        lambda: livecert.read_image_rgb(b"photo.png"),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "an image must be a file path",
    ),
    "enroll, None": (
        lambda: livecert.enroll(None),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "photo must be an image file's path, an RGB array, or a list of them, not NoneType",
    ),
    "Enrollment.load, an int": (
        lambda: livecert.Enrollment.load(5),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "the enrollment file must be a file path",
    ),
    "load_key, an int (it would have opened file descriptor 5)": (
        lambda: livecert.load_key(5),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "the key file must be a file path",
    ),
    "SQLiteNonceStore, an int": (
        lambda: livecert.SQLiteNonceStore(5),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "the used-challenge file must be a file path",
    ),
    "VoskDigitRecogniser, an int": (
        lambda: VoskDigitRecogniser(5),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "the speech model folder must be a file path",
    ),
    "detect_blinks, a string as the config": (
        lambda: livecert.detect_blinks(np.arange(5.0), np.ones(5), np.ones(5), config="fast"),  # type: ignore[arg-type]
        ErrorCode.BAD_CONFIG,
        "config must be a livecert.BlinkConfig",
    ),
    "AudioTrack, a string as the samples": (
        lambda: livecert.AudioTrack("x", 16000),  # type: ignore[arg-type]
        ErrorCode.BAD_ARGUMENT,
        "samples must be",
    ),
    "AudioTrack, a sample rate of 0": (
        lambda: livecert.AudioTrack(np.zeros(10, np.float32), 0),
        ErrorCode.BAD_ARGUMENT,
        "sample_rate must be an integer",
    ),
    "AudioTrack, a start that is not a number": (
        lambda: livecert.AudioTrack(np.zeros(10, np.float32), 16000, float("nan")),
        ErrorCode.BAD_ARGUMENT,
        "start_s must be a finite number",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_wrong_type_is_named(case: str) -> None:
    call, code, words = CASES[case]
    with pytest.raises(InputError) as err:
        call()
    assert err.value.code is code and words in err.value.message, err.value.message


def test_paths_and_arrays_still_work(tmp_path: Path) -> None:
    """The checks accept what the functions always took: str and Path, float64 samples."""
    key_file = tmp_path / "key"
    save_key(key_file, KEY)
    assert livecert.load_key(str(key_file)) == livecert.load_key(key_file) == KEY
    track = livecert.AudioTrack(np.linspace(-0.5, 0.5, 160), 16000, np.float32(0.25))
    assert track.samples.dtype == np.float32 and track.start_s == 0.25 and track.duration_s == 0.01


def test_session_arguments_of_the_wrong_type_are_named() -> None:
    """``live="yes"`` and ``now="x"`` were taken as given; ``result(audio="x")`` ignored the audio."""
    with pytest.raises(InputError, match="live must be True or False"):
        livecert.LivenessSession(live="yes")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="now must be a time in seconds"):
        livecert.LivenessSession(now="x")  # type: ignore[arg-type]
    with livecert.LivenessSession(live=False) as session:
        session.push(np.zeros((120, 160, 3), np.uint8), 0.0)
        with pytest.raises(InputError, match="audio must be a livecert.AudioTrack") as err:
            session.result(audio="clip.wav")  # type: ignore[arg-type]
        assert err.value.code is ErrorCode.BAD_ARGUMENT


def test_known_prompt_times_must_be_seconds() -> None:
    """A string of times raised float()'s ValueError (or was read character by character)."""
    for bad in ("x", "12", (1.0, float("nan")), (-1.0,), ()):
        with pytest.raises(livecert.ChallengeError):
            livecert.Challenge.for_known_blink_prompts(bad)  # type: ignore[arg-type]
    with pytest.raises(livecert.ChallengeError):
        livecert.Challenge.for_known_blink_prompts((1.0,), window_s=0.0)
    assert livecert.Challenge.for_known_blink_prompts((1, 2.5)).windows() == ((1.0, 3.5), (2.5, 5.0))


def test_ledger_days_must_be_dates(tmp_path: Path) -> None:
    """A string compared with dates in SQL returned nothing (``due``) or zeros (``counts``);
    ``suspend_overdue`` raised a TypeError; a datetime is refused too (its day depends on the
    ledger's time zone)."""
    pytest.importorskip("sqlalchemy", reason="the ledger needs the ledger extra: pip install 'livecert[ledger]'")
    from livecert.ledger.policy import Channel, default_policies
    from livecert.ledger.records import AttemptInput

    with livecert.Ledger.create(tmp_path / "ledger.db", policies=default_policies()) as ledger:
        moment = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
        for call in (
            lambda: ledger.due("2026-03-01"),  # type: ignore[arg-type]
            lambda: ledger.counts("2026-03-01"),  # type: ignore[arg-type]
            lambda: ledger.suspend_overdue(moment),
            lambda: list(ledger.export_persons(moment)),
            lambda: ledger.record_attempt("p1", AttemptInput(Channel.ONLINE, True, at="noon")),  # type: ignore[arg-type]
        ):
            with pytest.raises(InputError) as err:
                call()
            assert err.value.code is ErrorCode.BAD_DATE, err.value.message
        assert ledger.due(date(2026, 3, 1)) == []
        for call in (  # a string id found no row (None), a string or 0 limit was taken or ignored
            lambda: ledger.frame("7"),  # type: ignore[arg-type]
            lambda: ledger.attempt_result("7"),  # type: ignore[arg-type]
            lambda: ledger.due(date(2026, 3, 1), limit="10"),  # type: ignore[arg-type]
            lambda: ledger.due(date(2026, 3, 1), limit=0),
        ):
            with pytest.raises(InputError, match="must be an int from 1") as err:
                call()
            assert err.value.code is ErrorCode.BAD_ARGUMENT
