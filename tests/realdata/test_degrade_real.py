"""Blink liveness and photo attacks on clips made worse as old phones and dim rooms
make them (issue 20; generators in degrade.py).

Held-out subjects only (ZJU 000011M-000019F): the degradation settings of the
blink detector (``min_close_depth``, ``noise_factor``, ``depth_fraction``,
``min_duration_s``) were chosen on subjects 000001M-000009M (``python -m
benchmarks degrade`` prints both halves).  One strength per kind, the one the
issue describes: dim and backlit with the eyes still visible (level 1), about
240 px wide with strong H.264 compression (level 1), out of focus (level 2)
and 12 frames a second (level 2).  The issue's targets are F1 >= 0.95 and a
95 % pass rate under each; the pass rate is met everywhere, F1 out of focus
and at 12 fps but not dim or small, whose F1 targets are expected failures
stating the held-out figure, with a floor below it asserted.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

import livecert
from livecert.evaluation.events import EventScore, match_events

from . import spoof_attacks
from .degrade import Frames, Kind, degrade, photo_clips
from .splits import ZJU_HELD_OUT

STRENGTHS = {Kind.DIM: 1, Kind.SMALL: 1, Kind.DEFOCUS: 2, Kind.FPS: 2}
#: Held-out F1 measured when the settings were chosen, for the expected failures (dim: 0.89,
#: 0.87 since the eyes' foreshortening is undone: 36 of 47 blinks, none false).
MEASURED_F1 = {Kind.DIM: 0.87}


@pytest.fixture(scope="module")
def held_out(data_dir: Path) -> list[tuple[int, str, Frames, list[tuple[float, float]]]]:
    """(seed, name, decoded frames, labelled blinks on the decoder's timeline) of the 20 held-out clips."""
    root = data_dir / "videos" / "zju_eyeblink"
    labels: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with open(root / "zju_blink_intervals.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            labels[row["file"]].append((int(row["cv_start"]), int(row["cv_end"])))
    every = sorted(root.glob("*/*.avi"))  # a clip's seed is its place here, as in the benchmark
    clips = [(seed, p) for seed, p in enumerate(every) if p.name[:7] in ZJU_HELD_OUT]
    assert len(clips) == 20
    out = []
    for seed, clip in clips:
        with livecert.open_source(clip) as source:
            frames = [(f.rgb, f.t_s) for f in source]
        t = [t for _, t in frames]
        out.append((seed, clip.name, frames, [(t[a], t[min(b, len(t) - 1)]) for a, b in labels[clip.name]]))
    return out


@pytest.fixture(scope="module")
def degraded(held_out: list) -> dict[Kind, tuple[EventScore, dict[str, tuple[str, ...]]]]:
    """Per kind: blink events scored against the labels, and the clips refused with their reasons."""
    out = {}
    for kind, level in STRENGTHS.items():
        score = EventScore(0, 0, 0)
        refused = {}
        for seed, name, frames, truth in held_out:
            result = livecert.verify(degrade(frames, kind, level, seed))
            score = score + match_events([(b.start_s, b.end_s) for b in result.blinks], truth)
            if not result.passed:
                refused[name] = result.reason_codes
        print(f"{kind.value} {level}: {score.to_dict()}, refused {len(refused)} of {len(held_out)}: {refused}")
        out[kind] = (score, refused)
    return out


@pytest.mark.parametrize("kind", list(STRENGTHS), ids=[k.value for k in STRENGTHS])
def test_genuine_people_pass_in_a_poor_picture(degraded: dict, kind: Kind) -> None:
    score, refused = degraded[kind]
    assert len(refused) <= 1, refused  # a pass rate of at least 95 %
    assert score.f1 >= 0.85, score.to_dict()


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(
            k,
            id=k.value,
            marks=[pytest.mark.xfail(strict=False, reason=f"held-out F1 {MEASURED_F1[k]:.2f}")]
            if k in MEASURED_F1
            else [],
        )
        for k in STRENGTHS
    ],
)
def test_blink_f1_target_in_a_poor_picture(degraded: dict, kind: Kind) -> None:
    score, _ = degraded[kind]
    assert score.f1 >= 0.95, score.to_dict()


@pytest.mark.parametrize("kind", list(STRENGTHS), ids=[k.value for k in STRENGTHS])
def test_photos_still_fail_in_a_poor_picture(data_dir: Path, kind: Kind) -> None:
    """Still and hand-held photos of held-out subjects' frames and of other people, degraded
    the same way: none may pass."""
    stills = sorted((data_dir / "photos" / "same_person" / "derived_frames").glob("zju_0000[1]*"))[::2]
    stills += sorted((data_dir / "photos" / "impostors").glob("*.jpg"))[:1]
    assert len(stills) >= 4
    assert not _photos_accepted(stills, kind, STRENGTHS[kind], seeds=(0,))


