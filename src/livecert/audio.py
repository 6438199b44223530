"""Audio for the read-digits check: decoding, voice activity and lip-voice sync.

Times are seconds on the clip's own timeline, with the same origin as the
video frames of :mod:`livecert.capture`: a stream timestamp minus the
container's ``start_time``.  A sample ``i`` of an :class:`AudioTrack` lies at
``track.start_s + i / track.sample_rate``.

Pure numpy apart from PyAV (decoding) and pocketsphinx (its WebRTC-derived
voice activity detector, :class:`pocketsphinx.Vad`).  The digit recogniser is
in :mod:`livecert.asr`.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from livecert.errors import InputError

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
        """Samples between two clip times (clipped to the track).

        Returns
        -------
        ndarray of float32, shape (K,)
            Possibly empty.
        """
        i0 = max(0, int(round((t0_s - self.start_s) * self.sample_rate)))
        i1 = min(len(self.samples), int(round((t1_s - self.start_s) * self.sample_rate)))
        return self.samples[i0:max(i0, i1)]


# ----------------------------------------------------------------------------
# decoding


def _check_rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or not (
        8000 <= sample_rate <= 192000
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

    stream = container.streams.audio[0]
    t0 = float(container.start_time) / 1e6 if container.start_time is not None else 0.0
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks: list[np.ndarray] = []
    first_t: float | None = None
    n = 0

    def take(frames: list[Any]) -> None:
        nonlocal n
        for f in frames:
            a = f.to_ndarray().reshape(-1)
            chunks.append(a)
            n += len(a)

    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                if n == 0 and first_t is None:
                    raise
                log.warning("%s: skipped a damaged audio packet (%s)", path, exc)
                continue
            for frame in frames:
                if first_t is None:
                    if frame.pts is not None and frame.time_base is not None:
                        first_t = float(frame.pts * frame.time_base) - t0
                    elif stream.start_time is not None:
                        first_t = float(stream.start_time * stream.time_base) - t0
                    else:
                        first_t = 0.0
                take(resampler.resample(frame))
        take(resampler.resample(None))
    except av.error.FFmpegError as exc:
        if n == 0:
            raise InputError(
                f"{path}: the audio stream cannot be decoded ({exc.strerror or exc})", code="AUDIO_DECODE_ERROR"
            ) from None
        log.warning("%s: audio truncated after %.2f s (%s)", path, n / rate, exc)
    if n == 0:
        raise InputError(f"{path}: the audio stream holds no samples", code="EMPTY_AUDIO")
    samples = np.clip(np.concatenate(chunks).astype(np.float32, copy=False), -1.0, 1.0)
    return AudioTrack(samples, rate, first_t or 0.0)


def load_wav(path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE) -> AudioTrack:
    """Decode a plain audio file (wav, flac, mp3, ...) to mono float32.

    Same as :func:`read_audio` but a file without audio is an error
    (``NO_AUDIO_STREAM``) instead of None.
    """
    track = read_audio(path, sample_rate)
    if track is None:
        raise InputError(f"{path}: the file holds no audio stream", code="NO_AUDIO_STREAM")
    return track


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1], shape (M,), as little-endian 16-bit PCM bytes."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono float samples with FFmpeg's resampler.

    Parameters
    ----------
    samples : ndarray, shape (M,)
    from_rate, to_rate : int

    Returns
    -------
    ndarray of float32, shape (about M * to_rate / from_rate,)
    """
    import av

    from_rate, to_rate = _check_rate(from_rate), _check_rate(to_rate)
    x = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).reshape(1, -1))
    if from_rate == to_rate or x.size == 0:
        return x.reshape(-1).copy()
    frame = av.AudioFrame.from_ndarray(x, format="flt", layout="mono")
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame) + resampler.resample(None)]
    return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, np.float32)
