"""MediaPipe face mesh: 478 landmarks with irises, and a face count.

This is the only module that imports mediapipe.  Nothing is downloaded: the
face mesh and face detector models ship inside the ``mediapipe`` wheel.

Two running modes, as in MediaPipe Tasks:

* ``RunningMode.VIDEO`` tracks one face from frame to frame (the detector
  runs only when tracking is lost); timestamps must increase.  A separate
  short-range face detector counts the faces in view every
  ``LandmarkConfig.face_count_interval_s`` so that a second person is noticed.
* ``RunningMode.IMAGE`` treats every picture on its own (enrollment photos)
  and finds up to ``max_faces`` meshes.

The face mesh finds faces with MediaPipe's short-range detector, which sees
the whole frame at 128x128 and misses a face narrower than about a tenth of
the frame (a person sitting back from a 1280x720 webcam).  In video mode,
when it finds no face, a full-range detector looks for one (at most every
``LandmarkConfig.face_count_interval_s``), in the whole frame and then in
overlapping squares as tall as the frame; a small face it finds is meshed in
a square crop about :data:`SMALL_FACE_CROP` face widths wide, which follows
the face when it drifts (:data:`SMALL_FACE_DRIFT`).  Image mode does not:
enrollment has its own fallback (:func:`livecert.identity.detection.find_face`),
which also counts the faces.
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import math
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from livecert.arrays import FloatArray, Image
from livecert.config import LandmarkConfig
from livecert.errors import ErrorCode, ModelError, SessionStateError, not_loaded

N_LANDMARKS = 478
#: A face the full-range detector finds narrower than this share of the frame's width is
#: meshed in a crop (the short-range detector missed a 120 px face at 1280 px, 9 %, and
#: found it at 960 px, 12.5 %); a wider face the mesh missed is not looked for again.
SMALL_FACE_SHARE = 0.15
#: Side of the crop around a small face, in face widths: the face fills a fifth of it.
SMALL_FACE_CROP = 5.0
#: A small face tracked in its crop may drift this many face widths from the crop's centre
#: before the crop moves after it (a still face never moves its crop).
SMALL_FACE_DRIFT = 1.0
#: While a small face is tracked, every this many face counts also look in the squares of
#: :func:`_search_squares` for a second small face the whole-frame detector misses.
SQUARE_COUNT_EVERY = 3


class _Box(NamedTuple):
    """A detected face in frame pixels."""

    x: float
    y: float
    width: float
    height: float
    score: float


class RunningMode(enum.Enum):
    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class FaceObservation:
    """Landmarks of the tracked face in one frame.

    Attributes
    ----------
    points : ndarray of float32, shape (478, 3), or None
        ``x, y`` in pixels of the frame, ``z`` (relative depth) in the same
        pixel scale; None when no face was found.
    n_faces : int
        Faces counted in the frame, or -1 when no count was made this frame
        (video mode counts at intervals).
    width, height : int
        Frame size in pixels.
    all_points : tuple of ndarray of float32, shape (478, 3)
        In image mode, the mesh of every face found (largest first).
    """

    points: FloatArray | None
    n_faces: int
    width: int
    height: int
    all_points: tuple[FloatArray, ...] = ()


_quiet_lock = threading.Lock()
_quiet_users = 0
_saved_stderr: int | None = None
_held_stderr: BinaryIO | None = None

#: What MediaPipe's native code writes to fd 2 on start-up, dropped by
#: :func:`_quiet_native_stderr`: glog / absl lines below error
#: (``I0000 00:00:1733.1 123 file.cc:114] ...``), TFLite's ``INFO:`` lines and
#: absl's note about its own initialisation.
NATIVE_NOISE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.+-]+:\d+\] "
    rb"|INFO: |WARNING: All log messages before absl::InitializeLog\(\) is called)"
)


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Hold back C++ log lines (TFLite / absl / glog) written straight to fd 2.

    File descriptor 2 belongs to the whole process, so threads share one
    redirection: the first to enter points it at a temporary file, the last
    to leave puts the original back (two threads each saving and restoring
    it could leave it redirected for good) and writes back every line held
    that is not :data:`NATIVE_NOISE`, so that another thread's log line,
    or a native error, is delayed, never lost.
    """
    global _quiet_users, _saved_stderr, _held_stderr
    with _quiet_lock:
        if _quiet_users == 0:
            _saved_stderr, _held_stderr = _redirect_stderr()
        _quiet_users += 1
    try:
        yield
    finally:
        held = None
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0 and _saved_stderr is not None:
                with contextlib.suppress(ValueError, OSError):
                    sys.stderr.flush()  # Python's own buffered lines belong to the window too
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = None
                held, _held_stderr = _held_stderr, None
        if held is not None:  # outside the lock: a slow stderr must not stall other threads
            _write_back(held)


