"""The hand-off between a producer thread and its reader (decoder, mesh worker)."""

from __future__ import annotations

import threading
import time

import pytest

from livecert.io.handoff import Handoff


def test_items_arrive_in_order_then_the_end() -> None:
    h: Handoff[int] = Handoff(2)

    def produce() -> None:
        for i in range(10):
            assert h.put(i)
        h.end()

    threading.Thread(target=produce).start()
    assert list(h) == list(range(10))


def test_the_producers_error_is_raised_after_the_items_before_it() -> None:
    h: Handoff[int] = Handoff(4)
    h.put(1)
    h.put(2)
    h.fail(ValueError("frame 3 is damaged"))
    got = []
    with pytest.raises(ValueError, match="frame 3"):
        for item in h:
            got.append(item)
    assert got == [1, 2]


def test_a_producer_on_a_full_queue_is_released_when_the_reader_stops() -> None:
    h: Handoff[int] = Handoff(1)
    assert h.put(0)
    results: list[bool] = []
    producer = threading.Thread(target=lambda: results.append(h.put(1)))
    producer.start()
    time.sleep(0.3)
    assert producer.is_alive()  # waiting: the reader has not read
    h.stop()
    producer.join(timeout=2.0)
    assert not producer.is_alive() and results == [False] and h.stopped
    assert h.put(2) is False  # and every put after
