"""Blink detection from per-frame eyelid apertures.  Pure numpy.

The method:

0. The apertures (lid gap over eye width) are multiplied by how much the eyes
   are foreshortened (:func:`foreshortening`), so that a face turning to the
   side, or a photo of one turned in the hand, does not look wide-eyed and
   make its open-eye baseline jump.
1. Each eye's aperture is divided by that person's open-eye baseline, a high
   running percentile over a centred window, so glasses, narrow eyes and a
   face looking upward each get their own "open" level.
2. The two eyes' ratios are averaged (where only one eye is measured, it is
   used alone).
3. The closing depth is set for this clip (:func:`closing_depth`): at most
   ``1 - close_ratio``, shallower when the clip's deepest closures are
   shallow (a dim, small or compressed picture), never within the signal's
   noise.
4. Hysteresis: a blink is a stretch whose ratio falls below the closing
   threshold; it extends back and forward to the last frames with the ratio
   above the exit threshold.  Two blinks are separate when the eyes reopen
   above the exit threshold between them.
5. Events shorter than ``min_duration_s`` or longer than ``max_duration_s``
   are dropped, and so is anything across a gap of missing frames longer
   than ``max_gap_s``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from livecert.arrays import FloatArray, per_frame
from livecert.config import BlinkConfig
from livecert.errors import ErrorCode, InputError
from livecert.results import BlinkEvent


@dataclass(frozen=True)
class BlinkAnalysis:
    """Blink events and the normalised eye signal they were found in.

    Attributes
    ----------
    events : tuple of BlinkEvent
    ratio : ndarray of float64, shape (N,)
        Eye aperture as a fraction of the open-eye baseline (``nan`` where
        the frame was not usable).
    noise : float
        Robust standard deviation of the ratio's frame-to-frame changes over
        the square root of 2 (``nan`` with fewer than 5 usable frames).
    close_depth : float
        How far below the baseline a closing had to go on this clip.
    """

    events: tuple[BlinkEvent, ...]
    ratio: FloatArray
    noise: float = float("nan")
    close_depth: float = float("nan")


def running_percentile(t: FloatArray, x: FloatArray, window_s: float, q: float) -> FloatArray:
    """Percentile ``q`` of the finite values of ``x`` within ``window_s``
    centred on each sample.

    Parameters
    ----------
    t : ndarray, shape (N,)
        Increasing times in seconds.
    x : ndarray, shape (N,)
        Values, ``nan`` where missing.

    Returns
    -------
    ndarray, shape (N,)
        ``nan`` where the window holds no finite value.
    """
    n = t.shape[0]
    if n == 0:
        return np.full(0, np.nan)
    half = window_s / 2.0
    lo = np.searchsorted(t, t - half, side="left")
    hi = np.searchsorted(t, t + half, side="right")
    # One row per sample holding its window, padded with nan.  Sorting puts the nan
    # last; the percentile is then numpy's linear interpolation between the two
    # order statistics around (k - 1) * q / 100 of the k finite values.
    width = int((hi - lo).max())
    idx = lo[:, None] + np.arange(width)[None, :]
    windows = np.where(idx < hi[:, None], np.asarray(x, np.float64)[np.minimum(idx, n - 1)], np.nan)
    windows.sort(axis=1)
    k = np.count_nonzero(np.isfinite(windows), axis=1)
    pos = np.maximum(k - 1, 0) * (q / 100.0)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(k - 1, 0))
    rows = np.arange(n)
    low_v, high_v = windows[rows, below], windows[rows, above]
    out: FloatArray = low_v + (pos - below) * (high_v - low_v)
    out[k == 0] = np.nan
    return out


def eye_ratio(t: FloatArray, left: FloatArray, right: FloatArray, config: BlinkConfig) -> FloatArray:
    """Both eyes' apertures relative to their own open-eye baselines, averaged.

    Parameters
    ----------
    t, left, right : ndarray, shape (N,)
        Times and apertures (``nan`` where unusable).

    Returns
    -------
    ndarray, shape (N,)
    """
    ratios = []
    for eye in (left, right):
        base = running_percentile(t, eye, config.baseline_window_s, config.baseline_percentile)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios.append(np.where(base > 0, eye / base, np.nan))
    stacked = np.vstack(ratios)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames where neither eye was measured
        ratio: FloatArray = np.nanmean(stacked, axis=0)
    return ratio


def detect_blinks(
    t: FloatArray,
    left: FloatArray,
    right: FloatArray,
    config: BlinkConfig | None = None,
    *,
    eye_width_ratio: FloatArray | None = None,
) -> BlinkAnalysis:
    """Find blinks in a sequence of eyelid apertures.

    Parameters
    ----------
    t : ndarray, shape (N,)
        Frame times in seconds, strictly increasing.
    left, right : ndarray, shape (N,)
        Eyelid apertures of each eye, ``nan`` for frames without a usable face.
    config : BlinkConfig, optional
    eye_width_ratio : ndarray, shape (N,), optional
        :func:`livecert.face.geometry.eye_width_ratio` per frame: the
        apertures are corrected for the eyes' foreshortening
        (:func:`foreshortening`).  Without it, they are taken as they are.

    Returns
    -------
    BlinkAnalysis

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` when an array is not numbers, not one-dimensional,
        or its length differs from that of ``t``; ``BAD_CONFIG`` when
        ``config`` is not a :class:`BlinkConfig`.
    """
    if config is not None and not isinstance(config, BlinkConfig):
        given_type = type(config).__name__
        raise InputError(f"config must be a livecert.BlinkConfig, not {given_type}", code=ErrorCode.BAD_CONFIG)
    config = config or BlinkConfig()
    given = {"t": t, "left": left, "right": right} | (
        {} if eye_width_ratio is None else {"eye_width_ratio": eye_width_ratio}
    )
    arrays = per_frame("detect_blinks", given, ErrorCode.BAD_ARGUMENT)
    t, left, right = arrays["t"], arrays["left"], arrays["right"]
    width = arrays.get("eye_width_ratio")
    if width is not None:
        scale = foreshortening(t, width)
        left, right = left * scale, right * scale
    ratio = eye_ratio(t, left, right, config)
    valid = np.flatnonzero(np.isfinite(ratio))
    events: list[BlinkEvent] = []
    if valid.size < 3:
        return BlinkAnalysis((), ratio)
    tv, rv = t[valid], ratio[valid]
    noise = ratio_noise(rv)
    depth = closing_depth(rv, noise, config)
    close_at = 1.0 - depth
    open_at = 1.0 - depth * (1.0 - config.open_ratio) / (1.0 - config.close_ratio)
    # Split the usable frames into runs without long gaps.
    breaks = np.flatnonzero(np.diff(tv) > config.max_gap_s) + 1
    for run in np.split(np.arange(valid.size), breaks):
        events.extend(_events_in_run(tv[run], rv[run], close_at, open_at, config))
    return BlinkAnalysis(tuple(events), ratio, noise, depth)


#: The eyes' foreshortening is smoothed over this long (centred median), seconds: longer
#: than the landmarks' jitter, shorter than a turn of the head.
FORESHORTENING_WINDOW_S = 0.3


def foreshortening(t: FloatArray, eye_width_ratio: FloatArray) -> FloatArray:
    """How narrow the eyes look in each frame against the clip's median, for the apertures.

    The aperture divides the lid gap by the eye's width, and a turn to the side narrows the
    eye in the image but not the gap: a head turned 30 degrees looks about 15 % wider-eyed,
    a photo turned 50 degrees in the hand 30-75 %.  That lifts the running open-eye baseline,
    and the frames after the turn look like a closing (``spoof_attacks.turned_photo``: 21 of
    28 clips of the tuning split's photos turned by 50 or 65 degrees passed blink mode and
    the attack check; 6 with this factor).  The eye's width over the nose's vertical
    length (:func:`livecert.face.geometry.eye_width_ratio`) follows the foreshortening and
    not the lids; its centred median over :data:`FORESHORTENING_WINDOW_S`, divided by its
    median over the clip, is the factor returned.  Dividing the gap by the nose's length
    directly would do the same, but its landmarks' jitter cost tuning blinks (F1 0.986 to
    0.964); the smoothed factor keeps the eye width's precision.

    Parameters
    ----------
    t : ndarray, shape (N,)
        Increasing frame times, seconds.
    eye_width_ratio : ndarray, shape (N,)
        ``nan`` where unusable.

    Returns
    -------
    ndarray, shape (N,)
        The factor to multiply the apertures by; 1 where it cannot be measured.
    """
    finite = np.isfinite(eye_width_ratio) & (eye_width_ratio > 0)
    if not finite.any():
        return np.ones_like(eye_width_ratio)
    smooth = running_percentile(t, np.where(finite, eye_width_ratio, np.nan), FORESHORTENING_WINDOW_S, 50.0)
    factor = smooth / float(np.median(eye_width_ratio[finite]))
    return np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)


def ratio_noise(ratio: FloatArray) -> float:
    """Robust standard deviation of a signal's frame-to-frame changes over the square root of 2.

    Parameters
    ----------
    ratio : ndarray, shape (M,)
        Finite values in time order.

    Returns
    -------
    float
        ``1.4826 * MAD(diff) / sqrt(2)``: the white noise's standard deviation,
        blind to the few large steps of blinks; ``nan`` with fewer than 5 values.
    """
    if ratio.shape[0] < 5:
        return float("nan")
    d = np.diff(ratio)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def closing_depth(ratio: FloatArray, noise: float, config: BlinkConfig) -> float:
    """How far below the open baseline a closing must go on this clip.

    ``config.depth_fraction`` times the clip's deepest closure (1 minus the
    2nd percentile of ``ratio``), at most ``1 - config.close_ratio``, at
    least ``config.min_close_depth`` and ``config.noise_factor * noise``
    (the floors win over the cap).

    Parameters
    ----------
    ratio : ndarray, shape (M,)
        Finite eye ratios of the clip.
    noise : float
        From :func:`ratio_noise` (``nan``: the floor ignores it).
    config : BlinkConfig
    """
    cap = 1.0 - config.close_ratio
    floor = config.min_close_depth
    if math.isfinite(noise):
        floor = max(floor, config.noise_factor * noise)
    deepest = 1.0 - float(np.percentile(ratio, 2.0)) if ratio.shape[0] else 0.0
    return max(floor, min(cap, config.depth_fraction * deepest))


def _events_in_run(
    t: FloatArray, r: FloatArray, close_at: float, open_at: float, config: BlinkConfig
) -> list[BlinkEvent]:
    events: list[BlinkEvent] = []
    n = t.shape[0]
    closed = r < close_at
    is_open = r >= open_at
    i = 0
    while i < n:
        if not closed[i]:
            i += 1
            continue
        start = i
        while start > 0 and not is_open[start - 1]:
            start -= 1
        end = i
        while end < n - 1 and not is_open[end + 1]:
            end += 1
        # The event spans from the last open frame before it to the first open frame after it.
        if start == 0 or end == n - 1:
            i = end + 1  # partial blink at the edge of the run: its timing is unknown
            continue
        t0, t1 = float(t[start - 1]), float(t[end + 1])
        if config.min_duration_s <= t1 - t0 <= config.max_duration_s:
            events.append(BlinkEvent(t0, t1, float(np.min(r[start : end + 1]))))
        i = end + 1
    return events


def answered_prompts(
    blinks: tuple[BlinkEvent, ...],
    windows: tuple[tuple[float, float], ...],
    origin_s: float,
    min_reaction_s: float,
) -> tuple[bool, ...]:
    """Which "blink now" prompts a blink answered.

    Parameters
    ----------
    blinks : tuple of BlinkEvent
        On the clip's timeline.
    windows : tuple of (float, float)
        Each prompt's (show, hide) seconds after ``origin_s`` (the moment the
        prompts' schedule started).
    origin_s : float
    min_reaction_s : float
        A blink answers a prompt when it starts at least this long after the
        prompt appeared and before the prompt is hidden.

    Returns
    -------
    tuple of bool
        One per window.
    """
    starts = [b.start_s - origin_s for b in blinks]
    return tuple(any(show + min_reaction_s <= s <= hide for s in starts) for show, hide in windows)