def test_photos_still_fail_in_a_darker_picture(data_dir: Path) -> None:
    """The same in a darker picture (dim level 2), where noise and H.264 make the eye region
    flicker: every held-out subject's photo and one other person's, two seeds each.  A blink
    signal from the eye crops' pixels, measured for dim video, let 2 of these 24 through
    (benchmarks/notes/degrade.md); the shipped detector must let none."""
    stills = sorted((data_dir / "photos" / "same_person" / "derived_frames").glob("zju_0000[1]*"))
    stills += sorted((data_dir / "photos" / "impostors").glob("*.jpg"))[:1]
    assert len(stills) >= 6
    assert not _photos_accepted(stills, Kind.DIM, 2, seeds=(0, 10))


def _photos_accepted(
    stills: list[Path], kind: Kind, level: int, seeds: tuple[int, ...]
) -> list[tuple[str, bool, list[tuple[float, float]]]]:
    """(photo, hand-held, blinks) of the photo videos ``verify()`` accepted; photo ``i`` is
    made with each seed ``i + offset`` of ``seeds``."""
    accepted = []
    for i, path in enumerate(stills):
        for seed, handheld, clip in photo_clips(path, (i + offset for offset in seeds)):
            result = livecert.verify(degrade(clip, kind, level, seed))
            if result.passed:
                accepted.append((path.name, handheld, [(b.start_s, b.end_s) for b in result.blinks]))
    return accepted


#: Eyelid-warped photos on a stand accepted in a poor picture (15 a kind: the held-out photos
#: of this test, 3 warp shapes; measured on 2026-12-03).  In clean video the stillness cue
#: refuses every one; after H.264 of a dim or a small, noisy picture the encoder's rendering of
#: a still picture drifts the face's image by up to 0.14 % of its width, as much as the
#: stillest live heads sway there (benchmarks/notes/spoof.md).  Dim: 3 since 2026-12-05, when
#: the apertures were corrected for the eyes' foreshortening (000013F's painted lid joined the
#: two 000017F warps; the tuning photos' 30 dim and small warps: 5 accepted before and after).
WARPS_ACCEPTED = {Kind.DIM: 3, Kind.SMALL: 2}


@pytest.fixture(scope="module")
def warps_accepted(data_dir: Path) -> dict[Kind, list[tuple[str, str]]]:
    """Photos of held-out subjects with eyelids warped shut (3 shapes, sensor noise, H.264), on
    a stand, made dim or small (level 1): (photo, shape) of those accepted, per kind."""
    stills = sorted((data_dir / "photos" / "same_person" / "derived_frames").glob("zju_0000[1]*"))
    assert len(stills) == 5
    accepted: dict[Kind, list[tuple[str, str]]] = {kind: [] for kind in WARPS_ACCEPTED}
    for seed, path in enumerate(stills):
        photo = spoof_attacks.fit(livecert.read_image_rgb(path))
        for shape in spoof_attacks.WARP_SHAPES:
            warped = list(spoof_attacks.eyelid_warp_photo(photo, seed=seed, shape=shape, noise=True, h264=True))
            for kind in WARPS_ACCEPTED:
                if livecert.verify(degrade(warped, kind, 1, seed)).passed:
                    accepted[kind].append((path.name, shape))
    print({kind.value: len(names) for kind, names in accepted.items()}, "of 15 eyelid warps on a stand accepted")
    return accepted


@pytest.mark.parametrize(
    ("kind", "most_accepted"),
    [
        pytest.param(
            kind,
            0,
            id=f"{kind.value}-target",
            marks=pytest.mark.xfail(strict=False, reason=f"{n} of 15 accepted (held out)"),
        )
        for kind, n in WARPS_ACCEPTED.items()
    ]
    + [pytest.param(kind, n, id=f"{kind.value}-measured") for kind, n in WARPS_ACCEPTED.items()],
)
def test_eyelid_warped_photos_on_a_stand_in_a_poor_picture(
    warps_accepted: dict, kind: Kind, most_accepted: int
) -> None:
    """The issue wants none of them accepted, as in clean video."""
    assert len(warps_accepted[kind]) <= most_accepted, warps_accepted[kind]


