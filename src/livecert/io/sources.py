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

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Union, cast

import numpy as np

from livecert.arrays import AnyArray, Image
from livecert.config import LimitsConfig
from livecert.errors import ErrorCode, InputError
from livecert.io.files import IMAGE_SUFFIXES, check_file, head_kind, image_kind
from livecert.io.frames import Frame, FrameSource, SourceInfo, SourceKind, TimestampChecker, check_frame
from livecert.io.images import read_image_rgb
from livecert.io.uploads import Upload, is_upload, read_upload, upload_name
from livecert.io.video import VideoFileSource

if TYPE_CHECKING:
    import cv2

#: One item of an iterable source: a :class:`Frame`, or an ``(rgb, t_s)``
#: pair with ``rgb`` uint8 of shape (H, W, 3) (checked when read).
FrameItem = Union[Frame, tuple[AnyArray, float]]

#: What :func:`open_source` accepts.
Source = Union[str, os.PathLike[str], int, Upload, Iterable[FrameItem], FrameSource]


class ArraySource(FrameSource):
    """Frames given as ``(rgb, t_s)`` pairs or :class:`Frame` objects."""

    def __init__(self, items: Iterable[FrameItem]) -> None:
        super().__init__(SourceInfo(name="<frames>", kind=SourceKind.FRAMES))
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
                    code=ErrorCode.BAD_FRAME,
                )
            yield Frame(check_frame(rgb, where), check_t(t), i)


