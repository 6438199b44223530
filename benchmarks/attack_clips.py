"""Presentation-attack clips for the suite: each attack class of issue 12, made from
photos and clips that no spoof setting was chosen on.

    python -m benchmarks suite ../shared/data [--attacks N] [--attacks-dir DIR]

The built-in manifest (:mod:`benchmarks.make_manifest`) lists these clips as
``expected=attack`` rows, one ``attack_type`` per class, so that the suite's
liveness summary gives APCER per class beside the BPCER of the genuine rows
(ISO/IEC 30107-3).  The clips are written once into a work folder outside the
repository, as lossless RGB H.264 (``libx264rgb``, crf 0, Matroska): the
frames ``verify()`` reads are exactly those the generator made, each
generator's own H.264 step included.

Classes (:data:`PHOTO_CLASSES`, and ``screen_replay``):

* ``eyelid_squash``, ``eyelid_slide``, ``eyelid_band``: a photo on a stand whose
  eyelids a warp closes (``tests/realdata/spoof_attacks.py``), with sensor
  noise and H.264; ``..._handheld``: the same moved as if held in a hand;
* ``bent_print``: a print bent and turned in 3-D in front of a room;
* ``puppet_photo``: the photo's face mesh moved by a real person's landmark
  track (a tuning ZJU clip: blinks, speech and head motion);
* ``independent_tripod``, ``independent_handheld``, ``independent_curved_print``:
  ``tests/realdata/independent_attacks.py``, written without reading the
  spoof check or the other generators (a print on a stand or in a hand whose
  eyes are cross-faded shut; a curved, turning print);
* ``turned_photo``: a still photo turned 50 or 65 degrees about its vertical axis
  and back (no eyelid warp: what blinks is the eyes' foreshortening);
* ``screen_replay``: a genuine held-out clip replayed on a simulated screen.

Held out: the photos of :data:`HELD_OUT_PHOTOS` (held-out ZJU subjects, Obama,
Lin-Manuel Miranda) and the clips of :data:`REPLAYED_CLIPS`; the spoof
thresholds were chosen on ZJU 000001M-000009M, GRID s1 and LivePortrait d0/d3
and on attacks from their photos (``SpoofConfig``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path

import av
import numpy as np

import livecert
from benchmarks.make_manifest import ATTACKS_DATASET, AttacksPlan
from livecert.face.landmarks import FaceLandmarker
from tests.realdata import independent_attacks, spoof_attacks
from tests.realdata.splits import ZJU_HELD_OUT

log = logging.getLogger(__name__)

Frames = Iterator[tuple[np.ndarray, float]]

#: Photos attacks are made from (relative to the data folder): none was used to choose a spoof setting.
HELD_OUT_PHOTOS = (
    "photos/same_person/derived_frames/zju_000011M_from_FNN_frame5.png",
    "photos/same_person/derived_frames/zju_000013F_from_FNN_frame7.png",
    "photos/same_person/derived_frames/zju_000015F_from_FNN_frame5.png",
    "photos/same_person/derived_frames/zju_000017F_from_FNN_frame5.png",
    "photos/same_person/derived_frames/zju_000019F_from_FNN_frame5.png",
    "photos/same_person/obama.jpg",
    "photos/same_person/obama2.jpg",
    "photos/same_person/lin-manuel-miranda.png",
)
#: Genuine held-out clips replayed on a screen (glob patterns under the data folder).
REPLAYED_CLIPS = tuple(
    f"videos/zju_eyeblink/*/{subject}_{take}.avi" for subject in sorted(ZJU_HELD_OUT) for take in ("FBN", "UNN")
)
#: The puppet's driver: a tuning clip (its person's own motion, landmarks from the face mesh).
PUPPET_DRIVER = "videos/zju_eyeblink/*/000001M_FNN.avi"
#: Seconds of each genuine clip that are replayed.
REPLAY_S = 5.0
#: Seeds start here: apart from the tests' seeds (0-3) on the same photos.
FIRST_SEED = 1000


def _eyelid(shape: str, handheld: bool) -> Callable[[np.ndarray, int], Frames]:
    def make(photo: np.ndarray, seed: int) -> Frames:
        return spoof_attacks.eyelid_warp_photo(photo, seed=seed, shape=shape, handheld=handheld, noise=True, h264=True)

    return make


def _bent_print(photo: np.ndarray, seed: int) -> Frames:
    return spoof_attacks.bent_print(photo, seed=seed)


def _curved(photo: np.ndarray, seed: int) -> Frames:
    return independent_attacks.curved_print(photo, seed, blink=True)


#: How far ``turned_photo`` turns the n-th photo (seeds ``FIRST_SEED + 10 n``), degrees.
TURNS_DEG = (50.0, -50.0, 65.0, -65.0)


def _turned(photo: np.ndarray, seed: int) -> Frames:
    return spoof_attacks.turned_photo(photo, seed, TURNS_DEG[(seed // 10) % len(TURNS_DEG)], turn_at_s=2.0)


#: Attack classes made from one photo: name -> generator(photo fitted to 640 px, seed).
PHOTO_CLASSES: dict[str, Callable[[np.ndarray, int], Frames]] = {
    **{f"eyelid_{shape}": _eyelid(shape, False) for shape in ("squash", "slide", "band")},
    **{f"eyelid_{shape}_handheld": _eyelid(shape, True) for shape in ("squash", "slide", "band")},
    "bent_print": _bent_print,
    "independent_tripod": independent_attacks.tripod_blinking_photo,
    "independent_handheld": independent_attacks.handheld_blinking_photo,
    "independent_curved_print": _curved,
    "turned_photo": _turned,
}
PUPPET = "puppet_photo"
REPLAY = "screen_replay"
#: Every attack class of the built-in manifest.
CLASSES = (*PHOTO_CLASSES, PUPPET, REPLAY)


def describe(plan: AttacksPlan) -> dict[str, object]:
    """How the attack clips were made, for the suite's JSON."""
    return {
        "builder": "benchmarks/attack_clips.py",
        "generators": ["tests/realdata/spoof_attacks.py", "tests/realdata/independent_attacks.py"],
        "classes": list(CLASSES),
        "photos": list(HELD_OUT_PHOTOS),
        "replayed_clips": list(REPLAYED_CLIPS),
        "puppet_driver": PUPPET_DRIVER,
        "seeds_per_photo": plan.seeds,
        "first_seed": FIRST_SEED,
        "held_out": "no spoof setting was chosen on these photos or clips",
        "folder": str(plan.root),
    }


