"""A bounded hand-off from one producer thread to one reader.

The producer puts items in order and then either ends or hands over its
error; the reader iterates and gets the error raised at the place it
happened.  When the reader stops early, the producer's next put returns
False instead of blocking, so no thread waits forever on a reader that left.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

#: How often a producer blocked on a full queue looks whether the reader stopped, in seconds.
POLL_S = 0.1


class _End:
    """The producer's last item."""


class Handoff(Generic[T]):
    """Items of type ``T`` from one producer thread to one reader.

    Parameters
    ----------
    size : int
        Items queued and not yet read, at most; the producer waits beyond.
    """

    def __init__(self, size: int) -> None:
        self._queue: queue.Queue[T | BaseException | _End] = queue.Queue(maxsize=size)
        self._stopped = threading.Event()

    @property
    def stopped(self) -> bool:
        """True once the reader called :meth:`stop`."""
        return self._stopped.is_set()

    def put(self, item: T) -> bool:
        """Queue ``item`` (waiting while the queue is full); False when the reader stopped."""
        return self._put(item)

    def fail(self, exc: BaseException) -> None:
        """Hand ``exc`` to the reader, which raises it after the items before it."""
        self._put(exc)

    def end(self) -> None:
        """No more items: the reader's iteration ends after those queued."""
        self._put(_End())

    def stop(self) -> None:
        """The reader leaves: the producer's puts return False from now on."""
        self._stopped.set()

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item: T | BaseException | _End) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False
