"""The default English recogniser: routing between PocketSphinx and Moonshine, transcript parsing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from livecert.arrays import FloatArray
from livecert.errors import InputError, ModelError
from livecert.io.audio import load_wav, resample
from livecert.speech import moonshine as moonshine_module
from livecert.speech.english import EnglishDigitRecogniser
from livecert.speech.moonshine import (
    MoonshineDigitRecogniser,
    moonshine_available,
    moonshine_unusable,
    transcript_digits,
)
from livecert.speech.recogniser import DEFAULT_WORDS, GARBAGE_PHONES, digit_grammar, garbage_word
from livecert.speech.sphinx import PocketSphinxDigitRecogniser

SR = 16000


class _Fixed:
    """Records calls and answers ``answer``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls = 0

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
        self.calls += 1
        assert sample_rate == SR
        return self.answer[:n_digits]


class _FixedPocketSphinx(PocketSphinxDigitRecogniser):
    def __init__(self, answer: str) -> None:
        super().__init__()
        self.answer = answer
        self.calls = 0

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int, *, narrowband: bool | None = None) -> str:
        self.calls += 1
        self.narrowband_seen = narrowband
        return self.answer


def _wide() -> np.ndarray:
    return np.random.default_rng(1).normal(0, 0.1, 2 * SR).astype(np.float32)


def _narrow() -> np.ndarray:
    return resample(np.random.default_rng(2).normal(0, 0.1, 2 * 8000).astype(np.float32), 8000, SR)


@pytest.mark.parametrize(
    ("audio", "moonshine_answer", "expected", "moonshine_calls", "pocketsphinx_calls"),
    [
        ("wide", "4729", "1111", 0, 1),  # wideband: PocketSphinx only
        ("narrow", "47291", "4729", 1, 0),  # narrowband, enough digits heard: the first four
        ("narrow", "472", "1111", 1, 1),  # narrowband, a digit missing: PocketSphinx decides
    ],
)
def test_routing(
    audio: str, moonshine_answer: str, expected: str, moonshine_calls: int, pocketsphinx_calls: int
) -> None:
    ms, ps = _Fixed(moonshine_answer), _FixedPocketSphinx("1111")
    rec = EnglishDigitRecogniser(pocketsphinx=ps, moonshine=ms)
    samples = _wide() if audio == "wide" else _narrow()
    assert rec.recognise(samples, SR, 4) == expected
    assert (ms.calls, ps.calls) == (moonshine_calls, pocketsphinx_calls)
    if ps.calls:  # the band is measured once and handed on
        assert ps.narrowband_seen is (audio == "narrow")


def test_without_moonshine_pocketsphinx_does_everything() -> None:
    ps = _FixedPocketSphinx("1111")
    rec = EnglishDigitRecogniser(pocketsphinx=ps, moonshine=None)
    assert rec.recognise(_narrow(), SR, 4) == "1111" and ps.calls == 1
    with pytest.raises(InputError):
        rec.recognise(_narrow(), SR, 0)


def test_8khz_input_is_resampled_and_counts_as_narrowband() -> None:
    ms = _Fixed("123")
    rec = EnglishDigitRecogniser(pocketsphinx=_FixedPocketSphinx("999"), moonshine=ms)
    x = np.random.default_rng(3).normal(0, 0.1, 8000).astype(np.float32)
    assert rec.recognise(x, 8000, 3) == "123" and ms.calls == 1


def test_transcript_digits() -> None:
    assert transcript_digits("8, 0, four. Nine") == "8049"
    assert transcript_digits("Seven, eight, one, five,") == "7815"
    assert transcript_digits("688-9998.") == "6889998"
    assert transcript_digits("H. zero, six, four.") == "064"
    assert transcript_digits("") == ""
    assert transcript_digits("for two to ate oh") == "42280"


@pytest.mark.skipif(not moonshine_available(), reason=f"Moonshine cannot run here: {moonshine_unusable()}")
def test_moonshine_hears_nothing_in_silence_and_noise() -> None:
    rec = MoonshineDigitRecogniser()
    assert rec.recognise(np.zeros(SR, np.float32), SR, 4) == ""
    assert rec.recognise(np.zeros(100, np.float32), SR, 4) == ""
    noise = np.random.default_rng(4).normal(0, 1e-3, SR).astype(np.float32)
    out = rec.recognise(noise, SR, 4)
    assert out == "" or out.isdigit()


@pytest.mark.parametrize("bad", ["abc", 5.0, [[0.1, 0.2], [0.3, 0.4]], np.zeros((SR, 2), np.float32), {"a": 1}])
def test_samples_that_are_not_mono_audio_are_refused(bad: object) -> None:
    for rec in (EnglishDigitRecogniser(moonshine=None), PocketSphinxDigitRecogniser(), MoonshineDigitRecogniser()):
        with pytest.raises(InputError) as err:
            rec.recognise(bad, SR, 4)  # type: ignore[arg-type]
        assert err.value.code == "BAD_ARGUMENT" and "samples" in str(err.value)


