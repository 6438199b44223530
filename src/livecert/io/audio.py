"""Audio for the read-digits check: decoding, voice activity and lip-voice sync.

Times are seconds on the clip's own timeline, with the same origin as the
video frames of :mod:`livecert.io.sources`: a stream timestamp minus the
container's ``start_time``.  A sample ``i`` of an :class:`AudioTrack` lies at
``track.start_s + i / track.sample_rate``.

Numpy, PyAV (decoding, resampling) and pocketsphinx's WebRTC-derived voice
activity detector.  The digit recogniser is in :mod:`livecert.speech.recogniser`.
"""

from __future__ import annotations

import io
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import numpy as np

from livecert.arrays import AnyArray, FloatArray
from livecert.errors import ErrorCode, InputError
from livecert.io.files import check_file
from livecert.io.uploads import upload_name

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.container import InputContainer
    from av.packet import Packet
    from av.stream import Stream

log = logging.getLogger(__name__)

_S = TypeVar("_S", bound="Stream")


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

    Raises
    ------
    InputError
        ``BAD_ARGUMENT``: samples that are not mono numbers
        (:func:`as_samples`), a ``sample_rate`` outside [8000, 192000], or a
        ``start_s`` that is not a finite number.
    """

    samples: FloatArray
    sample_rate: int
    start_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", as_samples(self.samples))
        object.__setattr__(self, "sample_rate", _check_rate(self.sample_rate))
        start = self.start_s
        number = isinstance(start, int | float | np.integer | np.floating) and not isinstance(start, bool)
        if not number or not math.isfinite(start):
            raise InputError(f"start_s must be a finite number of seconds, got {start!r}", code=ErrorCode.BAD_ARGUMENT)
        object.__setattr__(self, "start_s", float(start))

    @property
    def duration_s(self) -> float:
        """Length of the track in seconds."""
        return len(self.samples) / self.sample_rate

    @property
    def end_s(self) -> float:
        """Clip time just after the last sample."""
        return self.start_s + self.duration_s

    def between(self, t0_s: float, t1_s: float) -> FloatArray:
        """Samples between two clip times, clipped to the track: shape (K,), possibly empty."""
        i0 = max(0, int(round((t0_s - self.start_s) * self.sample_rate)))
        i1 = min(len(self.samples), int(round((t1_s - self.start_s) * self.sample_rate)))
        return self.samples[i0 : max(i0, i1)]


def _check_rate(sample_rate: int) -> int:
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or not 8000 <= sample_rate <= 192000
    ):
        raise InputError(
            f"sample_rate must be an integer in [8000, 192000], got {sample_rate!r}", code=ErrorCode.BAD_ARGUMENT
        )
    return int(sample_rate)


def read_audio(path: str | os.PathLike[str] | bytes, sample_rate: int = DEFAULT_SAMPLE_RATE) -> AudioTrack | None:
    """Decode the first audio stream of a media file to mono float32.

    Parameters
    ----------
    path : str, PathLike or bytes
        A video or audio file FFmpeg can read, or its bytes in memory.
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

    rate = _check_rate(sample_rate)
    if isinstance(path, bytes):
        name = upload_name(len(path))
        if not path:
            raise InputError(
                f"{name}: the upload is empty (0 bytes); record or upload it again", code=ErrorCode.EMPTY_FILE
            )
        opened: str | io.BytesIO = io.BytesIO(path)
    else:
        file = check_file(Path(path))
        name = str(file)
        if file.is_dir():
            raise InputError(f"{file}: is a folder, not a media file", code=ErrorCode.NOT_A_MEDIA_FILE)
        opened = name
    try:
        container = av.open(opened, "r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise InputError(
            f"{name}: not a media file that can be opened ({exc.strerror or exc})", code=ErrorCode.NOT_A_MEDIA_FILE
        ) from None
    try:
        if not container.streams.audio:
            return None
        return _decode(container, name, rate)
    finally:
        container.close()


