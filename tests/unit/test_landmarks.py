"""Landmark parsing and the face mesh on a public-domain photo (skimage astronaut)."""

from __future__ import annotations

import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest

from livecert.errors import SessionStateError
from livecert.face.landmarks import FaceLandmarker, RunningMode, _Box, _distinct, _parse_landmarks, _search_squares


def test_parse_landmarks_reads_the_wire_format() -> None:
    pts = np.arange(478 * 3, dtype=np.float32).reshape(478, 3) / 1000
    raw = b"".join(
        b"\x0a\x0f" + b"\x0d" + struct.pack("<f", x) + b"\x15" + struct.pack("<f", y) + b"\x1d" + struct.pack("<f", z)
        for x, y, z in pts
    )
    np.testing.assert_array_equal(_parse_landmarks(raw), pts)


def test_parse_landmarks_refuses_other_layouts() -> None:
    assert _parse_landmarks(b"\x0a\x0f" + b"\x00" * 14) is None  # wrong length
    assert _parse_landmarks(b"\x0a\x11" + b"\x00" * 15) is None  # wrong tags


def test_image_mode_finds_478_points(astronaut: np.ndarray) -> None:
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        obs = lm.process(astronaut)
    assert obs.points is not None and obs.points.shape == (478, 3)
    assert obs.n_faces == 1
    x, y = obs.points[:, 0], obs.points[:, 1]
    assert 100 < x.mean() < 300 and 30 < y.mean() < 200  # her face, upper middle of the photo


def test_video_mode_needs_increasing_timestamps(astronaut: np.ndarray) -> None:
    with FaceLandmarker() as lm:
        lm.process(astronaut, 0.0)
        with pytest.raises(SessionStateError):
            lm.process(astronaut, 0.0)
    with pytest.raises(SessionStateError):
        lm.process(astronaut, 1.0)  # closed


_IMPORT_CHECK = """
import sys
{before}
from livecert.face.landmarks import FaceLandmarker, RunningMode
import numpy as np
with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
    lm.process(np.zeros((64, 64, 3), np.uint8))
print("pyplot loaded:", "matplotlib.pyplot" in sys.modules)
print("sounddevice loaded:", "sounddevice" in sys.modules or "_sounddevice" in sys.modules)
from mediapipe.python.solutions import drawing_utils
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
assert drawing_utils.plt.figure is plt.figure and type(plt).__name__ == "module"
print("pyplot after use:", type(drawing_utils.plt.gcf()).__name__)
from mediapipe.tasks.python.audio.core import audio_record
def outcome(get):  # the stream class, or the error's type where PortAudio is missing
    try:
        return get()
    except OSError as exc:
        return type(exc)
def real():
    import sounddevice
    return sounddevice.InputStream
print("sounddevice as if imported:", outcome(lambda: audio_record.sd.InputStream) == outcome(real))
"""


@pytest.mark.parametrize("before", ["", "import matplotlib"])
def test_mediapipe_loads_without_pyplot_or_sounddevice_and_they_still_work(before: str) -> None:
    """A fresh process: the landmarker imports neither matplotlib's pyplot nor sounddevice
    (0.5 s and 0.07 s of a cold start; livecert uses neither); mediapipe's own drawing helpers
    and microphone recorder still reach them later (or the error of importing sounddevice
    where PortAudio is missing, as here)."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_CHECK.format(before=before)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "pyplot loaded: False" in out.stdout
    assert "sounddevice loaded: False" in out.stdout
    assert "pyplot after use: Figure" in out.stdout
    assert "sounddevice as if imported: True" in out.stdout


def _pasted(image: np.ndarray, size: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    canvas = np.full((size[1], size[0], 3), 96, np.uint8)
    x0, y0 = at
    canvas[y0 : y0 + image.shape[0], x0 : x0 + image.shape[1]] = image
    return canvas


def test_a_small_face_in_a_large_frame_is_meshed_in_a_crop(astronaut: np.ndarray) -> None:
    """Video mode: the astronaut (face about 90 px wide) in a 2560x1440 frame, 3.6 % of its
    width, which MediaPipe's own short-range detector misses; the full-range detector finds it
    and the mesh, run in a crop around it, lands where it lands on the picture alone.  Image
    mode leaves small faces to enrollment's own fallback, which counts the faces too."""
    small = astronaut
    at = (1700, 300)
    big = _pasted(small, (2560, 1440), at)
    with FaceLandmarker(mode=RunningMode.IMAGE) as alone:
        expected = alone.process(small).points
    assert expected is not None
    with FaceLandmarker(mode=RunningMode.IMAGE) as still:
        assert still.process(big).points is None
    with FaceLandmarker() as lm:
        for i in range(3):
            obs = lm.process(big, i / 30)
            assert obs.points is not None and (obs.width, obs.height) == (2560, 1440)
            moved = obs.points[:, :2] - np.array(at, dtype=np.float32)
            assert float(np.median(np.hypot(*(moved - expected[:, :2]).T))) < 1.5