def _redirect_stderr() -> tuple[int | None, BinaryIO | None]:
    """Point fd 2 at a temporary file (at /dev/null if none can be made).

    Returns a copy of the old fd 2 (None without a usable stderr) and the
    file now behind fd 2 (None for /dev/null).
    """
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to hold back
        return None, None
    with contextlib.suppress(ValueError, OSError):
        sys.stderr.flush()
    try:
        held: BinaryIO | None = tempfile.TemporaryFile()
    except OSError:
        held = None
    try:
        if held is not None:
            os.dup2(held.fileno(), 2)
        else:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
    except OSError:
        os.close(saved)
        if held is not None:
            held.close()
        return None, None
    return saved, held


def _write_back(held: BinaryIO) -> None:
    """Write the lines ``held`` caught that are not native noise to fd 2, then close it."""
    with held:
        held.seek(0)
        kept = b"".join(line for line in held if not NATIVE_NOISE.match(line))
    while kept:
        try:
            kept = kept[os.write(2, kept) :]
        except OSError:
            return


class _Deferred(ModuleType):
    """Stands in for a module while mediapipe loads; imports the real one when used."""

    def __getattr__(self, attr: str) -> object:
        if sys.modules.get(self.__name__) is self:  # still standing in: nothing to defer to yet
            raise AttributeError(f"{self.__name__}.{attr} is not available while mediapipe loads")
        return getattr(importlib.import_module(self.__name__), attr)


#: Modules ``import mediapipe`` imports that livecert never uses: matplotlib's pyplot (for
#: mediapipe's drawing helpers, about 0.5 s) and sounddevice (for its audio tasks' microphone,
#: which loads PortAudio: about 0.07 s of a cold ``livecert verify``).
_UNUSED_BY_LIVECERT = ("matplotlib.pyplot", "sounddevice")


@contextlib.contextmanager
def _without_unused_modules() -> Iterator[None]:
    """Let ``import mediapipe`` skip importing modules livecert does not use.

    While mediapipe loads, stand-ins take the place of ``_UNUSED_BY_LIVECERT``
    (and of ``matplotlib`` for pyplot); afterwards they leave ``sys.modules``,
    so any later import gets the real modules, and mediapipe's code reaches
    them through the stand-in the first time it uses them.  Nothing is stood
    in for once mediapipe is loaded, nor for a module already imported.
    """
    stand_ins: dict[str, ModuleType] = {}
    if "mediapipe" not in sys.modules:
        for name in _UNUSED_BY_LIVECERT:
            if name not in sys.modules:
                stand_ins[name] = _Deferred(name)
        if "matplotlib.pyplot" in stand_ins and "matplotlib" not in sys.modules:
            stand_ins["matplotlib"] = package = _Deferred("matplotlib")
            package.pyplot = stand_ins["matplotlib.pyplot"]  # type: ignore[attr-defined]
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


def _import_mediapipe() -> ModuleType:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with _quiet_native_stderr(), _without_unused_modules():
            import mediapipe
    except ImportError as exc:
        raise ModelError(not_loaded("mediapipe", exc, "pip install livecert (with Python 3.9-3.12)")) from None
    mp: ModuleType = mediapipe
    return mp


def _packet_getter() -> ModuleType:
    """mediapipe's packet getters (mediapipe is loaded by then)."""
    return importlib.import_module("mediapipe.python.packet_getter")


