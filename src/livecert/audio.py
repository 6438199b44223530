"""Audio for the read-digits check: decoding, voice activity and lip-voice sync.

Times are seconds on the clip's own timeline, with the same origin as the
video frames of :mod:`livecert.capture`: a stream timestamp minus the
container's ``start_time``.  A sample ``i`` of an :class:`AudioTrack` lies at
``track.start_s + i / track.sample_rate``.

Numpy, PyAV (decoding, resampling) and pocketsphinx's WebRTC-derived voice
activity detector.  The digit recogniser is in :mod:`livecert.asr`.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from livecert.config import DigitsConfig
from livecert.errors import InputError, ModelError

log = logging.getLogger(__name__)

#: Sample rate every livecert audio function works at by default.
DEFAULT_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class AudioTrack:
    """Mono audio on the clip timeline.

    Attributes
    ----------
    samples : ndarray of float32, shape (M,)
        Mono samples in [-1, 1].
    sample_rate : int
        Samples per second.
    start_s : float
        Time of ``samples[0]`` on the clip timeline (audio stream start minus
        container start time), the same origin as :attr:`Frame.t_s`.
    """

    samples: np.ndarray
    sample_rate: int
    start_s: float = 0.0

    @property
    def duration_s(self) -> float:
        """Length of the track in seconds."""
        return len(self.samples) / self.sample_rate

    @property
    def end_s(self) -> float:
        """Clip time just after the last sample."""
        return self.start_s + self.duration_s

    def between(self, t0_s: float, t1_s: float) -> np.ndarray:
        """Samples between two clip times, clipped to the track: shape (K,), possibly empty."""
        i0 = max(0, int(round((t0_s - self.start_s) * self.sample_rate)))
        i1 = min(len(self.samples), int(round((t1_s - self.start_s) * self.sample_rate)))
        return self.samples[i0 : max(i0, i1)]


# ----------------------------------------------------------------------------
# decoding


def _check_rate(sample_rate: int) -> int:
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or not 8000 <= sample_rate <= 192000
    ):
        raise InputError(f"sample_rate must be an integer in [8000, 192000], got {sample_rate!r}", code="BAD_ARGUMENT")
    return int(sample_rate)


def read_audio(path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE) -> AudioTrack | None:
    """Decode the first audio stream of a media file to mono float32.

    Parameters
    ----------
    path : str or PathLike
        A video or audio file FFmpeg can read.
    sample_rate : int
        Output sample rate (the recogniser wants 16000).

    Returns
    -------
    AudioTrack or None
        None when the file has no audio stream.  ``start_s`` is the audio
        stream's first timestamp minus the container start time, as for video
        frames.

    Raises
    ------
    InputError
        ``FILE_NOT_FOUND``, ``EMPTY_FILE``, ``FILE_UNREADABLE``;
        ``NOT_A_MEDIA_FILE`` when FFmpeg cannot open it; ``AUDIO_DECODE_ERROR``
        when the audio stream is damaged before any sample; ``EMPTY_AUDIO``
        when it holds no samples; ``BAD_ARGUMENT`` for a bad ``sample_rate``.
    """
    import av

    from livecert.capture import check_file

    rate = _check_rate(sample_rate)
    path = check_file(Path(path))
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a media file", code="NOT_A_MEDIA_FILE")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise InputError(
            f"{path}: not a media file that can be opened ({exc.strerror or exc})", code="NOT_A_MEDIA_FILE"
        ) from None
    try:
        if not container.streams.audio:
            return None
        return _decode(container, path, rate)
    finally:
        container.close()


def _decode(container: Any, path: Path, rate: int) -> AudioTrack:
    import av

    decoder = AudioDecoder(container, path, rate)
    try:
        for packet in container.demux(decoder.stream):
            decoder.decode(packet)
    except av.error.FFmpegError as exc:
        decoder.cut_short(exc)
    return decoder.finish()


class AudioDecoder:
    """Turns the packets of a container's first audio stream into an :class:`AudioTrack`.

    :func:`read_audio` feeds it the audio stream alone;
    :class:`livecert.capture.VideoFileSource` feeds it the audio packets it
    meets while demuxing the video, so that a file is read once.

    Parameters
    ----------
    container : av.container.InputContainer
        An open container with at least one audio stream.
    path : Path
        Named in messages.
    sample_rate : int
        Rate of the track made (mono float32).

    Attributes
    ----------
    stream : av.audio.stream.AudioStream
        The stream decoded; packets of other streams are ignored.
    ms : float
        Time spent decoding and resampling so far.
    """

    def __init__(self, container: Any, path: Path, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        import av

        self.stream = container.streams.audio[0]
        self.path = path
        self.ms = 0.0
        self._rate = _check_rate(sample_rate)
        self._t0 = float(container.start_time) / 1e6 if container.start_time is not None else 0.0
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self._rate)
        self._chunks: list[np.ndarray] = []
        self._first_t: float | None = None

    def _take(self, frames: list[Any]) -> None:
        self._chunks.extend(f.to_ndarray().reshape(-1) for f in frames)

    def decode(self, packet: Any) -> None:
        """Decode one packet of :attr:`stream`.

        Raises
        ------
        InputError
            ``AUDIO_DECODE_ERROR`` when the stream is damaged before any
            sample; later damage is logged and the packet skipped.
        """
        import av

        if packet.stream is not self.stream:
            return
        t = time.perf_counter()
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            if self._first_t is None:
                raise InputError(
                    f"{self.path}: the audio stream cannot be decoded ({exc.strerror or exc})",
                    code="AUDIO_DECODE_ERROR",
                ) from None
            log.warning("%s: skipped a damaged audio packet (%s)", self.path, exc)
            return
        for frame in frames:
            if self._first_t is None:
                self._first_t = self._frame_time(frame)
            try:
                self._take(self._resampler.resample(frame))
            except ValueError:  # the stream changed rate or layout mid-way
                self._take(self._resampler.resample(None))
                self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self._rate)
                self._take(self._resampler.resample(frame))
        self.ms += (time.perf_counter() - t) * 1e3

    def _frame_time(self, frame: Any) -> float:
        if frame.pts is not None and frame.time_base is not None:
            return float(frame.pts * frame.time_base) - self._t0
        if self.stream.start_time is not None:
            return float(self.stream.start_time * self.stream.time_base) - self._t0
        return 0.0

    def cut_short(self, exc: Exception) -> None:
        """Reading the file failed at ``exc``: keep what was decoded, or raise.

        Raises
        ------
        InputError
            ``AUDIO_DECODE_ERROR`` when nothing was decoded.
        """
        if not self._chunks:
            raise InputError(
                f"{self.path}: the audio stream cannot be decoded ({getattr(exc, 'strerror', None) or exc})",
                code="AUDIO_DECODE_ERROR",
            ) from None
        log.warning("%s: audio truncated after %d samples (%s)", self.path, sum(map(len, self._chunks)), exc)

    def finish(self) -> AudioTrack:
        """The track decoded so far (the resampler is flushed).

        Raises
        ------
        InputError
            ``EMPTY_AUDIO`` when the stream held no samples.
        """
        t = time.perf_counter()
        self._take(self._resampler.resample(None))
        chunks, self._chunks = self._chunks, []
        samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
        self.ms += (time.perf_counter() - t) * 1e3
        if samples.size == 0:
            raise InputError(f"{self.path}: the audio stream holds no samples", code="EMPTY_AUDIO")
        return AudioTrack(np.clip(samples, -1.0, 1.0), self._rate, self._first_t or 0.0)


def load_wav(path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE) -> AudioTrack:
    """Decode a plain audio file (wav, flac, mp3, ...) to mono float32.

    Same as :func:`read_audio` but a file without audio is an error
    (``NO_AUDIO_STREAM``) instead of None.
    """
    track = read_audio(path, sample_rate)
    if track is None:
        raise InputError(f"{path}: the file holds no audio stream", code="NO_AUDIO_STREAM")
    return track


def fft_length(n: int) -> int:
    """The power of two at or above ``n`` (at least 2), to zero-pad an FFT to.

    Lengths with a large prime factor are slow: a 3 s GRID track holds
    47,648 = 2^5 x 1489 samples, and its FFT takes about 25 times longer
    than one of 65,536.
    """
    return 1 << max(1, int(n) - 1).bit_length()


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1], shape (M,), as little-endian 16-bit PCM bytes (nan as 0)."""
    x = np.nan_to_num(np.asarray(samples, dtype=np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def as_samples(samples: Any) -> np.ndarray:
    """Mono audio samples as float32 of shape (M,).

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` when ``samples`` is not numbers, is a single number,
        or has more than one channel (shape (M, 2) and the like: mix the
        channels down first; interleaving them would be garbage).
    """
    try:
        x = np.asarray(samples, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputError(
            f"samples must be a float array of shape (M,), got {type(samples).__name__}", code="BAD_ARGUMENT"
        ) from None
    if x.ndim == 0 or sum(d > 1 for d in x.shape) > 1:
        raise InputError(
            f"samples must be mono audio of shape (M,), got shape {x.shape} (mix channels down first)",
            code="BAD_ARGUMENT",
        )
    return x.reshape(-1)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono float samples with FFmpeg's resampler.

    ``samples`` has shape (M,); the result, float32, has shape
    (about M * to_rate / from_rate,) and is not shifted in time.
    """
    import av

    from_rate, to_rate = _check_rate(from_rate), _check_rate(to_rate)
    x = np.ascontiguousarray(as_samples(samples).reshape(1, -1))
    if from_rate == to_rate or x.size == 0:
        return x.reshape(-1).copy()
    frame = av.AudioFrame.from_ndarray(x, format="flt", layout="mono")
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame) + resampler.resample(None)]
    return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, np.float32)


# ----------------------------------------------------------------------------
# voice activity


def voice_activity(
    track: AudioTrack,
    *,
    aggressiveness: int = 3,
    margin_db: float = 6.0,
    min_gap_s: float = 0.2,
    min_speech_s: float = 0.08,
) -> list[tuple[float, float]]:
    """Speech segments of a track, in clip seconds.

    A 30 ms frame is speech when both PocketSphinx's WebRTC-derived detector
    (:class:`pocketsphinx.Vad`, mode ``aggressiveness`` 0-3) says so and its
    energy exceeds the track's noise floor (10th percentile of frame
    energies) by ``margin_db``.  The gate stops the detector from flagging
    steady noise; it assumes a tenth of the track is not speech, as in a
    read-digits recording.  Gaps shorter than ``min_gap_s`` are bridged and
    segments shorter than ``min_speech_s`` dropped.

    Parameters
    ----------
    track : AudioTrack
        Rates other than 8, 16, 32 and 48 kHz are resampled to 16 kHz first.
    aggressiveness : int
        WebRTC mode, 0 (keeps most speech) to 3 (fewest false alarms).
    margin_db, min_gap_s, min_speech_s : float
        Energy gate above the noise floor; gap bridged; shortest segment kept.

    Returns
    -------
    list of (float, float)
        ``(start_s, end_s)`` on the clip timeline, in order, not overlapping.

    Notes
    -----
    On the 30 GRID s1 clips it covers 95 % of the span from the first to the
    last aligned word and flags 4 % of the silence around it; the WebRTC
    detector alone flags 9 % (and nearly everything with white noise at
    10 dB SNR, where this keeps false alarms at 0 and 79 % recall).
    """
    try:
        from pocketsphinx import Vad
    except ImportError as exc:
        raise ModelError(f"pocketsphinx is not installed or does not load ({exc}); pip install pocketsphinx") from None

    if aggressiveness not in (0, 1, 2, 3):
        raise InputError(f"aggressiveness must be 0, 1, 2 or 3, got {aggressiveness!r}", code="BAD_ARGUMENT")
    x, rate = track.samples, track.sample_rate
    if rate not in (8000, 16000, 32000, 48000):
        x, rate = resample(x, rate, DEFAULT_SAMPLE_RATE), DEFAULT_SAMPLE_RATE
    vad = Vad(aggressiveness, rate, 0.03)
    n = vad.frame_bytes // 2
    m = len(x) // n
    if m == 0:
        return []
    step = n / rate
    frames = x[: m * n].reshape(m, n).astype(np.float64)
    db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = db > np.percentile(db, 10) + margin_db
    pcm = to_pcm16(x[: m * n])
    # every frame goes through the detector: it adapts its noise model on the quiet ones
    flags = [vad.is_speech(pcm[2 * i * n : 2 * (i + 1) * n]) and bool(loud[i]) for i in range(m)]
    segments: list[list[float]] = []
    start: int | None = None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            t0, t1 = track.start_s + start * step, track.start_s + i * step
            if segments and t0 - segments[-1][1] < min_gap_s:
                segments[-1][1] = t1
            else:
                segments.append([t0, t1])
            start = None
    return [(a, b) for a, b in segments if b - a >= min_speech_s]


# ----------------------------------------------------------------------------
# lip-voice synchrony


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
#: :func:`livecert.geometry.mouth_height` (outer lips).
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


def _window_log_rms(x: np.ndarray, track: AudioTrack, times: np.ndarray, window_s: float) -> np.ndarray:
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
    times: np.ndarray,
    bands_hz: tuple[tuple[float, float], ...] = SYNC_BANDS_HZ,
    window_s: float = 0.04,
) -> np.ndarray:
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


def _detrend(v: np.ndarray, width: int) -> np.ndarray:
    """Subtract a centred nan-aware moving average of ``width`` samples."""
    if width <= 1:
        return v
    ok = np.isfinite(v)
    kernel = np.ones(width)
    total = np.convolve(np.where(ok, v, 0.0), kernel, mode="same")
    count = np.convolve(ok.astype(np.float64), kernel, mode="same")
    return np.where(ok & (count > 0), v - total / np.maximum(count, 1), np.nan)


def _varies(v: np.ndarray) -> bool:
    """More than rounding noise between the finite values of ``v``."""
    ok = v[np.isfinite(v)]
    return ok.size >= 2 and float(np.ptp(ok)) > 1e-9 * max(1.0, float(np.max(np.abs(ok))))


def _pearson(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    ok = np.isfinite(a) & np.isfinite(b)
    n = int(ok.sum())
    if n < 3:
        return math.nan, n
    da, db = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    denom = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    return (float(np.dot(da, db)) / denom if denom > 0 else math.nan), n


def av_sync(
    times: np.ndarray,
    mouth: np.ndarray,
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
        :func:`livecert.geometry.mouth_height` (what the band weights were
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
        raise InputError(f"times and mouth must have the same shape, got {t.shape} and {m.shape}", code="BAD_ARGUMENT")
    if max_lag_s < 0 or lag_step_s <= 0 or lag_penalty < 0:
        raise InputError("max_lag_s and lag_penalty must be >= 0 and lag_step_s > 0", code="BAD_ARGUMENT")
    if len(w) != len(bands_hz) or len(w) == 0:
        raise InputError(f"{len(w)} band weights for {len(bands_hz)} bands", code="BAD_ARGUMENT")
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
