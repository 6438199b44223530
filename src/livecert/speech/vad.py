"""Voice activity: speech segments of an audio track, from PocketSphinx's WebRTC-derived
detector gated by energy above the track's noise floor."""

from __future__ import annotations

import numpy as np

from livecert.errors import ErrorCode, InputError, ModelError, not_loaded
from livecert.io.audio import DEFAULT_SAMPLE_RATE, AudioTrack, resample, to_pcm16


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
        raise ModelError(not_loaded("pocketsphinx", exc, "pip install pocketsphinx")) from None

    if aggressiveness not in (0, 1, 2, 3):
        raise InputError(f"aggressiveness must be 0, 1, 2 or 3, got {aggressiveness!r}", code=ErrorCode.BAD_ARGUMENT)
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