def test_a_small_face_moving_across_the_frame_keeps_its_crop(astronaut: np.ndarray) -> None:
    """The crop follows a small face that drifts: the astronaut crossing a 2560x1440 frame at
    8 px a frame (twice its crop's half-width in 60 frames) is meshed on every frame, where it
    is, and a still one's crop never moves."""
    expected = None
    with FaceLandmarker(mode=RunningMode.IMAGE) as alone:
        expected = alone.process(astronaut).points
    assert expected is not None
    with FaceLandmarker() as lm:
        for i in range(60):
            at = (400 + 8 * i, 300)
            obs = lm.process(_pasted(astronaut, (2560, 1440), at), i / 30)
            assert obs.points is not None, f"lost on frame {i}"
            moved = obs.points[:, :2] - np.array(at, dtype=np.float32)
            assert float(np.median(np.hypot(*(moved - expected[:, :2]).T))) < 1.5
    with FaceLandmarker() as lm:
        views = set()
        for i in range(20):
            assert lm.process(_pasted(astronaut, (2560, 1440), (1700, 300)), i / 30).points is not None
            views.add(lm._view)
        assert len(views) == 1 and None not in views


def test_a_small_face_is_found_wherever_it_sits_in_the_frame(astronaut: np.ndarray) -> None:
    """The full-range detector sees a 1280x720 frame at 192x192 and misses a face 7 % of its
    width at most places (found at 1 of 18 places in a grid before it also looked in squares as
    tall as the frame); it must be meshed on the first frame at each place tried here."""
    small = cv2.resize(astronaut, (307, 307), interpolation=cv2.INTER_AREA)  # face about 90 px
    for x in (0, 300, 600, 973):
        for y in (0, 413):
            with FaceLandmarker() as lm:
                obs = lm.process(_pasted(small, (1280, 720), (x, y)), 0.0)
            assert obs.points is not None, (x, y)
            assert x < float(obs.points[:, 0].mean()) < x + 307 and y < float(obs.points[:, 1].mean()) < y + 307


def test_search_squares_cover_the_frame_and_one_face_found_twice_counts_once() -> None:
    """The squares overlap and cover every pixel of landscape and upright frames; a face seen
    in the whole frame and in two squares is one face, two faces side by side are two."""
    for w, h in ((1280, 720), (1920, 1080), (640, 480), (720, 1280), (481, 480)):
        squares = _search_squares(w, h)
        covered = np.zeros((h, w), bool)
        for x0, y0, x1, y1 in squares:
            assert x1 - x0 == y1 - y0 == min(w, h) and 0 <= x0 and x1 <= w and 0 <= y0 and y1 <= h
            covered[y0:y1, x0:x1] = True
        assert covered.all() and len(squares) == len(set(squares)) >= 2
    assert _search_squares(500, 500) == [] and _search_squares(4000, 100) == [] and len(_search_squares(400, 100)) == 5
    same = [_Box(100, 100, 60, 70, 0.8), _Box(104, 98, 58, 72, 0.9), _Box(97, 103, 61, 69, 0.75)]
    assert _distinct(same) == [same[1]]
    apart = [*same, _Box(800, 100, 60, 70, 0.7)]
    assert len(_distinct(apart)) == 2


def test_graphs_fed_directly_give_what_process_gives(astronaut: np.ndarray) -> None:
    """The landmarker feeds MediaPipe's graphs without ``SolutionBase.process`` (which builds
    a namedtuple class per frame); forced back onto ``process`` it must see the same meshes
    and face counts on a moving face."""
    frames = [np.roll(astronaut, (3 * i, -2 * i), axis=(0, 1)) for i in range(8)]

    def run(direct: bool) -> list[tuple[np.ndarray | None, int]]:
        out = []
        with FaceLandmarker() as lm:
            if not direct:
                lm._mesh_graph._direct = lm._detector_graph._direct = False
            assert lm._mesh_graph._direct is direct
            for i, frame in enumerate(frames):
                obs = lm.process(frame, i / 30)
                out.append((obs.points, obs.n_faces))
        return out

    fed, processed = run(True), run(False)
    assert all(p is not None for p, _ in fed)
    assert [n for _, n in fed] == [n for _, n in processed] and fed[0][1] == 1
    for (a, _), (b, _) in zip(fed, processed):
        np.testing.assert_array_equal(a, b)
