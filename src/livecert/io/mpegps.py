"""Whether an MPEG program stream (``.mpg``) file was cut short.

An MPEG-PS file declares no duration, so a copy cut off part-way decodes as a
shorter, valid-looking recording.  Its packets do declare their own lengths:
walking them from the start finds a last packet that runs past the end of a
cut file (a cut lands exactly on a packet boundary only by chance, about once
in 2,048 for the usual 2 KiB packs).

Layout walked (ISO/IEC 11172-1 and 13818-1): a pack header ``00 00 01 BA``
(12 bytes in MPEG-1, 14 plus stuffing in MPEG-2), then a system header or
PES packets, each ``00 00 01 xx`` with ``xx >= 0xBB`` and a 16-bit length;
``00 00 01 B9`` ends the stream.
"""

from __future__ import annotations

import mmap
import os
from typing import Union

#: What :func:`_walk` reads: a file mapped into memory, or bytes already in memory.
_Bytes = Union[bytes, mmap.mmap]

_PREFIX = b"\x00\x00\x01"

_PACK, _END, _FIRST_SIZED = 0xBA, 0xB9, 0xBB


def cut_short(path: str | os.PathLike[str] | bytes) -> bool | None:
    """True when the last packet of an MPEG-PS file runs past its end.

    Parameters
    ----------
    path : str, PathLike or bytes
        An MPEG-1 or MPEG-2 program stream: a file, or its bytes in memory
        (an upload).

    Returns
    -------
    bool or None
        True: cut short.  False: every packet ends inside the file.  None:
        the walk met bytes that are not a packet start (not a program stream,
        or damaged in the middle), so this cannot tell.
    """
    if isinstance(path, bytes):
        return _walk(path, len(path)) if path else None
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _walk(data, size)


def _walk(data: _Bytes, size: int) -> bool | None:
    pos = 0
    while pos < size:
        if size - pos < 6:  # a packet header cut off, or a few stray bytes after the last packet
            return True if data[pos : pos + 3] == _PREFIX else None
        if data[pos : pos + 3] != _PREFIX:
            return None
        code = data[pos + 3]
        if code == _END:
            return False
        if code == _PACK:
            if data[pos + 4] >> 6 == 1:  # MPEG-2: 14 bytes and stuffing
                if size - pos < 14:
                    return True
                pos += 14 + (data[pos + 13] & 0x07)
            else:  # MPEG-1: 12 bytes
                pos += 12
        elif code >= _FIRST_SIZED:
            pos += 6 + int.from_bytes(data[pos + 4 : pos + 6], "big")
        else:
            return None
    return pos > size