class _Graph:
    """One MediaPipe solution's graph, fed a frame and read back without ``SolutionBase.process``.

    ``process`` builds a new ``namedtuple`` class on each call and parses
    every output proto, which the landmarker then serialised again to read
    the points; this feeds the graph's single image stream the same packet at
    the same simulated timestamps and reads the one output stream it needs
    (the meshes as serialised protos).  It uses the solution's private
    attributes (mediapipe 0.10.21, pinned in ``constraints.txt``); where they
    are missing it goes through ``process``.
    """

    def __init__(self, solution: Any, output: str) -> None:
        self.solution = solution
        self.output = output
        inputs = getattr(solution, "_input_stream_type_info", None)
        self._direct = (
            isinstance(inputs, dict)
            and len(inputs) == 1
            and isinstance(getattr(solution, "_graph_outputs", None), dict)
            and hasattr(solution, "_graph")
            and hasattr(solution, "_make_packet")
            and isinstance(getattr(solution, "_simulated_timestamp", None), int)
        )
        self._stream: str = ""
        self._type: Any = None
        if self._direct and inputs:
            self._stream, self._type = next(iter(inputs.items()))

    def messages(self, rgb: Image) -> list[Any]:
        """The output stream's protos (a list of messages) for one RGB frame; [] when none."""
        if not self._direct:
            return list(getattr(self.solution.process(rgb), self.output) or [])
        packet = self._run(rgb)
        return [] if packet is None else list(_packet_getter().get_proto_list(packet))

    def serialized(self, rgb: Image) -> list[bytes]:
        """The output stream's protos, each serialised, for one RGB frame; [] when none."""
        if not self._direct:
            return [m.SerializeToString() for m in getattr(self.solution.process(rgb), self.output) or []]
        packet = self._run(rgb)
        if packet is None:
            return []
        raw = importlib.import_module("mediapipe.python._framework_bindings._packet_getter")
        return list(raw._get_serialized_proto_list(packet))

    def _run(self, rgb: Image) -> Any:
        """Feed one frame as ``SolutionBase.process`` does; the output packet, or None."""
        s = self.solution
        s._graph_outputs.clear()
        s._simulated_timestamp += 33333  # as process() does: 30 frames a second
        packet = s._make_packet(self._type, rgb).at(s._simulated_timestamp)
        s._graph.add_packet_to_input_stream(stream=self._stream, packet=packet)
        s._graph.wait_until_idle()
        out = s._graph_outputs.get(self.output)
        return None if out is None or out.is_empty() else out


