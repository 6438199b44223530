"""Frame sources: video files, webcams, folders of images and iterables of
arrays, each frame with its real timestamp.

Video files are decoded with PyAV on a background thread (decoding overlaps
with landmark detection on a second core).  Timestamps are the container's
presentation timestamps relative to the start of the file, never
``index / fps``: several real recordings drop or repeat frames.

Usage::

    with open_source("clip.mp4") as src:
        for frame in src:
            frame.rgb, frame.t_s
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from livecert.errors import InputError, SessionStateError
from livecert.mpegps import cut_short

if TYPE_CHECKING:
    from livecert.audio import AudioDecoder, AudioTrack

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mpg", ".mpeg", ".webm", ".mov", ".mkv", ".m4v"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})

#: What :func:`open_source` accepts.
Source = Union[str, os.PathLike, int, Iterable[Any], "FrameSource"]


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
        The picture, RGB order, upright (rotation metadata applied).
    t_s : float
        Timestamp in seconds on the source's own timeline.
    index : int
        Position of the frame among those decoded (0-based).
    decode_ms : float
        Time spent decoding and converting this frame.
    """

    rgb: np.ndarray
    t_s: float
    index: int
    decode_ms: float = 0.0


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a source before decoding it.

    Attributes
    ----------
    name : str
        File path, ``"camera:N"``, folder path or ``"<frames>"``.
    kind : str
        ``"file"``, ``"camera"``, ``"images"`` or ``"frames"``.
    path : Path or None
        The file, for sources that are files (audio is read from it).
    has_audio : bool
        The file has an audio stream.
    nominal_fps : float or None
        Frame rate the container claims; informative only.
    """

    name: str
    kind: str
    path: Path | None = None
    has_audio: bool = False
    nominal_fps: float | None = None


def check_frame(rgb: Any, where: str) -> np.ndarray:
    """Validate one RGB frame and return it as an ndarray.

    Raises
    ------
    InputError
        With code ``BAD_FRAME`` when ``rgb`` is not a ``uint8`` array of shape
        ``(H, W, 3)`` with ``H, W >= 16``.
    """
    if not isinstance(rgb, np.ndarray):
        raise InputError(
            f"{where}: a frame must be a numpy array of shape (H, W, 3), got {type(rgb).__name__}",
            code="BAD_FRAME",
        )
    if rgb.dtype != np.uint8:
        raise InputError(
            f"{where}: a frame must have dtype uint8 (0-255 RGB), got {rgb.dtype}; "
            "convert with (img * 255).clip(0, 255).astype(np.uint8) if it is float in [0, 1]",
            code="BAD_FRAME",
        )
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 16 or rgb.shape[1] < 16:
        raise InputError(
            f"{where}: a frame must have shape (H, W, 3) with H, W >= 16, got {rgb.shape}; "
            "convert grayscale or RGBA images to RGB first",
            code="BAD_FRAME",
        )
    return rgb


class TimestampChecker:
    """Enforces finite, strictly increasing timestamps."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._last = -math.inf

    def __call__(self, t_s: Any) -> float:
        try:
            t = float(t_s)
        except (TypeError, ValueError):
            raise InputError(f"{self._where}: timestamp {t_s!r} is not a number", code="BAD_TIMESTAMP") from None
        if not math.isfinite(t):
            raise InputError(f"{self._where}: timestamp {t_s!r} is not finite", code="BAD_TIMESTAMP")
        if t <= self._last:
            raise InputError(
                f"{self._where}: timestamps must increase, got {t:.6f} s after {self._last:.6f} s",
                code="TIMESTAMP_NOT_INCREASING",
            )
        self._last = t
        return t