def _decode(container: InputContainer, path: str, rate: int) -> AudioTrack:
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
    :class:`livecert.io.video.VideoFileSource` feeds it the audio packets it
    meets while demuxing the video, so that a file is read once.

    Parameters
    ----------
    container : av.container.InputContainer
        An open container with at least one audio stream.
    path : str or Path
        Named in messages (a file, or ``"<upload of N bytes>"``).
    sample_rate : int
        Rate of the track made (mono float32).

    Attributes
    ----------
    stream : av.audio.stream.AudioStream
        The stream decoded; packets of other streams are ignored.
    ms : float
        Time spent decoding and resampling so far.
    """

    def __init__(self, container: InputContainer, path: str | Path, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        import av

        self.stream = container.streams.audio[0]
        self.path = path
        self.ms = 0.0
        self._rate = _check_rate(sample_rate)
        self._t0 = float(container.start_time) / 1e6 if container.start_time is not None else 0.0
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self._rate)
        self._chunks: list[AnyArray] = []  # float32 from the resampler
        self._first_t: float | None = None

    def _take(self, frames: list[AudioFrame]) -> None:
        self._chunks.extend(f.to_ndarray().reshape(-1) for f in frames)

    def decode(self, packet: Packet[_S]) -> None:
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
            frames = cast("list[AudioFrame]", packet.decode())  # a packet of the audio stream
        except av.error.FFmpegError as exc:
            if self._first_t is None:
                raise InputError(
                    f"{self.path}: the audio stream cannot be decoded ({exc.strerror or exc})",
                    code=ErrorCode.AUDIO_DECODE_ERROR,
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

    def _frame_time(self, frame: AudioFrame) -> float:
        if frame.pts is not None and frame.time_base is not None:
            return float(frame.pts * frame.time_base) - self._t0
        start, time_base = self.stream.start_time, self.stream.time_base
        if start is not None and time_base is not None:
            return float(start * time_base) - self._t0
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
                code=ErrorCode.AUDIO_DECODE_ERROR,
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
            raise InputError(f"{self.path}: the audio stream holds no samples", code=ErrorCode.EMPTY_AUDIO)
        return AudioTrack(np.clip(samples, -1.0, 1.0), self._rate, self._first_t or 0.0)


def load_wav(path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE) -> AudioTrack:
    """Decode a plain audio file (wav, flac, mp3, ...) to mono float32.

    Same as :func:`read_audio` but a file without audio is an error
    (``NO_AUDIO_STREAM``) instead of None.
    """
    track = read_audio(path, sample_rate)
    if track is None:
        raise InputError(f"{path}: the file holds no audio stream", code=ErrorCode.NO_AUDIO_STREAM)
    return track


def fft_length(n: int) -> int:
    """The power of two at or above ``n`` (at least 2), to zero-pad an FFT to.

    Lengths with a large prime factor are slow: a 3 s GRID track holds
    47,648 = 2^5 x 1489 samples, and its FFT takes about 25 times longer
    than one of 65,536.
    """
    return 1 << max(1, int(n) - 1).bit_length()


def to_pcm16(samples: FloatArray) -> bytes:
    """Float samples in [-1, 1], shape (M,), as little-endian 16-bit PCM bytes (nan as 0)."""
    x = np.nan_to_num(np.asarray(samples, dtype=np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def as_samples(samples: object) -> FloatArray:
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
            f"samples must be a float array of shape (M,), got {type(samples).__name__}", code=ErrorCode.BAD_ARGUMENT
        ) from None
    if x.ndim == 0 or sum(d > 1 for d in x.shape) > 1:
        raise InputError(
            f"samples must be mono audio of shape (M,), got shape {x.shape} (mix channels down first)",
            code=ErrorCode.BAD_ARGUMENT,
        )
    return x.reshape(-1)


def resample(samples: FloatArray, from_rate: int, to_rate: int) -> FloatArray:
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