class FaceLandmarker:
    """Face mesh landmarks for a stream of frames or for single images.

    Parameters
    ----------
    config : LandmarkConfig
    mode : RunningMode
    max_faces : int
        Meshes to find in image mode (video mode tracks exactly one).

    Use as a context manager; ``close()`` frees the MediaPipe graphs.
    """

    def __init__(
        self,
        config: LandmarkConfig | None = None,
        *,
        mode: RunningMode = RunningMode.VIDEO,
        max_faces: int = 3,
    ) -> None:
        self.config = config or LandmarkConfig()
        self.mode = mode
        mp = _import_mediapipe()
        with _quiet_native_stderr():
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=mode is RunningMode.IMAGE,
                max_num_faces=1 if mode is RunningMode.VIDEO else max_faces,
                refine_landmarks=True,
                min_detection_confidence=self.config.min_detection_confidence,
                min_tracking_confidence=self.config.min_tracking_confidence,
            )
            self._detector = mp.solutions.face_detection.FaceDetection(
                model_selection=0, min_detection_confidence=self.config.face_count_min_confidence
            )
            self._mesh_graph = _Graph(self._mesh, "multi_face_landmarks")
            self._detector_graph = _Graph(self._detector, "detections")
            # The graphs open their calculators (which log) on their own threads; wait for that.
            for solution in (self._mesh, self._detector):
                graph = getattr(solution, "_graph", None)
                if graph is not None:
                    graph.wait_until_idle()
        self._small_counts = 0  # face counts made while a small face was tracked
        self._far_detector: _Graph | None = None  # full-range detector, created when a face is first missed
        self._view: tuple[int, int, int, int] | None = None  # crop (x0, y0, x1, y1) a small face is tracked in
        self._warm = False
        self._detector_warm = False
        self._last_t = -math.inf
        self._last_count_t = -math.inf
        self._last_search_t = -math.inf
        self._closed = False

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._mesh.close()
            self._detector.close()
            if self._far_detector is not None:
                self._far_detector.solution.close()
            self._closed = True

    def process(self, rgb: Image, t_s: float | None = None) -> FaceObservation:
        """Find the face mesh in one RGB frame.

        Parameters
        ----------
        rgb : ndarray of uint8, shape (H, W, 3)
        t_s : float
            Frame time; required and strictly increasing in video mode.

        Returns
        -------
        FaceObservation
        """
        if self._closed:
            raise SessionStateError("FaceLandmarker.process() called after close()")
        if self.mode is RunningMode.VIDEO:
            if t_s is None or not t_s > self._last_t:
                raise SessionStateError(
                    f"video mode needs increasing timestamps: got {t_s} after {self._last_t}",
                    code=ErrorCode.TIMESTAMP_NOT_INCREASING,
                )
            self._last_t = t_s
        h, w = rgb.shape[:2]
        meshes = self._meshes(rgb, self._view)
        if meshes and self._view is not None:
            self._view = _followed(self._view, meshes[0], w, h)
        elif self._view is not None:  # the small face left its crop
            self._view = None
            meshes = self._meshes(rgb, None)
        if not meshes and self.mode is RunningMode.VIDEO and self._may_search(t_s):
            view = self._small_face_view(rgb)
            if view is not None:
                meshes = self._meshes(rgb, view)
                if meshes:
                    self._view = view
        points = meshes[0] if meshes else None

        n_faces = -1
        if self.mode is RunningMode.IMAGE:
            n_faces = max(len(meshes), self._count_faces(rgb))
        elif t_s is not None and (t_s - self._last_count_t >= self.config.face_count_interval_s or points is None):
            self._last_count_t = t_s
            small = points is not None and float(np.ptp(points[:, 0])) < SMALL_FACE_SHARE * w
            n_faces = max(1 if points is not None else 0, self._count_faces(rgb, small_face=small))
        return FaceObservation(points, n_faces, w, h, tuple(meshes))

    def _meshes(self, rgb: Image, view: tuple[int, int, int, int] | None) -> list[FloatArray]:
        """Meshes found in ``rgb`` (or in its crop ``view``), in frame pixels, widest first."""
        x0, y0 = (0, 0) if view is None else view[:2]
        image = rgb if view is None else np.ascontiguousarray(rgb[view[1] : view[3], view[0] : view[2]])
        h, w = image.shape[:2]
        if not self._warm:
            # The landmark model's delegates are created (and log) the first time a face is seen.
            with _quiet_native_stderr():
                faces = self._mesh_graph.serialized(image)
            self._warm = bool(faces)
        else:
            faces = self._mesh_graph.serialized(image)
        meshes = [self._to_points(face, w, h) for face in faces]
        if view is not None:
            for points in meshes:
                points[:, 0] += x0
                points[:, 1] += y0
        meshes.sort(key=lambda p: -float(np.ptp(p[:, 0])))
        return meshes

    def _may_search(self, t_s: float | None) -> bool:
        """Look for a small face now?  At most every ``face_count_interval_s`` of video."""
        if t_s is None:
            return False
        if t_s - self._last_search_t < self.config.face_count_interval_s:
            return False
        self._last_search_t = t_s
        return True

    def _small_face_view(self, rgb: Image) -> tuple[int, int, int, int] | None:
        """A square crop around the widest face the full-range detector finds, if that face is
        small.  The detector sees the whole frame at 192x192 and finds a face of 5-9 % of a
        1280x720 frame's width at few places in it; where it finds none, it looks again in
        overlapping squares as tall as the frame (:func:`_search_squares`), where such a face looks
        almost twice as large to it."""
        h, w = rgb.shape[:2]
        boxes = self._far_boxes(rgb, (0, 0, w, h)) or self._far_boxes_in_squares(rgb)
        if not boxes:
            return None
        x, y, face_w, face_h, _ = max(boxes, key=lambda b: b.width)
        if face_w >= SMALL_FACE_SHARE * w or face_w <= 0:
            return None
        side = int(min(SMALL_FACE_CROP * max(face_w, face_h), w, h))
        cx, cy = x + face_w / 2, y + face_h / 2
        x0 = int(min(max(cx - side / 2, 0), w - side))
        y0 = int(min(max(cy - side / 2, 0), h - side))
        return (x0, y0, x0 + side, y0 + side)

    def _far_boxes(self, rgb: Image, region: tuple[int, int, int, int]) -> list[_Box]:
        """The full-range detector's faces in ``region`` (x0, y0, x1, y1) of ``rgb``."""
        x0, y0, x1, y1 = region
        whole = region == (0, 0, rgb.shape[1], rgb.shape[0])
        return _boxes(self._far_detections(rgb if whole else np.ascontiguousarray(rgb[y0:y1, x0:x1])), region)

    def _far_boxes_in_squares(self, rgb: Image) -> list[_Box]:
        """The full-range detector's faces in each of :func:`_search_squares`; one face may be
        found in two squares that overlap (:func:`_distinct`)."""
        h, w = rgb.shape[:2]
        return [box for square in _search_squares(w, h) for box in self._far_boxes(rgb, square)]

    def _far_detections(self, rgb: Image) -> list[Any]:
        """The full-range detector's detections, the detector made on first use."""
        if self._far_detector is None:
            mp = _import_mediapipe()
            with _quiet_native_stderr():  # its delegates log on first use
                solution = mp.solutions.face_detection.FaceDetection(
                    model_selection=1, min_detection_confidence=self.config.min_detection_confidence
                )
                self._far_detector = _Graph(solution, "detections")
                return self._far_detector.messages(rgb)
        return self._far_detector.messages(rgb)

    def _count_faces(self, rgb: Image, *, small_face: bool = False) -> int:
        """Faces in view.  While the tracked face is small (``small_face``, or tracked in a
        crop) the full-range detector counts them: the short-range one misses faces that small,
        a second person's among them; every :data:`SQUARE_COUNT_EVERY` counts it also looks in
        the squares of :func:`_search_squares`, where a second face of 4-6 % of the width is found
        that the whole frame hides.  A face grown large enough for the mesh's own detector (the
        person came closer, or turned back) ends the crop."""
        h, w = rgb.shape[:2]
        if self._view is not None or small_face:
            faces = self._far_boxes(rgb, (0, 0, w, h))
            if self._view is not None and any(f.width >= SMALL_FACE_SHARE * w for f in faces):
                self._view = None
            if self._small_counts % SQUARE_COUNT_EVERY == 0:
                faces = _distinct(faces + self._far_boxes_in_squares(rgb))
            self._small_counts += 1
        elif not self._detector_warm:
            with _quiet_native_stderr():
                faces = _boxes(self._detector_graph.messages(rgb), (0, 0, w, h))
            self._detector_warm = True
        else:
            faces = _boxes(self._detector_graph.messages(rgb), (0, 0, w, h))
        widths = [f.width for f in faces if f.score >= self.config.face_count_min_confidence]
        if not widths:
            return 0
        largest = max(widths)
        return sum(1 for width in widths if width >= self.config.face_count_min_relative_size * largest)

    @staticmethod
    def _to_points(face: bytes, w: int, h: int) -> FloatArray:
        """A serialised ``NormalizedLandmarkList`` as points in pixels."""
        pts = _parse_landmarks(face)
        if pts is None:  # unexpected wire layout: let protobuf read it
            pts = _parse_landmarks_slowly(face)
        pts *= np.array([w, h, w], dtype=np.float32)
        return pts


