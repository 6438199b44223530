"""Read-digits liveness from the video: mouth-opening events timed against
the prompt.  Pure numpy over the per-frame mouth aperture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from livecert.arrays import FloatArray
from livecert.config import DigitsConfig


@dataclass(frozen=True)
class MouthAnalysis:
    """Mouth movement found in a clip.

    Attributes
    ----------
    events : tuple of float
        Time of the widest opening of each syllable-like event, seconds.
    segments : tuple of (float, float)
        Stretches of speech-like movement (events less than 0.6 s apart merged).
    closed_level : float
        The person's closed-mouth aperture (10th percentile).
    """

    events: tuple[float, ...]
    segments: tuple[tuple[float, float], ...]
    closed_level: float


def mouth_events(t: FloatArray, mouth: FloatArray, config: DigitsConfig | None = None) -> MouthAnalysis:
    """Find syllable-like mouth openings.

    Parameters
    ----------
    t : ndarray, shape (N,)
        Frame times, increasing.
    mouth : ndarray, shape (N,)
        Inner-lip gap / face width, ``nan`` where unusable.
    """
    config = config or DigitsConfig()
    t = np.asarray(t, np.float64)
    mouth = np.asarray(mouth, np.float64)
    finite = np.isfinite(mouth)
    if np.count_nonzero(finite) < 3:
        return MouthAnalysis((), (), math.nan)
    n = t.shape[0]
    closed = float(np.percentile(mouth[finite], 10))
    x = np.where(finite, mouth, closed)
    peaks = _prominent_peaks(x, closed + config.open_delta, config.min_prominence)
    events: list[tuple[float, float, float]] = []  # start, end, time of peak
    for i in peaks:
        if events and t[i] - events[-1][2] < config.min_event_gap_s:
            continue
        start = i
        while start > 0 and x[start - 1] > closed + config.close_delta and x[start - 1] <= x[start]:
            start -= 1
        end = i
        while end < n - 1 and x[end + 1] > closed + config.close_delta and x[end + 1] <= x[end]:
            end += 1
        events.append((float(t[start]), float(t[end]), float(t[i])))
    segments: list[tuple[float, float]] = []
    for a, b, _ in events:
        if segments and a - segments[-1][1] < 0.6:
            segments[-1] = (segments[-1][0], b)
        else:
            segments.append((a, b))
    return MouthAnalysis(tuple(e[2] for e in events), tuple(segments), closed)


def answered_mouth_prompts(
    t: FloatArray,
    mouth: FloatArray,
    windows: tuple[tuple[float, float], ...],
    origin_s: float,
    min_reaction_s: float,
    config: DigitsConfig | None = None,
) -> tuple[bool, ...]:
    """Which "open your mouth" prompts of a blink challenge an opening answered.

    An opening is one of :func:`mouth_events`' events: the inner-lip gap
    peaks at least ``config.open_delta`` above the person's closed level and
    ``config.min_prominence`` above the valleys around it, so a mouth that
    rests a little open and opens wider counts, and a mouth held open
    without moving does not.  Its widest point must come at least
    ``min_reaction_s`` after the prompt appeared and before it was hidden.

    Parameters
    ----------
    t, mouth : ndarray of float, shape (N,)
        Frame times on the clip's timeline and inner-lip gap / face width (nan where unusable).
    windows : tuple of (float, float)
        Each prompt's (show, hide) seconds after ``origin_s``.
    origin_s : float
        When the prompts' schedule started, clip seconds.
    min_reaction_s : float
    config : DigitsConfig, optional
        Default :class:`DigitsConfig`.

    Returns
    -------
    tuple of bool
        One per window; all False when fewer than 3 frames are usable.
    """
    peaks = np.asarray(mouth_events(t, mouth, config).events, np.float64) - origin_s
    return tuple(bool(np.any((peaks >= show + min_reaction_s) & (peaks <= hide))) for show, hide in windows)


def _prominent_peaks(x: FloatArray, min_height: float, min_prominence: float) -> list[int]:
    """Indices of local maxima at least ``min_height`` high that rise at least
    ``min_prominence`` above the deeper of the two valleys separating them from
    higher ground (the usual topographic prominence)."""
    n = x.shape[0]
    out = []
    for i in range(n):
        left = x[i - 1] if i > 0 else -np.inf
        right = x[i + 1] if i < n - 1 else -np.inf
        if not (x[i] >= min_height and x[i] > left and x[i] >= right):
            continue
        j = i
        low_left = x[i]
        while j > 0 and x[j - 1] <= x[i]:
            j -= 1
            low_left = min(low_left, x[j])
        k = i
        low_right = x[i]
        while k < n - 1 and x[k + 1] <= x[i]:
            k += 1
            low_right = min(low_right, x[k])
        if x[i] - max(low_left, low_right) >= min_prominence:
            out.append(i)
    return out


def fits_prompt(events: tuple[float, ...], n_digits: int, prompt_at_s: float, config: DigitsConfig) -> tuple[bool, str]:
    """Do the mouth events fit ``n_digits`` read after the prompt appeared?

    The first event must come between ``min_reaction_s`` and
    ``max_reaction_s`` after the prompt, and at least
    ``ceil(min_events_per_digit * n_digits)`` events must fall within the
    reading window ``[prompt + min_reaction_s, prompt + max_reaction_s + n_digits * per_digit_s]``.

    Returns
    -------
    ok : bool
    detail : str
        The measured figures, for the result's reason.
    """
    lo = prompt_at_s + config.min_reaction_s
    hi = prompt_at_s + config.max_reaction_s + n_digits * config.per_digit_s
    inside = [e for e in events if lo <= e <= hi]
    needed = max(1, math.ceil(config.min_events_per_digit * n_digits))
    if not inside:
        return False, f"no mouth opening within {hi - prompt_at_s:.1f} s of the prompt"
    if inside[0] - prompt_at_s > config.max_reaction_s:
        return False, f"first mouth opening {inside[0] - prompt_at_s:.1f} s after the prompt"
    if len(inside) < needed:
        return False, f"{len(inside)} mouth openings for {n_digits} digits, {needed} needed"
    return True, f"{len(inside)} mouth openings for {n_digits} digits"
