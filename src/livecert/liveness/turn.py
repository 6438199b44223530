"""Head-turn prompts of a blink challenge: did the head turn when asked?

A head turning to one side turns in depth, and the face mesh's yaw follows
it.  A photo, a print or a phone turned in the hand is foreshortened, not
turned: the mesh reads a fraction of its turn as yaw (``BlinkConfig.min_head_turn_deg``
gives the measurements).
"""

from __future__ import annotations

import numpy as np

from livecert.arrays import FloatArray

#: The head's resting yaw is its median over this long before a prompt appeared, seconds.
REST_S = 2.0


def answered_turn_prompts(
    t: FloatArray,
    yaw_deg: FloatArray,
    windows: tuple[tuple[float, float], ...],
    origin_s: float,
    min_reaction_s: float,
    min_turn_deg: float,
) -> tuple[bool, ...]:
    """Which "turn your head" prompts of a blink challenge a turn answered.

    A prompt is answered when, on two frames in a row from ``min_reaction_s``
    after it appeared until it was hidden, the yaw is at least
    ``min_turn_deg`` away from the head's resting yaw: the median over the
    :data:`REST_S` seconds before the prompt appeared (over every frame before
    the window when there were fewer than 3 there, over the whole clip when
    there were none).  Either side counts.

    Parameters
    ----------
    t, yaw_deg : ndarray of float, shape (N,)
        Frame times on the clip's timeline and the face mesh's yaw in
        degrees (``nan`` without a face).  Turned frames count: a turn is
        what is asked for.
    windows : tuple of (float, float)
        Each prompt's (show, hide) seconds after ``origin_s``.
    origin_s : float
        When the prompts' schedule started, clip seconds.
    min_reaction_s : float
    min_turn_deg : float

    Returns
    -------
    tuple of bool
        One per window; all False when no frame has a face.
    """
    t = np.asarray(t, np.float64)
    yaw = np.asarray(yaw_deg, np.float64)
    seen = np.isfinite(yaw)
    if not seen.any():
        return tuple(False for _ in windows)
    t, yaw = t[seen], yaw[seen]
    out = []
    for show, hide in windows:
        shown, react, hidden = origin_s + show, origin_s + show + min_reaction_s, origin_s + hide
        rest = yaw[(t >= shown - REST_S) & (t < shown)]
        if rest.size < 3:
            rest = yaw[t < react]
        if rest.size == 0:
            rest = yaw
        away = (np.abs(yaw - float(np.median(rest))) >= min_turn_deg) & (t >= react) & (t <= hidden)
        out.append(bool(np.any(away[1:] & away[:-1])))
    return tuple(out)
