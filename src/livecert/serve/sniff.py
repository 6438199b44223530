"""What an upload is, judged from its first bytes (never from the client's Content-Type)."""

from __future__ import annotations

from livecert.enums import StrEnum


class MediaKind(StrEnum):
    """Containers and images the server accepts, by their magic bytes."""

    #: Matroska or WebM (Chrome's and Firefox's MediaRecorder: VP8/VP9 + Opus).
    WEBM = "webm"
    #: ISO base media (MP4, MOV; Safari's and iOS's MediaRecorder: H.264 + AAC).
    MP4 = "mp4"
    #: RIFF AVI (recorded archives, the ZJU clips).
    AVI = "avi"
    #: MPEG program stream (the GRID clips).
    MPEG_PS = "mpeg_ps"
    JPEG = "jpeg"
    PNG = "png"


#: What a recording upload may be.
VIDEO_KINDS = frozenset({MediaKind.WEBM, MediaKind.MP4, MediaKind.AVI, MediaKind.MPEG_PS})

#: What an enrollment photo may be.
PHOTO_KINDS = frozenset({MediaKind.JPEG, MediaKind.PNG})


def sniff(head: bytes) -> MediaKind | None:
    """The kind of file that starts with ``head`` (its first 12 or more bytes); None if unknown.

    Parameters
    ----------
    head : bytes
        The first bytes of the upload.
    """
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MediaKind.WEBM
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return MediaKind.MP4
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return MediaKind.AVI
    if head.startswith(b"\x00\x00\x01\xba"):
        return MediaKind.MPEG_PS
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind.PNG
    return None
