"""Blink detector on synthetic aperture signals (real-data evidence lives in tests/realdata)."""

from __future__ import annotations

import numpy as np
import pytest

from livecert.config import BlinkConfig
from livecert.errors import ErrorCode, InputError
from livecert.liveness.blink import detect_blinks, running_percentile


def signal(
    blinks: list[tuple[float, float]],
    *,
    fps: float = 30.0,
    seconds: float = 5.0,
    level: float = 0.3,
    depth: float = 0.1,
):
    t = np.arange(0, seconds, 1 / fps)
    x = np.full_like(t, level)
    for a, b in blinks:
        x[(t >= a) & (t <= b)] = depth
    return t, x


def test_finds_each_blink_with_its_timing() -> None:
    t, x = signal([(1.0, 1.2), (3.0, 3.3)])
    events = detect_blinks(t, x, x).events
    assert len(events) == 2
    assert events[0].start_s == pytest.approx(1.0 - 1 / 30, abs=0.04)
    assert events[1].end_s == pytest.approx(3.3 + 1 / 30, abs=0.04)


def test_two_blinks_in_quick_succession_are_separate() -> None:
    t, x = signal([(1.0, 1.13), (1.24, 1.4)])
    assert len(detect_blinks(t, x, x).events) == 2


def test_baseline_adapts_to_narrow_eyes() -> None:
    # A fixed EAR threshold of 0.3 would call these eyes shut all the time.
    t, x = signal([(2.0, 2.2)], level=0.18, depth=0.06)
    assert len(detect_blinks(t, x, x).events) == 1


def test_too_short_and_too_long_closures_are_not_blinks() -> None:
    t, x = signal([(2.0, 4.0)])
    assert detect_blinks(t, x, x).events == ()
    cfg = BlinkConfig(min_duration_s=0.3)
    t, x = signal([(2.0, 2.1)])
    assert detect_blinks(t, x, x, cfg).events == ()


def test_shallow_dip_beside_deep_blinks_is_not_a_blink() -> None:
    t, x = signal([(1.0, 1.2), (3.5, 3.7)])
    x[(t >= 2.3) & (t <= 2.5)] = 0.25  # 83% of the open level
    analysis = detect_blinks(t, x, x)
    assert [round(e.start_s, 1) for e in analysis.events] == [1.0, 3.5]
    assert 0.25 < analysis.close_depth <= 1 - BlinkConfig().close_ratio


def test_shallow_blinks_of_a_poor_picture_are_found() -> None:
    # The landmark model hedges towards an open eye in a dim or compressed picture.
    rng = np.random.default_rng(0)
    t, x = signal([(1.0, 1.2), (3.0, 3.2)], depth=0.24)  # 80% of the open level
    x = x * (1 + rng.normal(0, 0.01, x.shape))
    analysis = detect_blinks(t, x, x)
    assert len(analysis.events) == 2
    assert 0.005 < analysis.noise < 0.015
    assert 0.09 < analysis.close_depth < 0.11


def test_dips_within_the_noise_are_not_blinks() -> None:
    rng = np.random.default_rng(0)
    t, x = signal([(1.0, 1.2), (3.0, 3.2)], depth=0.27)  # 90% of the open level
    x = x * (1 + rng.normal(0, 0.05, x.shape))
    analysis = detect_blinks(t, x, x)
    assert analysis.close_depth >= 5 * analysis.noise > 0.15
    assert analysis.events == ()


def test_one_eye_missing_uses_the_other() -> None:
    t, x = signal([(2.0, 2.2)])
    assert len(detect_blinks(t, np.full_like(x, np.nan), x).events) == 1


def test_gap_of_missing_frames_splits_and_drops_partial_events() -> None:
    t, x = signal([(2.0, 2.2)])
    left = x.copy()
    left[(t > 2.05) & (t < 2.6)] = np.nan
    assert detect_blinks(t, left, left).events == ()


def test_blink_at_clip_edge_is_ignored() -> None:
    t, x = signal([(0.0, 0.1)])
    assert detect_blinks(t, x, x).events == ()


