"""File checks shared by every reader: missing, empty or unreadable files, and what
kind of container a file's first bytes announce."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from livecert.errors import ErrorCode, InputError

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mpg", ".mpeg", ".webm", ".mov", ".mkv", ".m4v"})

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})

_CONTAINER_MAGIC = (
    (4, b"ftyp", "an MP4/MOV"),
    (0, b"RIFF", "an AVI"),
    (0, b"\x1a\x45\xdf\xa3", "a WebM/Matroska"),
    (0, b"\x00\x00\x01\xba", "an MPEG"),
)


_IMAGE_MAGIC = (
    (0, b"\xff\xd8\xff", "a JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "a PNG"),
    (8, b"WEBP", "a WebP"),
    (0, b"GIF8", "a GIF"),
    (0, b"BM", "a BMP"),
    (0, b"II*\x00", "a TIFF"),
    (0, b"MM\x00*", "a TIFF"),
)


def container_kind(path: Path) -> str | None:
    """The container a file's first bytes announce, if any."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    return head_kind(head)


def head_kind(head: bytes) -> str | None:
    """The video container that bytes starting with ``head`` announce, if any."""
    if head[8:12] == b"WEBP":  # RIFF, like AVI, but a still image
        return None
    for offset, magic, name in _CONTAINER_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def as_path(value: object, what: str) -> Path:
    """``value`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        ``BAD_ARGUMENT``, naming ``what``, unless ``value`` is a str or path-like.
    """
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise InputError(
        f"{what} must be a file path (str or pathlib.Path), not {type(value).__name__}", code=ErrorCode.BAD_ARGUMENT
    )


def check_file(path: Path) -> Path:
    """Raise a specific :class:`InputError` for a missing, unreadable or empty file.

    A folder passes (image folders are sources); a named pipe, socket or
    device does not (``NOT_A_REGULAR_FILE``): reading one could block
    forever or never end.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path", code=ErrorCode.FILE_NOT_FOUND) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(
                f"{path}: the symbolic links loop back on themselves; point the link at the real file",
                code=ErrorCode.FILE_UNREADABLE,
            ) from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise InputError(f"{path}: no such file; check the path", code=ErrorCode.FILE_NOT_FOUND) from None
        raise InputError(
            f"{path}: cannot be read ({exc.strerror}); check the path and its permissions",
            code=ErrorCode.FILE_UNREADABLE,
        ) from None
    if stat.S_ISDIR(st.st_mode):
        return path
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"{path}: is not a regular file (a pipe, socket or device); save the recording to a file first",
            code=ErrorCode.NOT_A_REGULAR_FILE,
        )
    if st.st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); record or copy it again", code=ErrorCode.EMPTY_FILE)
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied; make the file readable", code=ErrorCode.FILE_UNREADABLE)
    return path


def image_kind(head: bytes) -> str | None:
    """The still-image format that bytes starting with ``head`` announce, if any."""
    for offset, magic, name in _IMAGE_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None
