"""Video files decoded with PyAV on a background thread, each frame with its container
presentation timestamp, the sound optionally decoded in the same pass."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import numpy as np

from livecert.arrays import Image
from livecert.errors import ErrorCode, InputError, SessionStateError
from livecert.io.audio import AudioDecoder, AudioTrack, read_audio
from livecert.io.files import container_kind
from livecert.io.frames import Frame, FrameSource, SourceInfo, SourceKind
from livecert.io.mpegps import cut_short

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.frame import VideoFrame

log = logging.getLogger(__name__)

_S = TypeVar("_S", bound="Stream")


class _End:
    """Type of the marker the decode thread queues after the last frame."""


_END = _End()


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
        self._container: InputContainer | None = _open_container(path)
        try:
            streams = self._container.streams
            if not streams.video:
                raise InputError(f"{path}: the file has no video stream", code=ErrorCode.NO_VIDEO_STREAM)
            vstream = streams.video[0]
            rate = vstream.average_rate or vstream.guessed_rate
            nominal = float(rate) if rate else None
            super().__init__(
                SourceInfo(
                    name=str(path), kind=SourceKind.FILE, path=path, has_audio=bool(streams.audio), nominal_fps=nominal
                )
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
            self._audio = AudioDecoder(self._container, path)
        self._queue: queue.Queue[Frame | BaseException | _End] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _decode_loop(self) -> None:
        import av

        path = self.info.name
        decoded = 0
        last_t: float | None = None
        try:
            if self._container is None:
                raise SessionStateError(f"{path}: the frame source was closed; open it again")
            streams = [self._vstream] if self._audio is None else [self._vstream, self._audio.stream]
            for packet in self._container.demux(streams):
                if self._stop.is_set():
                    return
                if packet.stream is not self._vstream:
                    self._decode_audio(packet)
                    continue
                t0 = time.perf_counter()
                try:
                    frames = cast("list[VideoFrame]", packet.decode())  # a packet of the video stream
                except av.error.FFmpegError as exc:
                    # A damaged packet inside a file that otherwise decodes is tolerated
                    # (it behaves like a dropped frame); damage before any frame is not.
                    if decoded == 0:
                        raise
                    log.warning("%s: skipped a damaged packet after %.2f s (%s)", path, last_t or 0.0, exc)
                    continue
                for vf in frames:
                    t = self._timestamp(vf, decoded)
                    rgb = cast(Image, vf.to_ndarray(format="rgb24"))
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

    def _decode_audio(self, packet: Packet[_S]) -> None:
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
        (:func:`livecert.io.audio.read_audio`).

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
            return read_audio(self.info.name)
        if self._audio_error is not None:
            raise self._audio_error
        if not self._audio_done:
            raise SessionStateError(
                f"{self.info.name}: the audio is decoded with the frames; read them all first",
                code=ErrorCode.AUDIO_NOT_READY,
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
                code=ErrorCode.TRUNCATED_FILE,
            )

    def _timestamp(self, vf: VideoFrame, index: int) -> float:
        if vf.pts is not None and vf.time_base is not None:
            return float(vf.pts * vf.time_base) - self._t0
        if vf.time is not None:
            return float(vf.time) - self._t0
        raise InputError(
            f"{self.info.name}: frame {index} carries no timestamp; re-encode the file (for example to mp4)",
            code=ErrorCode.NO_TIMESTAMPS,
        )

    def _put(self, item: Frame | BaseException | _End) -> bool:
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
            if isinstance(item, _End):
                break
            if isinstance(item, BaseException):
                raise item
            count += 1
            yield item
        if count == 0:
            raise InputError(
                f"{self.info.name}: the video has no frames that can be decoded", code=ErrorCode.ZERO_FRAMES
            )

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
        return InputError(f"{path}: not a video that can be decoded ({exc})", code=ErrorCode.NOT_A_VIDEO)
    return InputError(
        f"{path}: the file is truncated or damaged after {decoded} frames ({last_t or 0.0:.2f} s); "
        "record or copy it again",
        code=ErrorCode.TRUNCATED_FILE,
    )


def _open_container(path: Path) -> InputContainer:
    import av

    try:
        # metadata_errors="ignore": some AVI writers store metadata that is not UTF-8.
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        kind = container_kind(path)
        if kind is not None:
            raise InputError(
                f"{path}: starts like {kind} file but cannot be read: it is truncated or damaged "
                f"({exc.strerror or exc}); record or copy it again",
                code=ErrorCode.TRUNCATED_FILE,
            ) from None
        raise InputError(
            f"{path}: not a video file that can be opened ({exc.strerror or exc}); "
            "supported are mp4, avi, mpg, webm, mov and other formats FFmpeg reads",
            code=ErrorCode.NOT_A_VIDEO,
        ) from None
    if container.format.name == "mpeg" and cut_short(path):
        # a program stream declares no duration: a cut copy would pass for a shorter recording
        container.close()
        raise InputError(
            f"{path}: the MPEG file ends in the middle of a packet: it is truncated; record or copy it again",
            code=ErrorCode.TRUNCATED_FILE,
        )
    return container
