"""Head-turn prompts: which yaw traces answer a "turn your head" prompt (synthetic traces)."""

from __future__ import annotations

import numpy as np
import pytest

from livecert.config import BlinkConfig
from livecert.liveness.turn import answered_turn_prompts

FPS = 30.0
T = np.arange(int(8 * FPS)) / FPS
WINDOW = ((3.0, 5.5),)  # shown 3 s after the origin, hidden 2.5 s later
REACT = BlinkConfig().min_reaction_s
MIN_TURN = BlinkConfig().min_head_turn_deg


def _turn(rest: float, peak: float, start_s: float, seconds: float = 1.2) -> np.ndarray:
    """A head resting at ``rest`` degrees that turns to ``peak`` from ``start_s`` and back (raised cosine)."""
    phase = np.clip((T - start_s) / seconds, 0.0, 1.0)
    return rest + (peak - rest) * np.sin(np.pi * phase) ** 2


def _answered(yaw: np.ndarray, origin_s: float = 0.0) -> bool:
    (answered,) = answered_turn_prompts(T, yaw, WINDOW, origin_s, REACT, MIN_TURN)
    return answered


@pytest.mark.parametrize("peak", [25.0, -20.0, 45.0])
def test_a_turn_to_either_side_after_the_prompt_answers_it(peak: float) -> None:
    assert _answered(_turn(3.0, peak, start_s=3.6))


def test_the_turn_is_measured_from_where_the_head_rested() -> None:
    """A head resting turned 12 degrees (the phone held to one side) turns from there: reaching
    20 degrees is not a turn of 15, reaching -5 is."""
    assert not _answered(_turn(12.0, 20.0, start_s=3.6))
    assert _answered(_turn(12.0, -5.0, start_s=3.6))


@pytest.mark.parametrize(
    ("peak", "start_s", "why"),
    [
        (10.0, 3.6, "a photo turned 50 degrees moves the mesh's yaw about this far"),
        (30.0, 0.5, "a turn long before the prompt"),
        (30.0, 5.6, "a turn after the prompt was hidden"),
    ],
)
def test_too_little_or_at_the_wrong_time_does_not_answer(peak: float, start_s: float, why: str) -> None:
    assert not _answered(_turn(2.0, peak, start_s)), why


def test_a_turn_is_judged_on_the_prompt_schedule_of_the_recording() -> None:
    """Windows are seconds after the schedule's origin: a turn at 6.0-7.2 s of the clip misses the
    window 3.0-5.5 s of a schedule that started with the clip, and answers the one of a schedule
    that started 1 s in (4.0-6.5 s)."""
    yaw = _turn(2.0, 30.0, start_s=6.0)
    assert not _answered(yaw, origin_s=0.0)
    assert _answered(yaw, origin_s=1.0)


def test_one_frame_of_mesh_jitter_is_not_a_turn() -> None:
    yaw = np.full(T.shape, 2.0)
    yaw[int(4.0 * FPS)] = 40.0
    assert not _answered(yaw)
    yaw[int(4.0 * FPS) + 1] = 38.0
    assert _answered(yaw)


def test_frames_without_a_face_are_skipped_and_no_face_answers_nothing() -> None:
    yaw = _turn(3.0, 30.0, start_s=3.6)
    yaw[::2] = np.nan  # every other frame lost: the frames left still show the turn
    assert _answered(yaw)
    assert answered_turn_prompts(T, np.full(T.shape, np.nan), WINDOW * 2, 0.0, REACT, MIN_TURN) == (False, False)


def test_the_resting_yaw_falls_back_when_nothing_came_before_the_prompt() -> None:
    """A recording that starts as the prompt appears: the frames before the reaction time, or the clip."""
    yaw = _turn(3.0, 30.0, start_s=3.6)
    late = T >= 3.0
    (answered,) = answered_turn_prompts(T[late], yaw[late], WINDOW, 0.0, REACT, MIN_TURN)
    assert answered