def write_lossless(path: Path, frames: Iterable[tuple[np.ndarray, float]]) -> int:
    """Write frames as lossless RGB H.264 in Matroska, at their own timestamps (ms).

    Parameters
    ----------
    path : Path
        The ``.mkv`` to write; written as ``path`` + ``.part`` first, then renamed.
    frames : iterable of (ndarray of uint8, shape (H, W, 3), float)
        Increasing timestamps, seconds.

    Returns
    -------
    int
        Frames written.
    """
    part = path.with_name(path.name + ".part")
    n = 0
    with av.open(str(part), "w", format="matroska") as container:
        stream = container.add_stream("libx264rgb", rate=1000)
        stream.pix_fmt = "rgb24"
        stream.options = {"crf": "0", "preset": "veryfast", "x264-params": "threads=1"}
        stream.time_base = Fraction(1, 1000)
        last = -1
        for rgb, t_s in frames:
            if n == 0:
                stream.height, stream.width = rgb.shape[:2]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = max(last + 1, round(t_s * 1000))
            frame.time_base = Fraction(1, 1000)
            last = frame.pts
            container.mux(stream.encode(frame))
            n += 1
        container.mux(stream.encode(None))
    part.replace(path)
    return n


def _first_seconds(path: Path, seconds: float) -> list[tuple[np.ndarray, float]]:
    with livecert.open_source(path) as source:
        return [(f.rgb, f.t_s) for f in source if f.t_s < seconds]


def _driver_track(data_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Face mesh per frame of :data:`PUPPET_DRIVER`: (points (N, 478, 3), times (N,)), None if missing."""
    found = sorted(data_dir.glob(PUPPET_DRIVER))
    if not found:
        return None
    frames = _first_seconds(found[0], 6.0)
    points, times = [], []
    with FaceLandmarker() as marker:
        for rgb, t_s in frames:
            obs = marker.process(rgb, t_s)
            points.append(obs.points if obs.points is not None else np.full((478, 3), np.nan, np.float32))
            times.append(t_s)
    return np.stack(points), np.array(times)


def _replay(clip: Path, seed: int) -> Frames:
    return spoof_attacks.screen_replay(_first_seconds(clip, REPLAY_S), seed=seed)


def attack_rows(data_dir: Path, plan: AttacksPlan) -> list[dict[str, str]]:
    """Attack clips of every class (module docstring), written under ``plan.root`` if missing.

    Parameters
    ----------
    data_dir : Path
        The shared data folder.
    plan : AttacksPlan

    Returns
    -------
    list of dict
        Manifest rows (absolute clip paths), ``expected=attack`` with the class as ``attack_type``.
    """
    folder = plan.root / ATTACKS_DATASET
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    track: tuple[np.ndarray, np.ndarray] | None = None

    def add(name: str, attack_type: str, make: Callable[[], Iterable[tuple[np.ndarray, float]]]) -> None:
        """One row; its clip made by ``make()`` unless already written."""
        path = folder / f"{name}.mkv"
        if not path.is_file():
            n = write_lossless(path, make())
            log.info("wrote %s (%d frames)", path, n)
        rows.append({"clip": str(path), "mode": "blink", "expected": "attack", "attack_type": attack_type})

    photos = [p for p in HELD_OUT_PHOTOS if (data_dir / p).is_file()]
    for missing in sorted(set(HELD_OUT_PHOTOS) - set(photos)):
        log.warning("attack photo %s is missing, skipped", missing)
    for i, rel in enumerate(photos):
        photo = spoof_attacks.fit(livecert.read_image_rgb(data_dir / rel))  # even sizes, as H.264 needs
        stem = Path(rel).stem
        for k in range(plan.seeds):
            seed = FIRST_SEED + 10 * i + k
            for attack_type, generator in PHOTO_CLASSES.items():
                add(f"{attack_type}-{stem}-{seed}", attack_type, partial(generator, photo, seed))
            if track is None:
                track = _driver_track(data_dir)
            if track is not None:
                mesh = spoof_attacks.photo_mesh(photo)
                add(f"{PUPPET}-{stem}-{seed}", PUPPET, partial(spoof_attacks.puppet_photo, photo, mesh, *track, seed))
    for i, pattern in enumerate(REPLAYED_CLIPS):
        found = sorted(data_dir.glob(pattern))
        if not found:
            log.warning("replayed clip %s is missing, skipped", pattern)
            continue
        for k in range(plan.seeds):
            seed = FIRST_SEED + 10 * i + k
            add(f"{REPLAY}-{found[0].stem}-{seed}", REPLAY, partial(_replay, found[0], seed))
    return rows
