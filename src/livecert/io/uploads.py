"""Recordings given in memory: ``bytes``, ``bytearray``, ``memoryview`` or a binary
file object (an open file in ``"rb"`` mode, ``io.BytesIO``, a web framework's
upload such as Starlette's ``UploadFile.file``).

They are read whole, once, within :attr:`LimitsConfig.max_upload_bytes`, and
then decoded from memory exactly as a file is (:class:`~livecert.io.video.VideoFileSource`).
"""

from __future__ import annotations

import io
from typing import Protocol, Union, runtime_checkable

from livecert.config import LimitsConfig
from livecert.errors import ErrorCode, InputError

#: Bytes in memory that :func:`read_upload` accepts as they are.
BytesLike = Union[bytes, bytearray, memoryview]

_CHUNK = 16 * 1024 * 1024


@runtime_checkable
class BinaryReader(Protocol):
    """Anything with a ``read(size)`` method returning bytes (an open binary file)."""

    def read(self, size: int = -1, /) -> bytes:  # pragma: no cover - protocol
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...


#: A recording in memory: bytes, or a binary file object to read them from.
Upload = Union[BytesLike, BinaryReader]


def is_upload(source: object) -> bool:
    """Whether ``source`` is a recording in memory (bytes or an object with a ``read`` method)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return True
    return callable(getattr(source, "read", None))


def upload_name(size: int) -> str:
    """What names an in-memory recording in messages (:attr:`SourceInfo.name`)."""
    return f"<upload of {size} bytes>"


def read_upload(source: Upload, limits: LimitsConfig | None = None) -> bytes:
    """The bytes of an in-memory recording, read once from a file object.

    A file object is read from its current position to its end.

    Parameters
    ----------
    source : bytes, bytearray, memoryview or binary file object
    limits : LimitsConfig, optional
        ``max_upload_bytes`` bounds what is read.

    Returns
    -------
    bytes

    Raises
    ------
    InputError
        ``BAD_SOURCE`` for a text-mode file object or one whose ``read``
        does not return bytes; ``UPLOAD_TOO_LARGE`` beyond
        ``limits.max_upload_bytes``; ``EMPTY_FILE`` for no bytes;
        ``FILE_UNREADABLE`` when reading fails.
    """
    limit = (limits or LimitsConfig()).max_upload_bytes
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = source.nbytes if isinstance(source, memoryview) else len(source)
        if size > limit:
            raise _too_large(f"{upload_name(size)}: {size} bytes", limit)
        data = source if isinstance(source, bytes) else bytes(source)  # a memoryview may not be contiguous
    else:
        data = _read_all(source, limit)
    if not data:
        raise InputError(
            f"{upload_name(0)}: the upload is empty (0 bytes); record or upload it again", code=ErrorCode.EMPTY_FILE
        )
    return data


def _read_all(source: object, limit: int) -> bytes:
    kind = type(source).__name__
    if isinstance(source, io.TextIOBase) or isinstance(getattr(source, "encoding", None), str):
        raise _text_mode(kind)
    read = getattr(source, "read", None)
    if not callable(read):
        raise InputError(f"source {kind} has no read method", code=ErrorCode.BAD_SOURCE)
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = read(min(_CHUNK, limit + 1 - total))
        except UnicodeDecodeError:
            raise _text_mode(kind) from None
        except (OSError, ValueError) as exc:  # ValueError: a closed file
            raise InputError(
                f"the upload ({kind}) cannot be read ({exc}); upload it again", code=ErrorCode.FILE_UNREADABLE
            ) from None
        if isinstance(chunk, str):
            raise _text_mode(kind)
        if chunk is None:  # a non-blocking stream with nothing ready
            raise InputError(
                f"the upload ({kind}) has no data ready (a non-blocking stream); read it whole and pass the bytes",
                code=ErrorCode.BAD_SOURCE,
            )
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise InputError(
                f"the upload's read() returned {type(chunk).__name__}, not bytes; pass a binary file object "
                "or the bytes themselves",
                code=ErrorCode.BAD_SOURCE,
            )
        if not chunk:
            break
        chunks.append(bytes(chunk))
        total += len(chunks[-1])
        if total > limit:
            raise _too_large(f"the upload ({kind}): more than {limit} bytes", limit)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _text_mode(kind: str) -> InputError:
    return InputError(
        f"the upload ({kind}) is open in text mode, which cannot hold a video; open the file in binary mode "
        '(open(path, "rb")) or pass its bytes',
        code=ErrorCode.BAD_SOURCE,
    )


def _too_large(what: str, limit: int) -> InputError:
    return InputError(
        f"{what}, more than the {limit / 2**20:.0f} MiB livecert reads into memory "
        "(LimitsConfig.max_upload_bytes): send a shorter recording",
        code=ErrorCode.UPLOAD_TOO_LARGE,
    )