def _in_large_frame(frames: Frames, size: tuple[int, int], seed: int, at: tuple[int, int] | None = None) -> Frames:
    """The clip pasted into a larger grey frame, at ``at`` (x, y) or a place drawn from ``seed``."""
    w, h = size
    fh, fw = frames[0][0].shape[:2]
    rng = np.random.default_rng(seed)
    x0, y0 = at or (int(rng.integers(0, w - fw)), int(rng.integers(0, h - fh)))
    out = []
    for rgb, t_s in frames:
        canvas = np.full((h, w, 3), 96, np.uint8)
        canvas[y0 : y0 + fh, x0 : x0 + fw] = rgb
        out.append((canvas, t_s))
    return out


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def test_a_small_face_in_a_large_frame_is_found(held_out: list, size: tuple[int, int]) -> None:
    """A person sitting back from a webcam: each held-out subject's first clip, its face
    100-150 px wide, in a 1280x720 or 1920x1080 frame (8-12 % or 5-8 % of the width).
    MediaPipe's own detector missed every such face (NO_FACE); the full-range detector
    finds it and the mesh runs in a crop around it.  Every clip must pass with its face
    in 95 % of the frames and the labelled blinks found (held-out clean F1: 0.99)."""
    score = EventScore(0, 0, 0)
    firsts = {name[:7]: (seed, name, frames, truth) for seed, name, frames, truth in reversed(held_out)}
    for seed, name, frames, truth in firsts.values():
        result = livecert.verify(_in_large_frame(frames, size, seed))
        assert result.trace is not None
        assert result.passed and result.trace.has_face.mean() >= 0.95, (name, result.reason_codes)
        score = score + match_events([(b.start_s, b.end_s) for b in result.blinks], truth)
    print(f"{size}: {score.to_dict()}")
    assert score.f1 >= 0.95, score.to_dict()


def test_a_face_far_back_is_found_in_every_corner(held_out: list) -> None:
    """Sitting further back: each held-out subject's first clip at half size in a 1280x720
    frame (faces 50-75 px, 4-6 % of the width), in each corner.  The full-range detector sees
    the frame at 192x192 and misses such faces at many places (on the tuning clips, 10 of 56
    placements found no face at all); looking again in squares as tall as the frame finds
    them.  Every placement must pass with its face in 95 % of the frames, and the labelled
    blinks be found (F1 at least 0.95)."""
    score = EventScore(0, 0, 0)
    firsts = {name[:7]: (seed, name, frames, truth) for seed, name, frames, truth in reversed(held_out)}
    for seed, name, frames, truth in firsts.values():
        half = [(cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), t) for rgb, t in frames]
        fh, fw = half[0][0].shape[:2]
        for at in ((0, 0), (1280 - fw, 0), (0, 720 - fh), (1280 - fw, 720 - fh)):
            result = livecert.verify(_in_large_frame(half, (1280, 720), seed, at))
            assert result.trace is not None
            assert result.passed and result.trace.has_face.mean() >= 0.95, (name, at, result.reason_codes)
            score = score + match_events([(b.start_s, b.end_s) for b in result.blinks], truth)
    print(f"far back, four corners: {score.to_dict()}")
    assert score.f1 >= 0.95, score.to_dict()


@pytest.mark.parametrize("scale", [1.0, 0.5], ids=["near", "far-back"])
def test_two_small_faces_in_a_large_frame_are_counted(held_out: list, scale: float) -> None:
    """Two held-out subjects side by side in a 1280x720 frame, each face 130-145 px wide (about
    11 % of the width).  The mesh finds one of them by itself, so no crop is used, and the
    short-range detector that counted the faces saw only one: the clip passed.  While the
    tracked face is under 15 % of the width, the full-range detector counts the faces.  At
    half size (faces 4-6 % of the width) it sees neither in the whole frame: every third count
    also looks in squares of the frame (tuning pairs: 0 of 4 refused before, 4 of 4 after)."""
    firsts = list({name[:7]: frames for _, name, frames, _ in held_out}.values())
    left, right = firsts[0], firsts[1]
    if scale != 1.0:
        left, right = (
            [(cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), t) for rgb, t in clip]
            for clip in (left, right)
        )
    frames = []
    for (a, t_s), (b, _) in zip(left, right):
        canvas = np.full((720, 1280, 3), 96, np.uint8)
        canvas[200 : 200 + a.shape[0], 100 : 100 + a.shape[1]] = a
        canvas[200 : 200 + b.shape[0], 800 : 800 + b.shape[1]] = b
        frames.append((canvas, t_s))
    result = livecert.verify(frames)
    assert "MULTIPLE_FACES" in result.reason_codes, result.reason_codes
