"""Unit tests of livecert.io.audio, livecert.speech and livecert.liveness.sync on synthetic signals and tiny files."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
import pytest

from livecert.errors import InputError
from livecert.io.audio import AudioTrack, load_wav, read_audio, resample, to_pcm16
from livecert.liveness.sync import SYNC_LAG_PRIOR_S, SyncScore, av_sync, band_envelopes
from livecert.speech.recogniser import DIGIT_WORDS, PRONUNCIATIONS, DigitRecogniser, digit_grammar, is_narrowband
from livecert.speech.sphinx import PocketSphinxDigitRecogniser
from livecert.speech.vad import voice_activity

from .videos import write_av_clip

SR = 16000


# ----------------------------------------------------------------------------
# helpers


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_pcm16(samples))


def _syllables(duration_s: float, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random 'mouth opening' at ``rate`` Hz, shape (N,), and its times."""
    t = np.arange(0, duration_s, 1 / rate)
    raw = rng.random(len(t) // 5 + 2)
    mouth = np.interp(t, np.linspace(0, duration_s, len(raw)), raw) ** 2
    return t, mouth


def _voice_from(mouth_fn, duration_s: float, rng: np.random.Generator, delay_s: float = 0.0) -> AudioTrack:
    """Noise carrier whose loudness follows ``mouth_fn(t - delay_s)``."""
    t = np.arange(int(duration_s * SR)) / SR
    amp = 0.02 + np.clip(mouth_fn(t - delay_s), 0, None)
    return AudioTrack((0.3 * amp * rng.normal(0, 1, len(t))).astype(np.float32), SR, 0.0)


def _vowel(duration_s: float, start_s: float, end_s: float, rng: np.random.Generator) -> np.ndarray:
    """A harmonic vowel-like sound (formants 700/1200/2600 Hz) between two times, over low noise."""
    t = np.arange(int(duration_s * SR)) / SR
    phase = 2 * np.pi * np.cumsum(120 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / SR
    v = np.zeros_like(t)
    for k in range(1, 40):
        f = 120 * k
        gain = (
            np.exp(-(((f - 700) / 300) ** 2))
            + 0.5 * np.exp(-(((f - 1200) / 300) ** 2))
            + 0.2 * np.exp(-(((f - 2600) / 400) ** 2))
        )
        v += gain * np.sin(k * phase)
    on = ((t > start_s) & (t < end_s)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
    return (0.3 * v / np.abs(v).max() * on + rng.normal(0, 0.003, len(t))).astype(np.float32)


# ----------------------------------------------------------------------------
# reading


def test_video_without_audio_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "silent.mkv"
    write_av_clip(path)
    assert read_audio(path) is None
    with pytest.raises(InputError) as err:
        load_wav(path)
    assert err.value.code == "NO_AUDIO_STREAM"


def test_audio_uses_the_video_time_origin(tmp_path: Path) -> None:
    # container starts at 1.0 s (video), audio at 1.5 s: on the clip timeline
    # (origin = container start_time, as for video frames) audio starts at 0.5 s
    path = tmp_path / "av.mkv"
    write_av_clip(path, video_start_s=1.0, audio_start_s=1.5)
    track = read_audio(path)
    assert track is not None
    assert track.sample_rate == SR and track.samples.dtype == np.float32 and track.samples.ndim == 1
    assert track.start_s == pytest.approx(0.5, abs=1e-3)
    click_s = track.start_s + int(np.argmax(np.abs(track.samples))) / SR
    assert click_s == pytest.approx(0.7, abs=2e-3)
    assert track.duration_s == pytest.approx(1.0, abs=0.01)


def test_load_wav_resamples_to_16k(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    t = np.arange(8000) / 8000
    _write_wav(path, 0.5 * np.sin(2 * np.pi * 440 * t), 8000)
    track = load_wav(path)
    assert track.sample_rate == SR and track.start_s == 0.0
    assert len(track.samples) == pytest.approx(SR, abs=32)
    assert float(np.max(np.abs(track.samples))) == pytest.approx(0.5, abs=0.02)
    assert load_wav(path, sample_rate=8000).samples.shape == (8000,)


@pytest.mark.parametrize(
    ("content", "code"),
    [(None, "FILE_NOT_FOUND"), (b"", "EMPTY_FILE"), (b"this is not a media file at all" * 20, "NOT_A_MEDIA_FILE")],
)
def test_read_errors(tmp_path: Path, content: bytes | None, code: str) -> None:
    path = tmp_path / "x.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_audio(path)
    assert err.value.code == code


def test_bad_sample_rate(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_audio(tmp_path / "x.wav", sample_rate=100)
    assert err.value.code == "BAD_ARGUMENT"


def test_resample_keeps_timing() -> None:
    x = np.zeros(44100, np.float32)
    x[4410] = 1.0
    y = resample(x, 44100, SR)
    assert y.dtype == np.float32 and len(y) == SR
    assert int(np.argmax(np.abs(y))) == 1600


def test_between_clips_to_the_track() -> None:
    track = AudioTrack(np.arange(SR, dtype=np.float32), SR, 1.0)
    assert track.between(1.5, 1.6).shape == (1600,)
    assert track.between(0.0, 1.1).shape == (1600,)
    assert track.between(3.0, 4.0).size == 0
    assert track.duration_s == 1.0 and track.end_s == 2.0


# ----------------------------------------------------------------------------
# voice activity


def test_voice_activity_finds_a_vowel() -> None:
    rng = np.random.default_rng(1)
    track = AudioTrack(_vowel(3.0, 1.0, 2.0, rng), SR, 0.5)
    segments = voice_activity(track)
    assert len(segments) == 1
    start, end = segments[0]
    assert start == pytest.approx(1.5, abs=0.08) and end == pytest.approx(2.5, abs=0.08)


def test_voice_activity_ignores_noise_and_silence() -> None:
    rng = np.random.default_rng(2)
    assert voice_activity(AudioTrack(rng.normal(0, 0.01, 3 * SR).astype(np.float32), SR)) == []
    assert voice_activity(AudioTrack(np.zeros(3 * SR, np.float32), SR)) == []
    assert voice_activity(AudioTrack(np.zeros(10, np.float32), SR)) == []


def test_voice_activity_other_rates() -> None:
    rng = np.random.default_rng(3)
    x = resample(_vowel(3.0, 1.0, 2.0, rng), SR, 44100)
    segments = voice_activity(AudioTrack(x, 44100, 0.0))
    assert len(segments) == 1 and segments[0][0] == pytest.approx(1.0, abs=0.08)


# ----------------------------------------------------------------------------
# loudness and sync


def test_whole_band_envelope_of_a_tone() -> None:
    t = np.arange(SR) / SR
    track = AudioTrack((0.4 * np.sin(2 * np.pi * 500 * t)).astype(np.float32), SR, 2.0)
    env = band_envelopes(track, np.array([1.0, 2.5, 2.9, 3.5]), ((0.0, SR / 2),))[:, 0]
    assert env.shape == (4,)
    assert np.isnan(env[0]) and np.isnan(env[3])
    assert env[1] == pytest.approx(math.log(0.4 / math.sqrt(2)), abs=0.01)
    assert env[2] == pytest.approx(env[1], abs=0.01)


@pytest.mark.parametrize("delay_s", [-0.08, 0.0, 0.06, 0.2])
def test_av_sync_recovers_the_lag(delay_s: float) -> None:
    rng = np.random.default_rng(4)
    times, mouth = _syllables(6.0, 25.0, rng)
    track = _voice_from(lambda t: np.interp(t, times, mouth), 6.0, rng, delay_s)
    result = av_sync(times, mouth, track, max_lag_s=0.3)
    assert isinstance(result, SyncScore)
    assert result.lag_s == pytest.approx(delay_s, abs=0.021)  # positive: audio lags video
    assert result.correlation > 0.5
    # lags outside SYNC_LAG_PRIOR_S (-0.04..0.08 s) pay 4 per second
    outside = max(0.0, SYNC_LAG_PRIOR_S[0] - result.lag_s, result.lag_s - SYNC_LAG_PRIOR_S[1])
    assert result.score == pytest.approx(result.correlation - 4.0 * outside)
    assert (result.score > 0.45) == (abs(result.lag_s) < 0.1)  # 0.2 s is penalised below threshold


def test_av_sync_lag_penalty_and_weights() -> None:
    rng = np.random.default_rng(7)
    times, mouth = _syllables(6.0, 25.0, rng)
    track = _voice_from(lambda t: np.interp(t, times, mouth), 6.0, rng, 0.2)
    free = av_sync(times, mouth, track, max_lag_s=0.3, lag_penalty=0.0)
    assert free.score == pytest.approx(free.correlation) and free.score > 0.5
    narrow = av_sync(times, mouth, track, max_lag_s=0.1, lag_prior_s=(-0.1, 0.1))
    assert narrow.score < free.score - 0.2  # the true lag is outside the search
    loud = av_sync(times, mouth, track, max_lag_s=0.3, bands_hz=((100.0, 4000.0),), band_weights=(1.0,))
    assert loud.lag_s == pytest.approx(0.2, abs=0.021)
    with pytest.raises(InputError):
        av_sync(times, mouth, track, band_weights=(1.0, 2.0))
    with pytest.raises(InputError):
        av_sync(times, mouth, track, lag_penalty=-1.0)


def test_band_envelopes_of_a_tone() -> None:
    t = np.arange(SR) / SR
    track = AudioTrack((0.4 * np.sin(2 * np.pi * 500 * t)).astype(np.float32), SR, 0.0)
    env = band_envelopes(track, np.array([0.5]), ((100.0, 400.0), (400.0, 600.0)))
    assert env.shape == (1, 2)
    assert env[0, 1] == pytest.approx(math.log(0.4 / math.sqrt(2)), abs=0.01)
    assert env[0, 0] < env[0, 1] - 3


def test_av_sync_swapped_audio_scores_low() -> None:
    rng = np.random.default_rng(5)
    times, mouth = _syllables(6.0, 25.0, rng)
    _, other = _syllables(6.0, 25.0, rng)
    matched = av_sync(times, mouth, _voice_from(lambda t: np.interp(t, times, mouth), 6.0, rng))
    swapped = av_sync(times, mouth, _voice_from(lambda t: np.interp(t, times, other), 6.0, rng))
    assert matched.score > 0.5
    assert swapped.score < 0.3


def test_av_sync_missing_faces_and_still_faces() -> None:
    rng = np.random.default_rng(6)
    times, mouth = _syllables(6.0, 25.0, rng)
    track = _voice_from(lambda t: np.interp(t, times, mouth), 6.0, rng, 0.04)
    holes = mouth.copy()
    holes[rng.random(len(holes)) < 0.3] = np.nan
    holes[:20] = np.nan
    result = av_sync(times, holes, track)
    assert result.lag_s == pytest.approx(0.04, abs=0.021) and result.score > 0.4
    assert math.isnan(av_sync(times, np.full_like(mouth, np.nan), track).score)
    assert math.isnan(av_sync(times, np.full_like(mouth, 0.1), track).score)  # a photo does not move
    silent = AudioTrack(np.zeros(6 * SR, np.float32), SR)
    assert math.isnan(av_sync(times, mouth, silent).score)
    with pytest.raises(InputError):
        av_sync(times, mouth[:-1], track)


# ----------------------------------------------------------------------------
# recogniser


class _FixedRecogniser:
    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
        return "7" * n_digits


def test_recogniser_protocol() -> None:
    assert isinstance(_FixedRecogniser(), DigitRecogniser)
    assert isinstance(PocketSphinxDigitRecogniser(), DigitRecogniser)
    assert not isinstance(object(), DigitRecogniser)


def test_grammar_has_exactly_n_digits() -> None:
    g = digit_grammar(4)
    public = [line for line in g.splitlines() if line.startswith("public")][0]
    assert public.count("<digit>") == 4
    assert all(word in g for word in DIGIT_WORDS)


def test_pocketsphinx_silence_and_arguments(capfd: pytest.CaptureFixture[str]) -> None:
    rec = PocketSphinxDigitRecogniser()
    assert rec.recognise(np.zeros(SR, np.float32), SR, 4) == ""
    assert rec.recognise(np.zeros(0, np.float32), SR, 1) == ""
    noise = np.random.default_rng(7).normal(0, 0.05, SR).astype(np.float32)
    out = rec.recognise(noise, SR, 3)
    assert len(out) in (0, 3) and out.isdigit() or out == ""
    assert rec._decoder(3, False) is rec._decoder(3, False) and rec._decoder(3, False) is not rec._decoder(4, False)
    assert rec._decoder(3, True) is not rec._decoder(3, False)  # narrowband: its own pronunciations
    assert PocketSphinxDigitRecogniser()._decoders == {}  # one cache per instance, created lazily
    for bad in (0, 17, 2.5, True):
        with pytest.raises(InputError):
            rec.recognise(noise, SR, bad)  # type: ignore[arg-type]
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""  # PocketSphinx logs nothing to the terminal


def test_built_in_pronunciations_are_the_wheels_dictionary() -> None:
    """The decoder loads from :data:`PRONUNCIATIONS`; they must be the CMU dictionary's entries."""
    from pocketsphinx import get_model_path

    wheel: dict[str, list[str]] = {}
    with open(get_model_path("en-us/cmudict-en-us.dict"), encoding="utf-8") as fh:
        for line in fh:
            word, _, phones = line.strip().partition(" ")
            if word.split("(")[0] in PRONUNCIATIONS:
                wheel.setdefault(word.split("(")[0], []).append(phones.strip())
    assert {w: tuple(p) for w, p in wheel.items()} == PRONUNCIATIONS
    assert set(DIGIT_WORDS) == set(PRONUNCIATIONS)
    dec = PocketSphinxDigitRecogniser()._decoder(2, False)
    assert dec.lookup_word("zero") == "Z IH R OW" and dec.lookup_word("zero(2)") == "Z IY R OW"
    assert dec.lookup_word("hello") is None  # not the 134,000-word dictionary


def test_is_narrowband() -> None:
    rng = np.random.default_rng(3)
    wide = rng.normal(0, 0.1, SR).astype(np.float32)
    assert not is_narrowband(wide, SR)
    assert is_narrowband(resample(rng.normal(0, 0.1, 8000).astype(np.float32), 8000, SR), SR)
    assert is_narrowband(rng.normal(0, 0.1, 8000).astype(np.float32), 8000)
    assert not is_narrowband(np.zeros(SR, np.float32), SR)  # nothing at all: not a telephone band


def test_check_digits_uses_the_configured_lag_prior() -> None:
    """A capture path that puts the sound 0.2 s late is penalised by default and not
    once DigitsConfig.sync_lag_prior_s says so."""
    from livecert.config import DigitsConfig
    from livecert.liveness.challenge import Challenge
    from livecert.liveness.digits import check_digits

    rng = np.random.default_rng(7)
    times, mouth = _syllables(6.0, 25.0, rng)
    track = _voice_from(lambda t: np.interp(t, times, mouth), 6.0, rng, 0.2)

    class Hears:
        def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
            return "47"

    def sync(cfg: DigitsConfig) -> tuple[float, float]:
        evidence, _ = check_digits(
            Challenge.for_known_digits("47"), times, mouth, track, cfg, Hears(), mouth_height=mouth
        )
        assert evidence.av_sync is not None and evidence.heard == "47"
        return evidence.av_sync

    default_score, default_lag = sync(DigitsConfig())
    shifted_score, shifted_lag = sync(DigitsConfig(sync_lag_prior_s=(0.15, 0.25)))
    assert default_lag == pytest.approx(0.2, abs=0.03) and shifted_lag == pytest.approx(0.2, abs=0.03)
    assert shifted_score > default_score + 0.3  # 4 per second outside the prior: about 0.4 lost by default