def _boxes(detections: list[Any], region: tuple[int, int, int, int]) -> list[_Box]:
    """A detector's detections in an image of ``region`` (x0, y0, x1, y1), in frame pixels."""
    x0, y0, x1, y1 = region
    out = []
    for d in detections:
        b = d.location_data.relative_bounding_box
        score = float(d.score[0]) if d.score else 0.0
        out.append(
            _Box(x0 + b.xmin * (x1 - x0), y0 + b.ymin * (y1 - y0), b.width * (x1 - x0), b.height * (y1 - y0), score)
        )
    return out


def _distinct(faces: list[_Box]) -> list[_Box]:
    """``faces`` with each face found twice (in the whole frame and a square, or in two squares
    that overlap) kept once, its best-scored box: two boxes are one face when their centres are
    closer than half the wider one's width."""
    kept: list[_Box] = []
    for f in sorted(faces, key=lambda b: -b.score):
        cx, cy = f.x + f.width / 2, f.y + f.height / 2
        if all(math.hypot(cx - k.x - k.width / 2, cy - k.y - k.height / 2) >= max(f.width, k.width) / 2 for k in kept):
            kept.append(f)
    return kept


def _search_squares(w: int, h: int) -> list[tuple[int, int, int, int]]:
    """Squares as tall (or, upright, as wide) as a ``w`` x ``h`` frame, one more than needed to
    cover it so that they overlap: three for 16:9 or 4:3.  None for a square frame, nor for a
    strip more than four times as long as it is wide (no camera's picture; at most five
    detector runs a search)."""
    side, long = min(w, h), max(w, h)
    if long == side or long > 4 * side:
        return []
    starts = np.unique(np.linspace(0, long - side, math.ceil(long / side) + 1).astype(int))
    return [(int(a), 0, int(a) + side, side) if w > h else (0, int(a), side, int(a) + side) for a in starts]