class ImageFolderSource(FrameSource):
    """Every image in a folder, in file-name order, at ``fps`` frames per second.

    Image files carry no time, so frame ``i`` is given ``t = i / fps``.
    """

    def __init__(self, folder: Path, fps: float = 30.0, limits: LimitsConfig | None = None) -> None:
        self._limits = limits or LimitsConfig()
        if fps <= 0:
            raise InputError(f"fps must be positive, got {fps}", code=ErrorCode.BAD_ARGUMENT)
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise InputError(
                f"{folder}: the folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})",
                code=ErrorCode.NO_IMAGES,
            )
        if len(files) > self._limits.max_frames:
            raise InputError(
                f"{folder}: {len(files)} images; livecert judges at most {self._limits.max_frames} frames "
                "(LimitsConfig.max_frames)",
                code=ErrorCode.TOO_MANY_FRAMES,
            )
        super().__init__(SourceInfo(name=str(folder), kind=SourceKind.IMAGES, nominal_fps=fps))
        self._files = files
        self._fps = fps

    def _frames(self) -> Iterator[Frame]:

        for i, path in enumerate(self._files):
            t0 = time.perf_counter()
            rgb = read_image_rgb(path, max_pixels=self._limits.max_photo_pixels)
            yield Frame(rgb, i / self._fps, i, (time.perf_counter() - t0) * 1e3)


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

        super().__init__(SourceInfo(name=f"camera:{index}", kind=SourceKind.CAMERA))
        self._cap: cv2.VideoCapture | None = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(
                f"camera {index} could not be opened: check that it is plugged in, "
                "that no other program is using it, and that this program may use the camera",
                code=ErrorCode.CAMERA_UNAVAILABLE,
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
                        code=ErrorCode.CAMERA_LOST,
                    )
                time.sleep(0.01)
                continue
            last_ok = now
            rgb: Image = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            yield Frame(rgb, now - start, i, (time.perf_counter() - t0) * 1e3)
            i += 1
            if self._max_seconds is not None and now - start >= self._max_seconds:
                return

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def open_source(
    source: Source, *, fps: float = 30.0, audio: bool = False, limits: LimitsConfig | None = None
) -> FrameSource:
    """Open anything livecert can read frames from.

    Parameters
    ----------
    source : str, PathLike, int, bytes-like, binary file object, iterable or FrameSource
        A video file path, a folder of images, a webcam index, a video in
        memory (``bytes``, ``bytearray``, ``memoryview``, or an object whose
        ``read()`` returns bytes, such as a file opened in ``"rb"`` mode, an
        ``io.BytesIO`` or an uploaded file: read once, from its current
        position, within ``limits.max_upload_bytes``, and decoded from
        memory with the same checks as a file), or an iterable of
        ``(rgb, t_s)`` pairs (``rgb`` uint8 of shape (H, W, 3)).
    fps : float
        Frame rate given to a folder of images (they carry no timestamps).
    audio : bool
        Video files: decode the sound in the same pass as the frames, for
        :meth:`FrameSource.audio_track` (other sources have no sound).
    limits : LimitsConfig, optional
        Resource limits for files and folders (default: the safe defaults).

    Returns
    -------
    FrameSource
        Use it as a context manager and iterate it once.

    Raises
    ------
    InputError
        Missing, empty or non-video file, empty folder, wrong type (a
        text-mode file object: ``BAD_SOURCE``); an upload larger than
        ``limits.max_upload_bytes`` (``UPLOAD_TOO_LARGE``); a file beyond
        ``limits`` (``FRAME_TOO_LARGE``, ``TOO_MANY_FRAMES``, ``TOO_LONG``),
        or one that turns out damaged while it is read (``DAMAGED_FILE``,
        ``TIMESTAMP_NOT_INCREASING``).
    """
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, bool):
        raise InputError(
            "source must be a path, a camera index or an iterable of frames, not a bool", code=ErrorCode.BAD_SOURCE
        )
    if isinstance(source, int):
        return CameraSource(source)
    if isinstance(source, (str, os.PathLike)):
        path = check_file(Path(source))
        if path.is_dir():
            return ImageFolderSource(path, fps=fps, limits=limits)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            raise InputError(
                f"{path}: this is a single image, not a video; liveness needs a recording "
                "(pass a folder of images to use stills as frames)",
                code=ErrorCode.NOT_A_VIDEO,
            )
        return VideoFileSource(path, audio=audio, limits=limits)
    if is_upload(source):
        return _open_upload(read_upload(cast(Upload, source), limits), audio=audio, limits=limits)
    if isinstance(source, np.ndarray):
        raise InputError(
            "source is a single array; pass an iterable of (rgb, timestamp_s) pairs instead",
            code=ErrorCode.BAD_SOURCE,
        )
    if isinstance(source, dict) or not isinstance(source, Iterable):
        raise InputError(
            f"source must be a path, a camera index, bytes, a binary file object or an iterable of "
            "(rgb, timestamp_s) pairs, "
            f"not {type(source).__name__}",
            code=ErrorCode.BAD_SOURCE,
        )
    return ArraySource(cast("Iterable[FrameItem]", source))


#: Longest bytes taken for a file name given as bytes (``b"clip.mp4"``) rather than a video.
_MAX_NAME_BYTES = 4096


def _printable(data: bytes) -> bool:
    """One line of printable text (a path), which no video is."""
    try:
        return data.decode("utf-8").isprintable()
    except UnicodeDecodeError:
        return False


def _open_upload(data: bytes, *, audio: bool, limits: LimitsConfig | None) -> FrameSource:
    """A video given as bytes: refused if it is a still image or a file name, else decoded
    from memory like a file."""
    head = data[:16]
    if len(data) <= _MAX_NAME_BYTES and head_kind(head) is None and _printable(data):
        raise InputError(
            f"source is {len(data)} bytes of text ({data[:80]!r}), not a video: pass a file name as a str "
            "or a Path, or pass the video's bytes",
            code=ErrorCode.BAD_SOURCE,
        )
    kind = image_kind(head)
    if kind is not None and head_kind(head) is None:
        raise InputError(
            f"{upload_name(len(data))}: this is {kind} image, not a video; liveness needs a recording",
            code=ErrorCode.NOT_A_VIDEO,
        )
    return VideoFileSource(data, audio=audio, limits=limits)
