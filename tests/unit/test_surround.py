"""The held-picture cue on synthetic scenes (real-data evidence: tests/realdata/test_spoof_real.py)."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from livecert.config import SpoofConfig
from livecert.errors import InputError
from livecert.liveness.surround import SurroundRecorder, held_picture, room_motion_at, room_motion_of
from livecert.results import Cue

CFG = SpoofConfig()
W, H, FACE = 640, 480, 100
RNG = np.random.default_rng(7)


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    """Blurred noise, RGB uint8 of shape (h, w, 3): corners everywhere."""
    noise = np.random.default_rng(seed).uniform(0, 255, (h, w)).astype(np.float32)
    grey = np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 3 - 255, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


#: A stand-in mesh: 478 points inside a 100 x 130 px box at the origin, the eye corners at 40 % down.
MESH = np.concatenate([RNG.uniform([0, 0], [FACE, 130], (478, 2)), np.zeros((478, 1))], axis=1)
MESH[[0, 1], :2] = [[0, 0], [FACE, 130]]  # the box's corners, exactly
MESH[[33, 263], 1] = 52


def _scene(kind: str, seconds: float = 5.0) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """Frames, meshes and times at 25 fps of a face that sways 6 px.

    ``picture``: a 300 px print carrying the face moves over a still room.
    ``head``: only the face moves; beside it is the still room.
    ``camera``: everything moves together (a hand-held phone turning).
    ``passer_by``: the head keeps still in front of the still room while a sharper, more
    contrasted pattern (someone behind) slides 2 px a frame across the room's left side.
    """
    still, paper = _texture(H, W, 1), _texture(300, 300, 2)
    shirt = np.repeat(_sharp_noise(H, 2 * W, 3)[..., None], 3, axis=2)
    room = still
    for i in range(int(seconds * 25)):
        t = i / 25
        dx, dy = 6 * np.sin(2 * np.pi * 0.7 * t), 3 * np.sin(2 * np.pi * 0.45 * t)
        if kind == "passer_by":
            dx = dy = 0.0
            room = still.copy()
            room[:, :140] = shirt[:, 2 * i : 2 * i + 140]
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        frame = room.copy()
        if kind == "picture":
            frame[90:390, 170:470] = paper
            frame = np.where(
                _moved(np.pad(np.ones((300, 300), bool), ((90, 90), (170, 170))), shift)[..., None],
                cv2.warpAffine(frame, shift, (W, H)),
                room,
            )
        elif kind in ("head", "passer_by"):
            frame[175:305, 270:370] = paper[:130, :100]
            face = _moved(np.pad(np.ones((130, 100), bool), ((175, 175), (270, 270))), shift)
            frame = np.where(face[..., None], cv2.warpAffine(frame, shift, (W, H)), room)
        else:
            frame[175:305, 270:370] = paper[:130, :100]
            frame = cv2.warpAffine(frame, shift, (W, H), borderMode=cv2.BORDER_REFLECT)
        yield frame, MESH + [270 + dx, 175 + dy, 0], t


def _sharp_noise(h: int, w: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).uniform(0, 255, (h, w)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 1.0) * 8 - 900, 0, 255).astype(np.uint8)


def _moved(mask: np.ndarray, shift: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(mask.astype(np.uint8), shift, (W, H), flags=cv2.INTER_NEAREST).astype(bool)


def _cue(kind: str):  # type: ignore[no-untyped-def]
    recorder = SurroundRecorder()
    for frame, points, t in _scene(kind):
        recorder.observe(frame, points, t)
    return held_picture(recorder.pairs(), CFG)


def test_a_picture_moving_over_a_still_room_is_held() -> None:
    cue = _cue("picture")
    assert cue.cue is Cue.HELD_PICTURE and cue.rejects
    assert cue.score is not None and cue.score < 0.1


def test_a_head_moving_in_front_of_a_still_room_is_not() -> None:
    cue = _cue("head")
    assert cue.score is not None and cue.score > 0.9 and not cue.rejects


def test_a_camera_moving_everything_together_is_undecided() -> None:
    assert _cue("camera").score is None


def test_someone_moving_behind_a_still_head_is_not_taken_for_the_room() -> None:
    # The pattern's corners are the room's strongest; were they all the room's points, the
    # still points beside the still face would "follow the face" against a moving room.
    cue = _cue("passer_by")
    assert not cue.rejects, cue.detail


def test_the_clip_says_whether_the_camera_was_still() -> None:
    # Columns: still room points; still camera (motion, with face, with room); moving camera (the same).
    row_still_room = [3, 0.05, 0, 30, 0.0, 30, 0]
    row_no_still_point = [0, 0.05, 0, 30, 0.0, 30, 0]
    still = held_picture(np.array([row_still_room] * 4 + [row_no_still_point] * 2), CFG)
    assert still.score == 1.0 and "still camera" in still.detail
    moving = held_picture(np.array([row_still_room] * 2 + [row_no_still_point] * 4), CFG)
    assert moving.score is None  # the face did not move against a moving camera's room


def test_a_turning_camera_moves_the_room_by_one_homography() -> None:
    # Far from the face the room moves one way, beside it another: one turn of the camera.
    turn = np.array([[1.02, -0.03, 4.0], [0.03, 1.02, -3.0], [1e-4, 0.0, 1.0]])
    points = RNG.uniform(0, 400, (40, 2))
    moved = cv2.perspectiveTransform(points[None], turn)[0] - points
    at = np.array([[200.0, 200.0], [380.0, 20.0]])
    expected = cv2.perspectiveTransform(at[None], turn)[0] - at
    np.testing.assert_allclose(room_motion_at(points, moved, at, 1.0), expected, atol=0.05)
    assert np.linalg.norm(expected[0] - expected[1]) > 3  # one translation could not fit both


def test_without_a_still_room_or_a_homography_the_largest_group_moves() -> None:
    walking = RNG.normal(0.0, 0.1, (70, 2)) + [4.0, 0.0]
    turning = RNG.normal(0.0, 0.1, (50, 2)) + [-2.0, 1.0]
    np.testing.assert_allclose(room_motion_of(np.concatenate([turning, walking]), 1.0), [4, 0], atol=0.1)
    scattered = np.array([[-3.0, 2.0], [2.0, -3.0], [3.0, 3.0]])
    np.testing.assert_allclose(room_motion_of(scattered, 1.0), [2, 2])  # no group: the median


def test_a_face_filling_the_frame_is_not_measured() -> None:
    recorder = SurroundRecorder()
    big = MESH * [3.2, 3.2, 1]  # 320 px: half the frame's width
    for frame, _, t in _scene("picture", seconds=2.0):
        recorder.observe(frame, big, t)
    assert recorder.pairs().shape == (0, 7)
    assert held_picture(recorder.pairs(), CFG).score is None


@pytest.mark.parametrize("field", ["held_picture_threshold", "min_surround_motion"])
def test_held_picture_settings_are_checked(field: str) -> None:
    with pytest.raises(InputError, match=field):
        SpoofConfig(**{field: 2.0})