class FrameSource:
    """Base class: an iterable of :class:`Frame` that must be closed.

    Use as a context manager.  Iterating twice is an error.
    """

    def __init__(self, info: SourceInfo) -> None:
        self.info = info
        self._used = False

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        if self._used:
            raise InputError(f"{self.info.name}: a frame source can be iterated only once", code="SOURCE_USED")
        self._used = True
        return self._frames()

    def _frames(self) -> Iterator[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def audio_track(self) -> AudioTrack | None:
        """The source's sound on the frames' timeline, or None without any.

        Only video files have sound; see :meth:`VideoFileSource.audio_track`.
        """
        return None

    @property
    def audio_decode_ms(self) -> float:
        """Time spent decoding sound along with the frames (0 without)."""
        return 0.0

    def close(self) -> None:
        """Release files, threads and devices.  Safe to call twice."""


# ----------------------------------------------------------------------------
# iterables of arrays


class ArraySource(FrameSource):
    """Frames given as ``(rgb, t_s)`` pairs or :class:`Frame` objects."""

    def __init__(self, items: Iterable[Any]) -> None:
        super().__init__(SourceInfo(name="<frames>", kind="frames"))
        self._items = items

    def _frames(self) -> Iterator[Frame]:
        check_t = TimestampChecker("frames")
        for i, item in enumerate(self._items):
            where = f"frame {i}"
            if isinstance(item, Frame):
                rgb, t = item.rgb, item.t_s
            elif isinstance(item, tuple) and len(item) == 2:
                rgb, t = item
            else:
                raise InputError(
                    f"{where}: expected a (rgb, timestamp_s) pair or a livecert.Frame, got {type(item).__name__}",
                    code="BAD_FRAME",
                )
            yield Frame(check_frame(rgb, where), check_t(t), i)


# ----------------------------------------------------------------------------
# folders of images


class ImageFolderSource(FrameSource):
    """Every image in a folder, in file-name order, at ``fps`` frames per second.

    Image files carry no time, so frame ``i`` is given ``t = i / fps``.
    """

    def __init__(self, folder: Path, fps: float = 30.0) -> None:
        if fps <= 0:
            raise InputError(f"fps must be positive, got {fps}", code="BAD_ARGUMENT")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise InputError(
                f"{folder}: the folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})",
                code="NO_IMAGES",
            )
        super().__init__(SourceInfo(name=str(folder), kind="images", nominal_fps=fps))
        self._files = files
        self._fps = fps

    def _frames(self) -> Iterator[Frame]:
        from livecert.imageio import read_image_rgb

        for i, path in enumerate(self._files):
            t0 = time.perf_counter()
            rgb = read_image_rgb(path)
            yield Frame(rgb, i / self._fps, i, (time.perf_counter() - t0) * 1e3)


# ----------------------------------------------------------------------------
# webcams


class CameraSource(FrameSource):
    """A webcam through OpenCV; timestamps are monotonic seconds since opening.

    Parameters
    ----------
    index : int
        Camera number, as OpenCV counts them.
    max_seconds : float or None
        Stop after this long; None runs until closed.
    read_timeout_s : float
        A camera that delivers no frame for this long is treated as lost.
    """

    def __init__(self, index: int, *, max_seconds: float | None = None, read_timeout_s: float = 3.0) -> None:
        import cv2

        super().__init__(SourceInfo(name=f"camera:{index}", kind="camera"))
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(
                f"camera {index} could not be opened: check that it is plugged in, "
                "that no other program is using it, and that this program may use the camera",
                code="CAMERA_UNAVAILABLE",
            )
        self._max_seconds = max_seconds
        self._read_timeout_s = read_timeout_s

    def _frames(self) -> Iterator[Frame]:
        import cv2

        start = time.monotonic()
        last_ok = start
        i = 0
        while self._cap is not None:
            t0 = time.perf_counter()
            ok, bgr = self._cap.read()
            now = time.monotonic()
            if not ok or bgr is None:
                if now - last_ok > self._read_timeout_s:
                    raise InputError(
                        f"{self.info.name}: no picture for {self._read_timeout_s:.0f} s; "
                        "the camera was unplugged or taken by another program",
                        code="CAMERA_LOST",
                    )
                time.sleep(0.01)
                continue
            last_ok = now
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            yield Frame(rgb, now - start, i, (time.perf_counter() - t0) * 1e3)
            i += 1
            if self._max_seconds is not None and now - start >= self._max_seconds:
                return

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# ----------------------------------------------------------------------------
# video files


_END = object()


class VideoFileSource(FrameSource):
    """A video file decoded by PyAV on a background thread.

    Parameters
    ----------
    path : Path
    queue_size : int
        Frames decoded ahead of the consumer.
    audio : bool
        Also decode the first audio stream while demuxing the video (one
        pass over the file); :meth:`audio_track` returns it afterwards.
    """

    def __init__(self, path: Path, *, queue_size: int = 8, audio: bool = False) -> None:
        self._container = _open_container(path)
        try:
            streams = self._container.streams
            if not streams.video:
                raise InputError(f"{path}: the file has no video stream", code="NO_VIDEO_STREAM")
            vstream = streams.video[0]
            rate = vstream.average_rate or vstream.guessed_rate
            nominal = float(rate) if rate else None
            super().__init__(
                SourceInfo(name=str(path), kind="file", path=path, has_audio=bool(streams.audio), nominal_fps=nominal)
            )
        except BaseException:
            self._container.close()
            raise
        self._vstream = vstream
        start = self._container.start_time
        self._t0 = float(start) / 1e6 if start is not None else 0.0
        # Where the video should end on the clip timeline, when the file says so.  The
        # container's duration is used only without audio, which may outlast the video.
        self._declared_end_s: float | None = None
        if vstream.duration and vstream.time_base:
            s0 = float(vstream.start_time * vstream.time_base) if vstream.start_time is not None else self._t0
            self._declared_end_s = s0 - self._t0 + float(vstream.duration * vstream.time_base)
        elif self._container.duration and not streams.audio:
            self._declared_end_s = self._container.duration / 1e6
        if self._container.format.name == "avi" and vstream.frames and vstream.time_base:
            # An AVI cut short loses its index, and FFmpeg then estimates the duration from
            # what is left; the header's chunk count (one chunk per tick) still tells the length.
            header_end = float(vstream.frames * vstream.time_base)
            self._declared_end_s = max(self._declared_end_s or 0.0, header_end)
        self._audio: AudioDecoder | None = None
        self._audio_error: InputError | None = None
        self._audio_done = False
        self._track: AudioTrack | None = None
        if audio and streams.audio:
            from livecert.audio import AudioDecoder

            self._audio = AudioDecoder(self._container, path)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _decode_loop(self) -> None:
        import av

        path = self.info.name
        decoded = 0
        last_t: float | None = None
        try:
            streams = [self._vstream] if self._audio is None else [self._vstream, self._audio.stream]
            for packet in self._container.demux(streams):
                if self._stop.is_set():
                    return
                if packet.stream is not self._vstream:
                    self._decode_audio(packet)
                    continue
                t0 = time.perf_counter()
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as exc:
                    # A damaged packet inside a file that otherwise decodes is tolerated
                    # (it behaves like a dropped frame); damage before any frame is not.
                    if decoded == 0:
                        raise
                    log.warning("%s: skipped a damaged packet after %.2f s (%s)", path, last_t or 0.0, exc)
                    continue
                for vf in frames:
                    t = self._timestamp(vf, decoded)
                    rgb = vf.to_ndarray(format="rgb24")
                    rot = int(getattr(vf, "rotation", 0) or 0)
                    if rot % 360:
                        rgb = np.ascontiguousarray(np.rot90(rgb, k=round(rot / 90)))
                    frame = Frame(rgb, t, decoded, (time.perf_counter() - t0) * 1e3)
                    if last_t is not None and t <= last_t:
                        log.debug("%s: frame %d repeats timestamp %.4f; dropped", path, decoded, t)
                        t0 = time.perf_counter()
                        continue
                    last_t = t
                    decoded += 1
                    if not self._put(frame):
                        return
                    t0 = time.perf_counter()
            self._check_complete(decoded, last_t)
            self._audio_done = True
            self._put(_END)
        except InputError as exc:
            self._put(exc)
        except av.error.FFmpegError as exc:
            self._put(_decode_error(path, exc, decoded, last_t))
        except Exception as exc:  # forwarded to the consumer thread, which re-raises it
            self._put(exc)

    def _decode_audio(self, packet: Any) -> None:
        """A damaged audio stream does not stop the video; :meth:`audio_track` reports it."""
        if self._audio is None or self._audio_error is not None:
            return
        try:
            self._audio.decode(packet)
        except InputError as exc:
            self._audio_error = exc

    def audio_track(self) -> AudioTrack | None:
        """The first audio stream, mono float32 at 16 kHz, or None without one.

        With ``audio=True`` it was decoded with the frames, so call this
        after iterating them to the end; otherwise the file is read again
        (:func:`livecert.audio.read_audio`).

        Raises
        ------
        InputError
            ``AUDIO_DECODE_ERROR`` or ``EMPTY_AUDIO`` for a damaged or empty
            audio stream.
        SessionStateError
            ``AUDIO_NOT_READY`` when called with ``audio=True`` before the
            frames were read to the end.
        """
        if not self.info.has_audio:
            return None
        if self._audio is None:
            from livecert.audio import read_audio

            return read_audio(self.info.name)
        if self._audio_error is not None:
            raise self._audio_error
        if not self._audio_done:
            raise SessionStateError(
                f"{self.info.name}: the audio is decoded with the frames; read them all first", code="AUDIO_NOT_READY"
            )
        if self._track is None:
            self._track = self._audio.finish()
        return self._track

    @property
    def audio_decode_ms(self) -> float:
        """Time the decode thread spent on the sound (``audio=True``)."""
        return self._audio.ms if self._audio is not None else 0.0

    def _check_complete(self, decoded: int, last_t: float | None) -> None:
        """A file whose frames stop well before its declared duration was cut short."""
        declared = self._declared_end_s
        if decoded == 0 or last_t is None or not declared:
            return
        missing = declared - last_t
        if missing > max(1.0, 0.2 * declared):
            raise InputError(
                f"{self.info.name}: frames stop at {last_t:.2f} s but the file declares {declared:.2f} s; "
                "it is truncated: record or copy it again",
                code="TRUNCATED_FILE",
            )

    def _timestamp(self, vf: Any, index: int) -> float:
        if vf.pts is not None and vf.time_base is not None:
            return float(vf.pts * vf.time_base) - self._t0
        if vf.time is not None:
            return float(vf.time) - self._t0
        raise InputError(
            f"{self.info.name}: frame {index} carries no timestamp; re-encode the file (for example to mp4)",
            code="NO_TIMESTAMPS",
        )

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _frames(self) -> Iterator[Frame]:
        self._thread = threading.Thread(target=self._decode_loop, name="livecert-decode", daemon=True)
        self._thread.start()
        count = 0
        while True:
            item = self._queue.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            count += 1
            yield item
        if count == 0:
            raise InputError(f"{self.info.name}: the video has no frames that can be decoded", code="ZERO_FRAMES")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        if self._container is not None:
            self._container.close()
            self._container = None


def _decode_error(path: str, exc: Exception, decoded: int, last_t: float | None) -> InputError:
    if decoded == 0:
        return InputError(f"{path}: not a video that can be decoded ({exc})", code="NOT_A_VIDEO")
    return InputError(
        f"{path}: the file is truncated or damaged after {decoded} frames ({last_t or 0.0:.2f} s); "
        "record or copy it again",
        code="TRUNCATED_FILE",
    )


_CONTAINER_MAGIC = (
    (4, b"ftyp", "an MP4/MOV"),
    (0, b"RIFF", "an AVI"),
    (0, b"\x1a\x45\xdf\xa3", "a WebM/Matroska"),
    (0, b"\x00\x00\x01\xba", "an MPEG"),
)


def _container_kind(path: Path) -> str | None:
    """The container a file's first bytes announce, if any."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    for offset, magic, name in _CONTAINER_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def _open_container(path: Path) -> Any:
    import av

    try:
        # metadata_errors="ignore": some AVI writers store metadata that is not UTF-8.
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        kind = _container_kind(path)
        if kind is not None:
            raise InputError(
                f"{path}: starts like {kind} file but cannot be read: it is truncated or damaged "
                f"({exc.strerror or exc}); record or copy it again",
                code="TRUNCATED_FILE",
            ) from None
        raise InputError(
            f"{path}: not a video file that can be opened ({exc.strerror or exc}); "
            "supported are mp4, avi, mpg, webm, mov and other formats FFmpeg reads",
            code="NOT_A_VIDEO",
        ) from None
    if container.format.name == "mpeg" and cut_short(path):
        # a program stream declares no duration: a cut copy would pass for a shorter recording
        container.close()
        raise InputError(
            f"{path}: the MPEG file ends in the middle of a packet: it is truncated; record or copy it again",
            code="TRUNCATED_FILE",
        )
    return container


# ----------------------------------------------------------------------------


def check_file(path: Path) -> Path:
    """Raise a specific :class:`InputError` for a missing, unreadable or empty file."""
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path", code="FILE_NOT_FOUND")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); record or copy it again", code="EMPTY_FILE")
    if path.is_file() and not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied; make the file readable", code="FILE_UNREADABLE")
    return path


def open_source(source: Source, *, fps: float = 30.0, audio: bool = False) -> FrameSource:
    """Open anything livecert can read frames from.

    Parameters
    ----------
    source : str, PathLike, int, iterable or FrameSource
        A video file path, a folder of images, a webcam index, or an iterable
        of ``(rgb, t_s)`` pairs (``rgb`` uint8 of shape (H, W, 3)).
    fps : float
        Frame rate given to a folder of images (they carry no timestamps).
    audio : bool
        Video files: decode the sound in the same pass as the frames, for
        :meth:`FrameSource.audio_track` (other sources have no sound).

    Returns
    -------
    FrameSource
        Use it as a context manager and iterate it once.

    Raises
    ------
    InputError
        Missing, empty or non-video file, empty folder, wrong type.
    """
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, bool):
        raise InputError(
            "source must be a path, a camera index or an iterable of frames, not a bool", code="BAD_SOURCE"
        )
    if isinstance(source, int):
        return CameraSource(source)
    if isinstance(source, (str, os.PathLike)):
        path = check_file(Path(source))
        if path.is_dir():
            return ImageFolderSource(path, fps=fps)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            raise InputError(
                f"{path}: this is a single image, not a video; liveness needs a recording "
                "(pass a folder of images to use stills as frames)",
                code="NOT_A_VIDEO",
            )
        return VideoFileSource(path, audio=audio)
    if isinstance(source, np.ndarray):
        raise InputError(
            "source is a single array; pass an iterable of (rgb, timestamp_s) pairs instead",
            code="BAD_SOURCE",
        )
    if isinstance(source, (bytes, dict)) or not isinstance(source, Iterable):
        raise InputError(
            f"source must be a path, a camera index or an iterable of (rgb, timestamp_s) pairs, "
            f"not {type(source).__name__}",
            code="BAD_SOURCE",
        )
    return ArraySource(source)
