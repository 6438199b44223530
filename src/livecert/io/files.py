"""File checks shared by every reader: missing, empty or unreadable files, and what
kind of container a file's first bytes announce."""

from __future__ import annotations

import os
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


def container_kind(path: Path) -> str | None:
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


def check_file(path: Path) -> Path:
    """Raise a specific :class:`InputError` for a missing, unreadable or empty file."""
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path", code=ErrorCode.FILE_NOT_FOUND)
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); record or copy it again", code=ErrorCode.EMPTY_FILE)
    if path.is_file() and not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied; make the file readable", code=ErrorCode.FILE_UNREADABLE)
    return path
