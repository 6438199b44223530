"""Mouth events and prompt timing on synthetic mouth-aperture signals."""

from __future__ import annotations

import numpy as np

from livecert.config import DigitsConfig
from livecert.liveness.mouth import fits_prompt, mouth_events


def syllables(times: list[float], fps: float = 25.0, seconds: float = 4.0, height: float = 0.06):
    t = np.arange(0, seconds, 1 / fps)
    x = np.full_like(t, 0.002)
    for c in times:
        x += height * np.exp(-0.5 * ((t - c) / 0.05) ** 2)
    return t, x


def test_each_syllable_is_one_event() -> None:
    t, x = syllables([1.0, 1.4, 1.8, 2.2])
    events = mouth_events(t, x).events
    assert len(events) == 4 and np.allclose(events, [1.0, 1.4, 1.8, 2.2], atol=0.05)


def test_syllables_run_together_still_count() -> None:
    # no return to a closed mouth between them: prominence, not closure, separates them
    t, x = syllables([1.0, 1.2, 1.4])
    x = np.maximum(x, 0.03 * ((t > 0.9) & (t < 1.5)))
    assert len(mouth_events(t, x).events) == 3


def test_still_or_slightly_jittering_mouth_has_no_events() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(0, 5, 1 / 25)
    for level in (0.002, 0.08):  # closed, and a photo with an open smile
        x = level + rng.normal(0, 0.002, t.shape)
        assert mouth_events(t, x).events == ()


def test_prompt_fit_rules() -> None:
    cfg = DigitsConfig()
    assert fits_prompt((1.0, 1.4, 1.8, 2.2), 4, 0.0, cfg)[0]
    assert not fits_prompt((1.0, 1.4), 4, 0.0, cfg)[0]  # too few for 4 digits
    assert not fits_prompt((0.05, 0.1), 1, 0.0, cfg)[0]  # before anyone could react
    assert not fits_prompt((20.0, 20.4, 20.8), 2, 0.0, cfg)[0]  # far too late
    assert not fits_prompt((), 1, 0.0, cfg)[0]


def test_missing_frames() -> None:
    t, x = syllables([1.0, 2.0])
    x[(t > 0.9) & (t < 1.1)] = np.nan
    assert len(mouth_events(t, x).events) == 1
    assert mouth_events(t[:2], x[:2]).events == ()