def test_no_usable_frames() -> None:
    t = np.arange(10) / 30
    nan = np.full(10, np.nan)
    analysis = detect_blinks(t, nan, nan)
    assert analysis.events == () and np.isnan(analysis.ratio).all()


def test_dropped_frames_use_real_times() -> None:
    t, x = signal([(2.0, 2.2)])
    keep = np.ones_like(t, bool)
    keep[::3] = False  # irregular spacing, as ZJU's decoder gives
    events = detect_blinks(t[keep], x[keep], x[keep]).events
    assert len(events) == 1 and 1.9 < events[0].start_s < 2.05


@pytest.mark.parametrize("name", ["t", "left", "right", "eye_width_ratio"])
@pytest.mark.parametrize("bad", ["short", "2-D"])
def test_arrays_of_other_shapes_are_refused(name: str, bad: str) -> None:
    """A mismatched array used to give NumPy's broadcasting error (or run on, broadcast)."""
    t, x = signal([(1.0, 1.2)])
    arrays = {"t": t, "left": x, "right": x.copy(), "eye_width_ratio": np.full_like(t, 0.4)}
    arrays[name] = arrays[name][:-1] if bad == "short" else arrays[name].reshape(-1, 1)
    with pytest.raises(InputError) as info:
        detect_blinks(arrays["t"], arrays["left"], arrays["right"], eye_width_ratio=arrays["eye_width_ratio"])
    assert info.value.code is ErrorCode.BAD_ARGUMENT
    assert f" {name} " in info.value.message and "per frame" in info.value.message, info.value.message


@pytest.mark.parametrize("name", ["t", "left", "eye_width_ratio"])
def test_arrays_that_are_not_numbers_are_refused(name: str) -> None:
    """Strings or objects used to give NumPy's conversion error."""
    t, x = signal([(1.0, 1.2)])
    arrays: dict[str, object] = {"t": t, "left": x, "right": x.copy(), "eye_width_ratio": np.full_like(t, 0.4)}
    arrays[name] = ["open"] * len(t)
    with pytest.raises(InputError) as info:
        detect_blinks(arrays["t"], arrays["left"], arrays["right"], eye_width_ratio=arrays["eye_width_ratio"])  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.BAD_ARGUMENT
    assert f" {name} must be numbers" in info.value.message, info.value.message


def test_running_percentile_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 10, 200))
    x = rng.normal(size=200)
    got = running_percentile(t, x, 2.0, 80)
    i = 100
    window = x[np.abs(t - t[i]) <= 1.0]
    assert got[i] == pytest.approx(np.percentile(window, 80))


def _turning(t: np.ndarray, narrowest: float) -> np.ndarray:
    """How wide the eyes look while the face turns to the side from 2 s to 4 s and back."""
    phase = np.clip((t - 2.0) / 2.0, 0.0, 1.0)
    return 1.0 - (1.0 - narrowest) * np.sin(np.pi * phase) ** 2


def test_a_turn_that_narrows_the_eyes_is_not_a_blink() -> None:
    """The lid gap stays, the eye narrows in the image (a photo turned 50-65 degrees): the aperture
    rises with the turn and, against the raised baseline, the frames after it looked like a
    closing.  With the eyes' width over the nose's length, the foreshortening is undone."""
    t, x = signal([], seconds=7.0, level=0.28)
    width = _turning(t, 0.55)
    apertures = x / width
    assert len(detect_blinks(t, apertures, apertures).events) >= 1  # what a turned photo did
    assert detect_blinks(t, apertures, apertures, eye_width_ratio=0.4 * width).events == ()


def test_a_blink_while_turning_is_still_found() -> None:
    t, x = signal([(3.0, 3.2)], seconds=7.0, level=0.28, depth=0.05)
    width = _turning(t, 0.7)
    apertures = x / width
    events = detect_blinks(t, apertures, apertures, eye_width_ratio=0.4 * width).events
    assert len(events) == 1 and 2.9 < events[0].start_s < 3.1


def test_frames_without_the_eye_width_ratio_are_left_as_they_are() -> None:
    t, x = signal([(1.0, 1.2), (3.0, 3.3)])
    assert detect_blinks(t, x, x, eye_width_ratio=np.full_like(t, np.nan)).events == detect_blinks(t, x, x).events
