"""Presentation-attack cues on synthetic landmark tracks (real-data evidence: tests/realdata/test_spoof_real.py)."""

from __future__ import annotations

import numpy as np
import pytest

from livecert.config import SpoofConfig
from livecert.liveness import spoof
from livecert.results import BlinkEvent, Cue

CFG = SpoofConfig()
N_KEPT = spoof.RIGID_POINTS.shape[0] + 8


def _face(n: int = 100, *, sway: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Times (N,) and kept landmarks (N, K, 3) of a 100 px face at 25 fps, swaying by ``sway`` px."""
    rng = np.random.default_rng(seed)
    base = np.concatenate([rng.uniform(0, 100, (N_KEPT, 2)), rng.uniform(-10, 10, (N_KEPT, 1))], axis=1)
    base[:, 0] += 100 - np.ptp(base[:, 0])  # exactly 100 px wide
    t = np.arange(n) / 25.0
    drift = sway * np.stack([np.sin(2 * np.pi * 0.3 * t), np.cos(2 * np.pi * 0.2 * t), 0 * t], axis=1)
    return t, base[None] + drift[:, None, :]


def test_a_head_that_never_moves_is_too_still() -> None:
    t, pts = _face(sway=0.0)
    cue = spoof.stillness(t, pts, (), CFG)
    assert cue.cue is Cue.STILLNESS and cue.rejects
    t, pts = _face(sway=0.5)  # half a pixel of slow sway on a 100 px face
    assert not spoof.stillness(t, pts, (), CFG).rejects


def test_stillness_ignores_landmark_jitter_and_blinks() -> None:
    t, pts = _face(sway=0.0)
    jitter = pts + np.random.default_rng(1).normal(0, 0.15, (t.shape[0], 1, 3))  # 0.15 px per frame
    assert spoof.stillness(t, jitter, (), CFG).rejects
    blink = BlinkEvent(1.5, 1.8, 0.1)
    dragged = pts.copy()
    dragged[(t > 1.5) & (t < 1.8)] += 1.0  # the mesh follows a warped lid by a pixel
    assert spoof.stillness(t, dragged, (blink,), CFG).rejects
    assert not spoof.stillness(t, dragged, (), CFG).rejects  # the same drag counted as sway


def test_cues_without_evidence_are_undecided() -> None:
    t, pts = _face(n=20)  # 0.8 s: too short for stillness
    assert spoof.stillness(t, pts, (), CFG).score is None
    assert spoof.lid_motion(t, pts, (), CFG).score is None
    assert spoof.blink_shape(t, pts, (), CFG).score is None
    assert spoof.planar_motion(pts, CFG).score is None  # the head does not turn
    assert spoof.tone(np.zeros((2, 2)), CFG).score is None


def test_a_face_flattened_during_a_blink_is_refused() -> None:
    t, pts = _face(sway=2.0)
    blink = BlinkEvent(1.0, 1.4, 0.1)
    assert not spoof.blink_shape(t, pts, (blink,), CFG).rejects
    inside = (t >= 1.0) & (t <= 1.4)
    flat = pts.copy()
    centre_y = flat[inside, :, 1].mean(axis=1, keepdims=True)
    flat[inside, :, 1] = centre_y + 0.6 * (flat[inside, :, 1] - centre_y)  # squashed to 0.6 of its height
    cue = spoof.blink_shape(t, flat, (blink,), CFG)
    assert cue.rejects and "40%" in cue.detail


@pytest.mark.parametrize(("upper_share", "rejected"), [(0.85, False), (0.5, True)])
def test_lid_motion_tells_a_lid_from_a_squeezed_eye(upper_share: float, rejected: bool) -> None:
    t, pts = _face(sway=2.0)
    blink = BlinkEvent(1.0, 1.4, 0.1)
    row = {int(k): i for i, k in enumerate(np.concatenate([spoof.RIGID_POINTS, [i for e in spoof.EYES for i in e]]))}
    for c0, c1, up, lo in spoof.EYES:  # a horizontal eye 30 px wide, lids 8 px apart, closing in the blink
        pts[:, row[c0], :2] = (pts[:, row[c0], :2] * 0) + [20 if c0 == 33 else 60, 40]
        pts[:, row[c1], :2] = (pts[:, row[c1], :2] * 0) + [50 if c0 == 33 else 90, 40]
        pts[:, row[up], :2] = pts[:, row[c0], :2] + [15, -4]
        pts[:, row[lo], :2] = pts[:, row[c0], :2] + [15, 4]
        closing = ((t >= 1.1) & (t <= 1.3))[:, None]
        pts[:, row[up], 1:2] += closing * 8 * upper_share
        pts[:, row[lo], 1:2] -= closing * 8 * (1 - upper_share)
    assert spoof.lid_motion(t, pts, (blink,), CFG).rejects is rejected


def test_assess_rejects_on_any_decided_cue_and_reports_all() -> None:
    recorder = spoof.SpoofRecorder()
    frame = np.random.default_rng(1).integers(20, 230, (240, 320, 3), dtype=np.uint8)  # a face-like spread of tones
    t, pts = _face(sway=0.0)
    mesh = np.zeros((478, 3))
    for i in range(t.shape[0]):
        kept_index = np.concatenate([spoof.RIGID_POINTS, [k for e in spoof.EYES for k in e]])
        mesh[kept_index] = pts[i]
        recorder.observe(frame, mesh.copy(), float(t[i]))
    evidence = spoof.assess(recorder, (), CFG)
    assert not evidence.passed and [c.cue for c in evidence.fired] == [Cue.STILLNESS]
    assert {c.cue for c in evidence.cues} == set(Cue)
    assert evidence.fused is not None and evidence.fused < 1.0
    assert spoof.assess(spoof.SpoofRecorder(), (), CFG).passed  # no frames: every cue undecided


def _pixel_clip(sway_px: float, lids: bool) -> spoof.SpoofRecorder:
    """A textured 'face' in a 320x240 frame, its 100 px box swaying by ``sway_px`` (slow, sub-pixel),
    with, if ``lids``, the eye regions flickering as a warped lid would."""
    import cv2

    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (240, 320)).astype(np.float32), (0, 0), 2.0)
    mesh = np.zeros((478, 3))
    mesh[:, :2] = rng.uniform([110, 70], [210, 170], (478, 2))  # a 100 px landmark box
    mesh[[33, 133, 263, 362], :2] = [[130, 100], [150, 100], [170, 100], [190, 100]]
    mesh[164, :2] = (160, 145)
    recorder = spoof.SpoofRecorder(background=False)
    for i in range(100):
        t = i / 25.0
        dx, dy = sway_px * np.sin(2 * np.pi * 0.3 * t), sway_px * np.cos(2 * np.pi * 0.2 * t)
        frame = cv2.warpAffine(texture, np.float32([[1, 0, dx], [0, 1, dy]]), (320, 240), flags=cv2.INTER_CUBIC)
        if lids:
            frame[92:108, 128:152] = frame[92:108, 168:192] = 255 * (i % 5 < 2)
        rgb = np.repeat(np.clip(frame, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
        recorder.observe(rgb, mesh + [dx, dy, 0], t)
    return recorder


@pytest.mark.parametrize(("sway_px", "lids", "rejected"), [(0.0, False, True), (0.0, True, True), (0.6, False, False)])
def test_stillness_on_the_pixels(sway_px: float, lids: bool, rejected: bool) -> None:
    """A picture still but for its lids is too still on the pixels, however its landmarks jitter;
    0.6 px of sway on a 100 px face (0.4%) is a living head."""
    recorder = _pixel_clip(sway_px, lids)
    t, points, _ = recorder.arrays()
    jittered = points + np.random.default_rng(2).normal(0, 1.0, points.shape)  # landmark jitter of a pixel
    cue = spoof.stillness(t, jittered, (), CFG, recorder.face_shift)
    assert "face image" in cue.detail and cue.rejects is rejected, cue.detail


def _rotation(axis: int, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i] = r[j, j] = np.cos(a)
    r[i, j], r[j, i] = -np.sin(a), np.sin(a)
    return r


def test_out_of_plane_turns_of_known_rotations() -> None:
    """Kabsch on every pair at once: a turn about the vertical or horizontal axis is out of the
    image plane by its angle; a roll in the image plane, a shift and a scale are not."""
    rng = np.random.default_rng(3)
    head = rng.normal(0, 30, (40, 3))
    sets = np.stack(
        [
            head,
            head @ _rotation(1, 12).T,  # yaw
            head @ _rotation(0, -7).T,  # pitch
            2.5 * (head @ _rotation(2, 40).T) + 100.0,  # roll, scaled and shifted
        ]
    )
    first, second = np.array([0, 0, 0, 1]), np.array([1, 2, 3, 2])
    turns = np.degrees(spoof._out_of_plane_turns(sets, first, second))
    assert turns.shape == (4,)
    np.testing.assert_allclose(turns[:3], [12, 7, 0], atol=1e-3)
    assert 12 < turns[3] < 19  # yaw 12 then pitch 7: about sqrt(12^2 + 7^2) = 13.9