@pytest.mark.parametrize("n_digits", [0, 17, 2.0, True, "4", None])
def test_digit_count_out_of_range_is_refused_before_any_model_loads(n_digits: object) -> None:
    for rec in (EnglishDigitRecogniser(moonshine=None), PocketSphinxDigitRecogniser(), MoonshineDigitRecogniser()):
        with pytest.raises(InputError) as err:
            rec.recognise(_wide(), SR, n_digits)  # type: ignore[arg-type]
        assert err.value.code == "BAD_ARGUMENT" and "n_digits" in str(err.value)


def test_single_channel_column_is_mono() -> None:
    ps = _FixedPocketSphinx("1111")
    rec = EnglishDigitRecogniser(pocketsphinx=ps, moonshine=None)
    assert rec.recognise(_wide().reshape(-1, 1), SR, 4) == "1111"


def test_one_digit_grammar_allows_one_garbage_phone_at_each_edge_only() -> None:
    g = digit_grammar(1, DEFAULT_WORDS, GARBAGE_PHONES)
    public = [line for line in g.splitlines() if line.startswith("public")][0]
    assert public.count("<digit>") == 1 and public.count("<garbage>") == 2
    assert public.index("<garbage>") < public.index("<digit>") < public.rindex("<garbage>")
    assert all(garbage_word(p) in g for p in GARBAGE_PHONES)
    assert "<garbage>" not in digit_grammar(4, DEFAULT_WORDS)


def _espeak_word(word: str, path: Path) -> FloatArray:
    """``word`` said by espeak-ng's British voice, 16 kHz, trimmed to the sound."""
    if shutil.which("espeak-ng") is None:
        message = "espeak-ng is not installed (scripts/test.sh installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(path), word], check=True)
    x = load_wav(path, sample_rate=SR).samples
    loud = np.flatnonzero(np.abs(x) > 0.01 * np.abs(x).max())
    return x[loud[0] : loud[-1]]


def test_a_digit_with_a_neighbour_word_edge_is_still_that_digit(tmp_path: Path) -> None:
    """One digit recognised on its own, with the start of the next word after it (as a digit
    cut from running speech has): the garbage words take the edge, never the digit.
    Synthetic speech: a check of the grammar's plumbing, not of accuracy on people."""
    now = _espeak_word("now", tmp_path / "now.wav")
    rec = PocketSphinxDigitRecogniser()
    for word, digit in (("zero", "0"), ("two", "2"), ("eight", "8")):
        said = _espeak_word(word, tmp_path / f"{word}.wav")
        for edge_s in (0.0, 0.08):
            assert rec.recognise(np.concatenate([said, now[: int(edge_s * SR)]]), SR, 1) == digit, (word, edge_s)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512vl\n\nprocessor\t: 1\nflags\t: fpu\n")
    assert moonshine_module.cpu_flags(info) == frozenset({"fpu", "sse2", "avx2", "avx512f", "avx512vl"})
    assert moonshine_module.cpu_flags(tmp_path / "absent") is None
    info.write_text("processor\t: 0\n")
    assert moonshine_module.cpu_flags(info) is None


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (frozenset({"avx", "avx2", "fma"}), "lacks avx512f, avx512vl"),
        (frozenset({"avx2", "avx512f"}), "lacks avx512vl"),
        (None, "cannot be read"),
    ],
)
def test_moonshine_is_not_used_on_a_cpu_without_avx512(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, flags: frozenset[str] | None, words: str
) -> None:
    """moonshine-cpp 0.1.4's library runs AVX-512 instructions when its model loads, and a CPU
    without them kills the process (SIGILL), which no ``try`` catches: it must never be loaded
    there.  The default recogniser then hears telephone-band audio with PocketSphinx alone."""
    monkeypatch.setattr(moonshine_module, "cpu_flags", lambda: flags)
    reason = moonshine_unusable()
    assert reason is not None and words in reason and not moonshine_available()
    with pytest.raises(ModelError) as err:
        MoonshineDigitRecogniser().load()
    assert err.value.code == "MODEL_UNUSABLE" and words in str(err.value)
    with caplog.at_level("WARNING"):
        english = EnglishDigitRecogniser()
        assert english.moonshine is None
    assert words in caplog.text and "PocketSphinx alone" in caplog.text
    heard = english.recognise(_narrow(), SR, 4)  # PocketSphinx alone, no crash
    assert heard == "" or (heard.isdigit() and len(heard) == 4)


def test_moonshine_counts_as_usable_with_avx512_when_it_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moonshine_module, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512vl"}))
    try:
        import moonshine_cpp  # noqa: F401
    except (ImportError, OSError):
        assert "not installed" in (moonshine_unusable() or "")
    else:
        assert moonshine_unusable() is None and moonshine_available()
