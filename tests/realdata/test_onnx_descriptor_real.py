"""The ONNX descriptor against dlib's on the faces of the real data.

Every photo (every face found in it, up to three) and two frames of every
video (the first and the first at or after 0.5 s) are aligned once; both backends
describe the same chip.  Checked: the largest difference of any component,
and that the accept/reject decision at the default threshold is the same for
every deepface photo pair and for every video against every photo (the
video's two frames pooled by ``template_distance``, as ``match_faces`` does).
The pairs of ``test_matching_real.py`` use the descriptors of the frames
``verify()`` chooses; once ONNX Runtime is the default backend that test
checks them directly.  This one takes about 25 s.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from livecert.config import MatchConfig
from livecert.face.landmarks import FaceLandmarker, RunningMode
from livecert.identity.embedding import DlibEmbedder, align_face, mesh_to_five, template_distance
from livecert.identity.onnx_embedder import OnnxEmbedder
from livecert.io.images import read_image_rgb
from livecert.io.sources import open_source

pytest.importorskip("onnxruntime")

MAX_ABS_DIFF = 1e-4
VIDEO_FRAME_TIMES_S = (0.0, 0.5)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
VIDEO_SUFFIXES = {".avi", ".mpg", ".mp4"}


@dataclass
class Faces:
    """Both backends' descriptors: ``photos[rel]`` (largest face first) and ``videos[rel]`` (its frames)."""

    photos: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    videos: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def all(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [p for faces in (*self.photos.values(), *self.videos.values()) for p in faces]


def video_frames(path: Path) -> list[np.ndarray]:
    """The first frame and the first one at or after each later time in ``VIDEO_FRAME_TIMES_S``."""
    wanted = list(VIDEO_FRAME_TIMES_S)
    out = []
    with open_source(path) as source:
        for frame in source:
            if frame.t_s + 1e-6 >= wanted[0] or not out:
                out.append(frame.rgb)
                wanted.pop(0)
                if not wanted:
                    break
    return out


@pytest.fixture(scope="module")
def faces(data_dir: Path) -> Faces:
    dlib_emb, onnx_emb = DlibEmbedder(), OnnxEmbedder(use_cache=False)

    def both(rgb: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        chip = align_face(rgb, mesh_to_five(points))
        return dlib_emb.embed(chip), onnx_emb.embed(chip)

    out = Faces()
    photos = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    videos = sorted(p for p in (data_dir / "videos").rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        for path in photos:
            rgb = read_image_rgb(path)
            out.photos[path.relative_to(data_dir).as_posix()] = [both(rgb, m) for m in lm.process(rgb).all_points]
        for path in videos:
            pairs = []
            for rgb in video_frames(path):
                obs = lm.process(rgb)
                if obs.points is not None:
                    pairs.append(both(rgb, obs.points))
            out.videos[path.relative_to(data_dir).as_posix()] = pairs
    return out


def test_every_face_has_the_same_descriptor(faces: Faces) -> None:
    assert len(faces.photos) >= 45 and len(faces.videos) >= 70
    assert sum(1 for faces_ in faces.videos.values() if len(faces_) == 2) >= 70
    pairs = faces.all()
    diffs = np.array([float(np.abs(a - b).max()) for a, b in pairs])
    assert len(pairs) >= 180
    assert diffs.max() < MAX_ABS_DIFF, f"largest difference {diffs.max():.2e}"


def test_same_decisions_on_the_deepface_pairs(faces: Faces, data_dir: Path) -> None:
    threshold = MatchConfig().threshold
    with open(data_dir / "pairs/deepface/master.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300
    differ = []
    for row in rows:
        (a_dlib, a_onnx), (b_dlib, b_onnx) = (faces.photos[f"pairs/deepface/{row[k]}"][0] for k in ("file_x", "file_y"))
        d_dlib = float(np.linalg.norm(a_dlib - b_dlib.astype(np.float64)))
        d_onnx = float(np.linalg.norm(a_onnx - b_onnx.astype(np.float64)))
        if (d_dlib <= threshold) != (d_onnx <= threshold):
            differ.append((row["file_x"], row["file_y"], d_dlib, d_onnx))
    assert differ == []


def test_same_decisions_on_video_photo_pairs(faces: Faces) -> None:
    threshold = MatchConfig().threshold
    compared, differ = 0, []
    for video, frames in faces.videos.items():
        if not frames:
            continue
        probe_dlib, probe_onnx = (np.stack([f[i] for f in frames]) for i in (0, 1))
        for photo, photo_faces in faces.photos.items():
            if not photo_faces:
                continue
            d_dlib = template_distance(probe_dlib, photo_faces[0][0])[0]
            d_onnx = template_distance(probe_onnx, photo_faces[0][1])[0]
            compared += 1
            if (d_dlib <= threshold) != (d_onnx <= threshold):
                differ.append((video, photo, d_dlib, d_onnx))
    assert compared > 3000
    assert differ == []
