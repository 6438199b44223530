"""A per-client token bucket (in memory: each server process counts on its own)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """Allow each client ``burst`` requests at once, refilled at ``per_minute``.

    Parameters
    ----------
    per_minute : float
        Sustained requests per minute per client.
    burst : int
        Requests a client may make at once.
    max_clients : int
        Clients remembered; the least recently seen are forgotten first.
    clock : callable returning float
        Monotonic seconds (injected in tests).
    """

    def __init__(
        self, per_minute: float, burst: int, *, max_clients: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._max = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Use one request of ``client``'s allowance.

        Returns
        -------
        float
            0.0 when allowed, else the seconds to wait before the next request is.
        """
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate
            self._buckets[client] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return wait