def _followed(view: tuple[int, int, int, int], points: FloatArray, w: int, h: int) -> tuple[int, int, int, int]:
    """``view`` moved after a small face that drifted more than :data:`SMALL_FACE_DRIFT` face
    widths from its centre, so that the face stays that far in: a crop that stayed put would
    lose a face moving across the frame until the next search for it.  The step is the face's
    own motion, which the mesh's tracker follows anyway; the crop stays inside the frame."""
    x0, y0, x1, y1 = view
    side = x1 - x0
    limit = SMALL_FACE_DRIFT * float(np.ptp(points[:, 0]))
    shifts = []
    for centre, origin, size in (
        ((float(points[:, 0].min()) + float(points[:, 0].max())) / 2, x0, w),
        ((float(points[:, 1].min()) + float(points[:, 1].max())) / 2, y0, h),
    ):
        off = centre - (origin + side / 2)
        step = math.copysign(abs(off) - limit, off) if abs(off) > limit else 0.0
        shifts.append(int(min(max(origin + round(step), 0), size - side)))
    nx, ny = shifts
    return (nx, ny, nx + side, ny + side)


def _parse_landmarks_slowly(raw: bytes) -> FloatArray:
    landmarks = importlib.import_module("mediapipe.framework.formats.landmark_pb2").NormalizedLandmarkList()
    landmarks.ParseFromString(raw)
    return np.array([(lm.x, lm.y, lm.z) for lm in landmarks.landmark], dtype=np.float32)


# A NormalizedLandmarkList with only x, y, z set serialises every landmark as the
# same 17 bytes: 0x0a 0x0f (field 1, length 15), then 0x0d x, 0x15 y, 0x1d z as
# little-endian float32.  Reading them with numpy is ~10x faster than 478 x 3
# protobuf attribute lookups.
_WIRE = {0: 0x0A, 1: 0x0F, 2: 0x0D, 7: 0x15, 12: 0x1D}


def _parse_landmarks(raw: bytes) -> FloatArray | None:
    if len(raw) % 17:
        return None
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 17)
    for col, tag in _WIRE.items():
        if not np.all(rows[:, col] == tag):
            return None
    xyz = np.concatenate([rows[:, 3:7], rows[:, 8:12], rows[:, 13:17]], axis=1).copy()
    points: FloatArray = xyz.view("<f4").astype(np.float32).reshape(-1, 3)
    return points
