from livecert.evaluation.events import EventScore, match_events


def test_overlap_with_tolerance_one_to_one() -> None:
    truth = [(1.0, 1.2), (2.0, 2.2)]
    assert match_events([(1.25, 1.4)], truth) == EventScore(1, 0, 1)  # within 2 x 50 ms
    assert match_events([(1.31, 1.4)], truth) == EventScore(0, 1, 2)
    # two detections cannot both claim one true blink
    assert match_events([(1.0, 1.1), (1.1, 1.2)], truth) == EventScore(1, 1, 1)


def test_figures() -> None:
    s = EventScore(8, 2, 0)
    assert s.precision == 0.8 and s.recall == 1.0 and abs(s.f1 - 16 / 18) < 1e-12
    empty = EventScore(0, 0, 0)
    assert (empty.precision, empty.recall, empty.f1) == (1.0, 1.0, 1.0)
