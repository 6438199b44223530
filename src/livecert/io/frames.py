"""Frames and the frame-source base class: one decoded picture with its timestamp,
and the checks every source applies (dtype, shape, increasing timestamps)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import SupportsFloat, cast

import numpy as np

from livecert.arrays import Image
from livecert.enums import StrEnum
from livecert.errors import ErrorCode, InputError, LivecertError
from livecert.io.audio import AudioTrack

#: Smallest frame side accepted, in pixels.
MIN_SIDE = 16


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

    rgb: Image
    t_s: float
    index: int
    decode_ms: float = 0.0


@dataclass(frozen=True)
class DecodeReport:
    """What reading a source left out or repaired (:attr:`FrameSource.report`).

    Attributes
    ----------
    frames : int
        Frames delivered.
    dropped : int
        Frames the file holds that were not delivered: video packets that
        decoded to nothing (damaged) and frames repeating an earlier
        frame's timestamp.
    damaged : int
        Video packets that failed to decode or decoded with errors (their
        pictures may carry artefacts).
    reordered : int
        Frames whose timestamps came out of order (B-frames in AVI) and were
        put back in presentation order.
    warnings : tuple of str
        One line per problem that may change what is judged, for the result.
    """

    frames: int = 0
    dropped: int = 0
    damaged: int = 0
    reordered: int = 0
    warnings: tuple[str, ...] = ()


class SourceKind(StrEnum):
    """What a frame source reads from (:attr:`SourceInfo.kind`).

    A ``str`` enum: ``SourceKind.FILE == "file"``, and ``str()`` gives the value.
    """

    FILE = "file"
    CAMERA = "camera"
    IMAGES = "images"
    FRAMES = "frames"


@dataclass(frozen=True, init=False)
class SourceInfo:
    """What is known about a source before decoding it.

    Attributes
    ----------
    name : str
        File path, ``"camera:N"``, folder path or ``"<frames>"``.
    kind : SourceKind
        ``"file"``, ``"camera"``, ``"images"`` or ``"frames"`` (given as a
        :class:`SourceKind` or its string value).
    path : Path or None
        The file, for sources that are files (audio is read from it).
    has_audio : bool
        The file has an audio stream.
    nominal_fps : float or None
        Frame rate the container claims; informative only.
    """

    name: str
    kind: SourceKind
    path: Path | None = None
    has_audio: bool = False
    nominal_fps: float | None = None

    def __init__(
        self,
        name: str,
        kind: SourceKind | str,
        path: Path | None = None,
        has_audio: bool = False,
        nominal_fps: float | None = None,
    ) -> None:
        try:
            source_kind = SourceKind(kind)
        except ValueError:
            raise InputError(
                f"source kind must be one of {', '.join(repr(k.value) for k in SourceKind)}, not {kind!r}",
                code=ErrorCode.BAD_ARGUMENT,
            ) from None
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", source_kind)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "has_audio", has_audio)
        object.__setattr__(self, "nominal_fps", nominal_fps)


def check_frame(rgb: object, where: str) -> Image:
    """Validate one RGB frame and return it, as it is, typed as an :data:`~livecert.arrays.Image`.

    Raises
    ------
    InputError
        With code ``BAD_FRAME`` when ``rgb`` is not a ``uint8`` array of shape
        ``(H, W, 3)``; ``FRAME_TOO_SMALL`` when ``H`` or ``W`` is below 16.
    """
    if not isinstance(rgb, np.ndarray):
        raise InputError(
            f"{where}: a frame must be a numpy array of shape (H, W, 3), got {type(rgb).__name__}",
            code=ErrorCode.BAD_FRAME,
        )
    if rgb.dtype != np.uint8:
        raise InputError(
            f"{where}: a frame must have dtype uint8 (0-255 RGB), got {rgb.dtype}; "
            "convert with (img * 255).clip(0, 255).astype(np.uint8) if it is float in [0, 1]",
            code=ErrorCode.BAD_FRAME,
        )
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError(
            f"{where}: a frame must have shape (H, W, 3), got {rgb.shape}; "
            "convert grayscale or RGBA images to RGB first",
            code=ErrorCode.BAD_FRAME,
        )
    if rgb.shape[0] < MIN_SIDE or rgb.shape[1] < MIN_SIDE:
        raise InputError(
            f"{where}: the frame is {rgb.shape[1]}x{rgb.shape[0]} pixels, at least {MIN_SIDE}x{MIN_SIDE} are "
            "needed (a face needs far more); record at a higher resolution",
            code=ErrorCode.FRAME_TOO_SMALL,
        )
    return rgb


def checked_timestamp(t_s: object, last_s: float, where: str, error: type[LivecertError] = InputError) -> float:
    """``t_s`` as a float, if it is a finite number after ``last_s``.

    Parameters
    ----------
    t_s : object
        A frame's timestamp in seconds, as given.
    last_s : float
        The previous frame's timestamp (``-inf`` before the first frame).
    where : str
        Names the frame or stream in the messages.
    error : type of LivecertError, optional
        The error raised (a session raises :class:`SessionStateError`).

    Raises
    ------
    LivecertError
        Of type ``error``: ``BAD_TIMESTAMP`` when ``t_s`` is not a finite
        number, ``TIMESTAMP_NOT_INCREASING`` when it is not after ``last_s``.
    """
    try:
        t = float(cast(SupportsFloat, t_s))  # anything float() refuses raises below
    except (TypeError, ValueError):
        raise error(f"{where}: timestamp {t_s!r} is not a number", code=ErrorCode.BAD_TIMESTAMP) from None
    if not math.isfinite(t):
        raise error(f"{where}: timestamp {t_s!r} is not finite", code=ErrorCode.BAD_TIMESTAMP)
    if t <= last_s:
        raise error(
            f"{where}: timestamps must increase, got {t:.6f} s after {last_s:.6f} s",
            code=ErrorCode.TIMESTAMP_NOT_INCREASING,
        )
    return t


class TimestampChecker:
    """Enforces finite, strictly increasing timestamps (:func:`checked_timestamp`)."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._last = -math.inf

    def __call__(self, t_s: object) -> float:
        self._last = checked_timestamp(t_s, self._last, self._where)
        return self._last


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
            raise InputError(f"{self.info.name}: a frame source can be iterated only once", code=ErrorCode.SOURCE_USED)
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

    @property
    def report(self) -> DecodeReport:
        """What was dropped, damaged or repaired so far (complete once iterated)."""
        return DecodeReport()

    def close(self) -> None:
        """Release files, threads and devices.  Safe to call twice."""
