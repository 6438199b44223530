"""Error rates and summary statistics shared by the tests, the benchmarks and
threshold tuning.

Verification scores are **distances** by default: a pair is accepted when
``score <= threshold`` (as :func:`livecert.identity.matching.match_faces`
does).  For similarity scores (accepted when ``score >= threshold``, as the
lip-voice sync check) pass ``similarity=True``.

Presentation-attack figures use the ISO/IEC 30107-3 terms:

* **APCER** (per attack class): the share of attack presentations of that
  class that were accepted as bona fide;
* **BPCER**: the share of bona fide presentations that were rejected.

Event precision / recall / F1 are in :mod:`livecert.evaluation.events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ErrorRate",
    "OperatingPoint",
    "apcer",
    "bpcer",
    "det_curve",
    "eer",
    "error_rate",
    "frr_at_far",
    "median_iqr",
    "rates",
]


class OperatingPoint(TypedDict):
    """A threshold and the false accept / false reject rates there."""

    threshold: float
    far: float
    frr: float


class ErrorRate(TypedDict):
    """``errors`` out of ``total`` and their ratio (None when ``total`` is 0)."""

    rate: float | None
    errors: int
    total: int


def _distances(
    genuine: ArrayLike, impostor: ArrayLike, similarity: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Both score sets as float64 distances (similarities negated)."""
    g = np.asarray(genuine, dtype=np.float64).ravel()
    i = np.asarray(impostor, dtype=np.float64).ravel()
    return (-g, -i) if similarity else (g, i)


