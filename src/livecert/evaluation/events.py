"""Scoring helpers shared by the tests and the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class EventScore:
    """Event-level counts and the figures derived from them."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: EventScore) -> EventScore:
        return EventScore(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def to_dict(self) -> dict[str, float]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def match_events(
    detected: Sequence[tuple[float, float]], truth: Sequence[tuple[float, float]], tol_s: float = 0.05
) -> EventScore:
    """Score detected intervals against true ones, one-to-one.

    A detection matches a true event when the two intervals overlap after
    each is widened by ``tol_s`` on both sides.  Each true event is matched
    at most once, greedily in time order.
    """
    used: set[int] = set()
    tp = 0
    for a, b in sorted(detected):
        for j, (c, d) in enumerate(truth):
            if j not in used and a - tol_s <= d + tol_s and c - tol_s <= b + tol_s:
                used.add(j)
                tp += 1
                break
    return EventScore(tp, len(detected) - tp, len(truth) - tp)
