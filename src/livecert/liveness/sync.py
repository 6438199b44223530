"""Lip-voice sync: does the mouth move with the voice?

The outer-lip height is correlated with the audio's estimate of it (a weighted
sum of band log-energies) over a range of lags; :func:`av_sync` gives the best
score and its lag."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from livecert.arrays import FloatArray
from livecert.config import DigitsConfig
from livecert.errors import ErrorCode, InputError
from livecert.io.audio import AudioTrack, fft_length

#: Audio bands (Hz) whose log energies :func:`av_sync` combines: ten
#: log-spaced bands from 100 Hz to 5 kHz.
SYNC_BANDS_HZ: tuple[tuple[float, float], ...] = (
    (100.0, 148.0),
    (148.0, 219.0),
    (219.0, 324.0),
    (324.0, 480.0),
    (480.0, 711.0),
    (711.0, 1052.0),
    (1052.0, 1557.0),
    (1557.0, 2305.0),
    (2305.0, 3412.0),
    (3412.0, 5050.0),
)

#: Weights of the detrended log band energies (:data:`SYNC_BANDS_HZ`) in the
#: audio's estimate of mouth opening: the least-squares fit of the detrended
#: outer-lip height on the 15 tuning GRID s1 clips (1125 frames), scaled to a
#: largest weight of 1 (``tests/realdata/test_sync_real.py`` refits it).
#: Voicing (100-150 Hz), the first-formant region (220-1050 Hz) and
#: 2.3-3.4 kHz go with an open mouth; 1-2.3 kHz (the second formant of front
#: vowels such as "ee") and above 3.4 kHz (sibilants) with a narrower one.
SYNC_BAND_WEIGHTS: tuple[float, ...] = (0.51, 0.03, 1.0, 0.4, 0.77, 0.31, -0.18, -0.41, 0.9, -0.22)

#: Audio-minus-video lags (seconds) scored without penalty by :func:`av_sync`:
#: sound reaches the microphone with, or up to a few frames after, the mouth
#: movement that made it.
SYNC_LAG_PRIOR_S: tuple[float, float] = DigitsConfig.sync_lag_prior_s

#: :func:`av_sync` score at or above which mouth and voice count as in sync
#: (with the default arguments).  The equal-error point of matched against
#: swapped audio on the 15 tuning GRID s1 clips (the even-indexed ones in
#: sorted order, band weights fitted leaving the scored clip out); the other
#: 15 are held out to report on.  Mouth from
#: :func:`livecert.face.geometry.mouth_height` (outer lips).
SYNC_THRESHOLD = DigitsConfig.sync_threshold


@dataclass(frozen=True)
class SyncScore:
    """How well mouth movement and voice agree.

    Attributes
    ----------
    score : float
        The best, over the lags tried, of the Pearson correlation between the
        detrended mouth opening and the audio's estimate of it, less the lag
        penalty; nan when too few frames had both a face and audio.
    lag_s : float
        The lag of the best score.  Positive: the audio lags the video (a
        sound comes ``lag_s`` after the mouth movement that made it).
    n_frames : int
        Frames that entered the correlation at that lag.
    correlation : float
        The correlation at ``lag_s`` before the lag penalty.
    """

    score: float
    lag_s: float
    n_frames: int = 0
    correlation: float = math.nan


def _window_log_rms(x: FloatArray, track: AudioTrack, times: FloatArray, window_s: float) -> FloatArray:
    """Log RMS of samples ``x`` (shape (M,), laid out like ``track``) in windows of
    ``window_s`` centred on ``times`` (shape (N,)); parts of a window outside the
    track are left out, a window wholly outside it is nan."""
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    half = max(1, int(round(window_s * track.sample_rate / 2)))
    centre = np.round((times - track.start_s) * track.sample_rate)
    centre = np.nan_to_num(centre, nan=-1e12).astype(np.int64)
    a = np.clip(centre - half, 0, len(x))
    b = np.clip(centre + half, 0, len(x))
    count = b - a
    power = (csum[b] - csum[a]) / np.maximum(count, 1)
    return np.where(count > 0, 0.5 * np.log(power + 1e-10), np.nan)


def band_envelopes(
    track: AudioTrack,
    times: FloatArray,
    bands_hz: tuple[tuple[float, float], ...] = SYNC_BANDS_HZ,
    window_s: float = 0.04,
) -> FloatArray:
    """Log RMS of the audio in several frequency bands around given clip times.

    Parameters
    ----------
    track : AudioTrack
    times : ndarray of float, shape (N,)
        Window centres on the clip timeline (seconds).
    bands_hz : tuple of (float, float), length B
        Pass bands (an FFT mask over the whole track).
    window_s : float
        Window length.

    Returns
    -------
    ndarray of float64, shape (N, B)
        Natural log of each band's RMS amplitude (``log(1e-5)`` floor for
        digital silence); nan where the window lies wholly outside the
        track.  Parts of a window outside the track are left out of its mean.
    """
    x = track.samples.astype(np.float64)
    n_fft = fft_length(len(x))
    spec = np.fft.rfft(x, n_fft)
    freq = np.fft.rfftfreq(n_fft, 1.0 / track.sample_rate)
    out = np.empty((np.asarray(times).size, len(bands_hz)))
    for j, (lo, hi) in enumerate(bands_hz):
        y = np.fft.irfft(np.where((freq >= lo) & (freq <= hi), spec, 0.0), n_fft)[: len(x)]
        out[:, j] = _window_log_rms(y, track, times, window_s)
    return out


def _detrend(v: FloatArray, width: int) -> FloatArray:
    """Subtract a centred nan-aware moving average of ``width`` samples."""
    if width <= 1:
        return v
    ok = np.isfinite(v)
    kernel = np.ones(width)
    total = np.convolve(np.where(ok, v, 0.0), kernel, mode="same")
    count = np.convolve(ok.astype(np.float64), kernel, mode="same")
    return np.where(ok & (count > 0), v - total / np.maximum(count, 1), np.nan)


def _varies(v: FloatArray) -> bool:
    """More than rounding noise between the finite values of ``v``."""
    ok = v[np.isfinite(v)]
    return ok.size >= 2 and float(np.ptp(ok)) > 1e-9 * max(1.0, float(np.max(np.abs(ok))))


def _pearson(a: FloatArray, b: FloatArray) -> tuple[float, int]:
    ok = np.isfinite(a) & np.isfinite(b)
    n = int(ok.sum())
    if n < 3:
        return math.nan, n
    da, db = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    denom = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    return (float(np.dot(da, db)) / denom if denom > 0 else math.nan), n


def av_sync(
    times: FloatArray,
    mouth: FloatArray,
    track: AudioTrack,
    max_lag_s: float = 0.3,
    *,
    lag_step_s: float = 0.02,
    lag_prior_s: tuple[float, float] = SYNC_LAG_PRIOR_S,
    lag_penalty: float = 4.0,
    window_s: float = 0.04,
    detrend_s: float = 0.2,
    bands_hz: tuple[tuple[float, float], ...] = SYNC_BANDS_HZ,
    band_weights: tuple[float, ...] = SYNC_BAND_WEIGHTS,
    min_frames: int = 15,
) -> SyncScore:
    """Correlation between mouth opening and the voice, best over lags.

    The audio's estimate of mouth opening is a weighted sum of log band
    energies (:func:`band_envelopes`).  It and the mouth are both detrended
    (a centred moving average over ``detrend_s`` is subtracted) so that only
    syllable-rate movement counts, not the slow "talking / not talking" shape
    that any two recordings of speech share; a fixed microphone colouring is
    a constant per band and goes too.  For each lag ``L`` in
    ``[-max_lag_s, max_lag_s]`` (step ``lag_step_s``) the mouth at time ``t``
    is paired with the audio at ``t + L``, and the Pearson correlation less
    ``lag_penalty`` times the distance of ``L`` outside ``lag_prior_s`` is
    the lag's score.

    Parameters
    ----------
    times : ndarray of float, shape (N,)
        Frame times on the clip timeline (seconds, increasing).
    mouth : ndarray of float, shape (N,)
        Mouth opening per frame: the outer-lip
        :func:`livecert.face.geometry.mouth_height` (what the band weights were
        fitted to); nan where no face was found: those frames are left out.
    track : AudioTrack
        Audio with the same time origin as ``times``.
    max_lag_s : float
        Largest audio-video offset searched.
    lag_step_s : float
        Lag grid step.
    lag_prior_s : (float, float)
        Lags (audio minus video, seconds) scored without penalty.
    lag_penalty : float
        Score lost per second of lag outside ``lag_prior_s``.  On GRID,
        where the true lag is 0-0.04 s, every extra lag searched gives
        swapped audio another chance alignment: the penalty keeps the
        ±0.3 s search nearly as selective as a ±0.06 s one, while a
        strongly correlated but offset stream still scores.
    window_s, detrend_s : float
        Band energy window, length of the moving average subtracted.
    bands_hz : tuple of (float, float), length B
        Audio bands (Hz).
    band_weights : tuple of float, length B
        Weight of each band's detrended log energy.  ``bands_hz=((100.0,
        4000.0),), band_weights=(1.0,)`` correlates with plain loudness.
    min_frames : int
        Frames with both signals needed for a correlation to count.

    Returns
    -------
    SyncScore
        ``score`` and ``lag_s`` are nan when no lag had ``min_frames`` frames
        with both a mouth value and audio, or when either signal does not
        vary (a still photo, digital silence): treat nan as "not in sync".

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` for shapes that differ, a negative lag range or
        penalty, or a weight count that differs from the band count.

    Notes
    -----
    GRID s1, each clip's audio swapped with that of other clips of the same
    speaker and sentence grammar (hard negatives): see
    ``tests/realdata/test_sync_real.py`` for the held-out figures.
    About 10 ms for a 3 s clip at 16 kHz.
    """
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    m = np.asarray(mouth, dtype=np.float64).reshape(-1)
    w = np.asarray(band_weights, dtype=np.float64).reshape(-1)
    if t.shape != m.shape:
        raise InputError(
            f"times and mouth must have the same shape, got {t.shape} and {m.shape}", code=ErrorCode.BAD_ARGUMENT
        )
    if max_lag_s < 0 or lag_step_s <= 0 or lag_penalty < 0:
        raise InputError("max_lag_s and lag_penalty must be >= 0 and lag_step_s > 0", code=ErrorCode.BAD_ARGUMENT)
    if len(w) != len(bands_hz) or len(w) == 0:
        raise InputError(f"{len(w)} band weights for {len(bands_hz)} bands", code=ErrorCode.BAD_ARGUMENT)
    if len(t) < 2 or not _varies(m):
        return SyncScore(math.nan, math.nan, 0)
    frame_s = float(np.median(np.diff(t)))
    width = max(1, int(round(detrend_s / frame_s))) if frame_s > 0 else 1
    m = _detrend(m, width)
    n_lags = int(round(max_lag_s / lag_step_s))
    lags = np.arange(-n_lags, n_lags + 1) * lag_step_s
    audio = (band_envelopes(track, (lags[:, None] + t[None, :]).ravel(), bands_hz, window_s) @ w).reshape(len(lags), -1)
    best = SyncScore(math.nan, math.nan, 0)
    for lag, a in zip(lags, audio):
        if not _varies(a):
            continue
        r, n = _pearson(m, _detrend(a, width))
        score = r - lag_penalty * max(0.0, lag_prior_s[0] - lag, lag - lag_prior_s[1])
        if n >= min_frames and math.isfinite(r) and (math.isnan(best.score) or score > best.score):
            best = SyncScore(score, float(lag), n, r)
    return best