def _both_sets(
    name: str, genuine: ArrayLike, impostor: ArrayLike, similarity: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`_distances`, refusing an empty set (``ValueError`` naming ``name``)."""
    g, i = _distances(genuine, impostor, similarity)
    if not g.size or not i.size:
        raise ValueError(f"{name} needs genuine and impostor scores, got {g.size} and {i.size}")
    return g, i


def _thresholds(g: NDArray[np.float64], i: NDArray[np.float64]) -> NDArray[np.float64]:
    """Every distinct score, and ``-inf`` (nothing accepted)."""
    out: NDArray[np.float64] = np.unique(np.concatenate([g, i, [-np.inf]]))
    return out


def rates(
    genuine: ArrayLike, impostor: ArrayLike, threshold: float, *, similarity: bool = False
) -> tuple[float, float]:
    """False reject and false accept rates at one threshold.

    Parameters
    ----------
    genuine, impostor : array_like of float
        Scores of genuine (same person / bona fide) and impostor pairs.
    threshold : float
    similarity : bool
        Scores are similarities (accepted when ``>= threshold``); default
        distances (accepted when ``<= threshold``).

    Returns
    -------
    frr, far : float
        ``nan`` for an empty set.
    """
    g, i = _distances(genuine, impostor, similarity)
    t = -threshold if similarity else threshold
    frr = float(np.mean(g > t)) if g.size else float("nan")
    far = float(np.mean(i <= t)) if i.size else float("nan")
    return frr, far


def det_curve(genuine: ArrayLike, impostor: ArrayLike, *, similarity: bool = False) -> list[OperatingPoint]:
    """FAR and FRR at every distinct score (the points of a DET curve).

    Parameters
    ----------
    genuine, impostor : array_like of float
    similarity : bool
        See :func:`rates`.

    Returns
    -------
    list of OperatingPoint
        In order of increasing acceptance (FAR rising, FRR falling).
    """
    g, i = _distances(genuine, impostor, similarity)
    out: list[OperatingPoint] = []
    for t in np.unique(np.concatenate([g, i])):
        far, frr = float(np.mean(i <= t)), float(np.mean(g > t))
        out.append({"threshold": float(-t if similarity else t), "far": far, "frr": frr})
    return out


def eer(genuine: ArrayLike, impostor: ArrayLike, *, similarity: bool = False) -> tuple[float, float]:
    """Equal error rate and the threshold where it is reached.

    Over every distinct score (and "accept nothing"), the threshold where
    FAR and FRR are closest; the EER is their mean there (ties: the lower
    mean, then the stricter threshold).

    Parameters
    ----------
    genuine, impostor : array_like of float
        Both non-empty.
    similarity : bool
        See :func:`rates`.

    Returns
    -------
    eer : float
    threshold : float
        ``-inf`` (``inf`` for similarities) when accepting nothing is best.

    Raises
    ------
    ValueError
        One of the sets is empty.
    """
    g, i = _both_sets("eer", genuine, impostor, similarity)
    best = (np.inf, np.nan, np.nan)
    for t in _thresholds(g, i):
        far, frr = float(np.mean(i <= t)), float(np.mean(g > t))
        best = min(best, (abs(far - frr), (far + frr) / 2, float(t)))
    return best[1], (-best[2] if similarity else best[2])


def frr_at_far(genuine: ArrayLike, impostor: ArrayLike, target: float, *, similarity: bool = False) -> OperatingPoint:
    """FRR at the most lenient threshold whose FAR is at most ``target``.

    Parameters
    ----------
    genuine, impostor : array_like of float
        Both non-empty.
    target : float
        Largest false accept rate allowed (0 = no impostor accepted).  With
        ``n`` impostor scores, targets below ``1 / n`` all mean FAR 0.
    similarity : bool
        See :func:`rates`.

    Returns
    -------
    OperatingPoint
        ``threshold`` is ``-inf`` (``inf`` for similarities) when only
        "accept nothing" meets the target.

    Raises
    ------
    ValueError
        One of the sets is empty.
    """
    g, i = _both_sets("frr_at_far", genuine, impostor, similarity)
    t = max(t for t in _thresholds(g, i) if np.mean(i <= t) <= target)
    return {"threshold": float(-t if similarity else t), "far": float(np.mean(i <= t)), "frr": float(np.mean(g > t))}


def median_iqr(values: Iterable[float], *, extremes: bool = False) -> dict[str, float]:
    """Median and interquartile range (the spread reported with every timing).

    Parameters
    ----------
    values : iterable of float
        At least one value; the IQR of one value is 0.
    extremes : bool
        Also give ``min``, ``max`` and the count ``n``.

    Returns
    -------
    dict
        ``{"median", "iqr"}`` (numpy's linear percentiles), plus ``min``,
        ``max``, ``n`` with ``extremes``.

    Raises
    ------
    ValueError
        No values.
    """
    v = np.fromiter(values, dtype=np.float64)
    if not v.size:
        raise ValueError("median_iqr of no values")
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    out = {"median": float(q50), "iqr": float(q75 - q25)}
    if extremes:
        out |= {"min": float(v.min()), "max": float(v.max()), "n": int(v.size)}
    return out


def error_rate(errors: int, total: int) -> ErrorRate:
    """``errors / total`` with its counts; the rate is None when ``total`` is 0."""
    return {"rate": errors / total if total else None, "errors": int(errors), "total": int(total)}


def apcer(accepted_by_class: Mapping[str, Iterable[bool]]) -> dict[str, ErrorRate]:
    """Attack presentation classification error rate per attack class.

    Parameters
    ----------
    accepted_by_class : mapping of str to iterable of bool
        For each attack class (``"print"``, ``"replay"``, ...), whether each
        of its attack presentations was accepted as bona fide.

    Returns
    -------
    dict of str to ErrorRate
        Accepted attacks over attack presentations, per class, sorted by class.
    """
    out: dict[str, ErrorRate] = {}
    for kind in sorted(accepted_by_class):
        decisions = [bool(x) for x in accepted_by_class[kind]]
        out[kind] = error_rate(sum(decisions), len(decisions))
    return out


def bpcer(accepted: Iterable[bool]) -> ErrorRate:
    """Bona fide presentation classification error rate.

    Parameters
    ----------
    accepted : iterable of bool
        Whether each bona fide presentation was accepted.

    Returns
    -------
    ErrorRate
        Rejected bona fide presentations over bona fide presentations.
    """
    decisions = [bool(x) for x in accepted]
    return error_rate(sum(not d for d in decisions), len(decisions))
