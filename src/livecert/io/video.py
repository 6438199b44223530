"""Video files decoded with PyAV on a background thread, each frame with its container
presentation timestamp, the sound optionally decoded in the same pass."""

from __future__ import annotations

import enum
import heapq
import io
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import numpy as np

from livecert.arrays import Image
from livecert.config import LimitsConfig
from livecert.errors import ErrorCode, InputError, SessionStateError
from livecert.io.audio import AudioDecoder, AudioTrack, read_audio
from livecert.io.files import container_kind, head_kind
from livecert.io.frames import MIN_SIDE, DecodeReport, Frame, FrameSource, SourceInfo, SourceKind
from livecert.io.handoff import Handoff
from livecert.io.mpegps import cut_short
from livecert.io.uploads import upload_name

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

log = logging.getLogger(__name__)

_S = TypeVar("_S", bound="Stream")


#: Codecs whose streams have one frame rate by definition.
_CONSTANT_RATE_CODECS = frozenset({"mpeg1video", "mpeg2video"})


@dataclass
class _Counts:
    """What the decode thread has seen of the video stream."""

    packets: int = 0  # non-empty video packets
    frames_out: int = 0  # frames the decoder gave
    failed: int = 0  # packets the decoder refused (their frames are lost)
    damaged: int = 0  # packets that failed or decoded with errors
    repeated: int = 0  # frames dropped for repeating a timestamp
    reordered: int = 0
    delivered: int = 0
    last_t: float | None = None
    missing: int = 0  # pictures a constant-rate stream's timestamps skip


class _Fate(enum.Enum):
    KEPT = "kept"
    REPEATED = "repeated"
    BACKWARD = "backward"


class _Reorder:
    """Pairs the frames, in the order the decoder gives them (presentation order),
    with their timestamps in increasing order.

    AVI stores no presentation times, so with B-frames FFmpeg labels the frames
    out of order; a look-ahead of :data:`DEPTH` frames puts the labels back in
    order.  A timestamp equal to one already seen is a repeated frame; one below
    a timestamp already handed out goes back further than any reordering.
    """

    DEPTH = 16  # x264 allows at most 16 consecutive B-frames

    def __init__(self) -> None:
        self._frames: deque[tuple[VideoFrame, float]] = deque()
        self._times: list[float] = []
        self.last_t: float | None = None
        self.max_t = -math.inf
        self.reordered = 0

    def offer(self, vf: VideoFrame, t: float) -> _Fate:
        if t in self._times or t == self.last_t:
            return _Fate.REPEATED
        if self.last_t is not None and t < self.last_t:
            return _Fate.BACKWARD
        self._frames.append((vf, t))
        heapq.heappush(self._times, t)
        self.max_t = max(self.max_t, t)
        return _Fate.KEPT

    def ready(self, *, flush: bool = False) -> Iterator[tuple[VideoFrame, float]]:
        while self._frames and (flush or len(self._frames) > self.DEPTH):
            vf, own = self._frames.popleft()
            t = heapq.heappop(self._times)
            self.reordered += t != own
            self.last_t = t
            yield vf, t


@dataclass(frozen=True)
class _Input:
    """A video file, or its bytes in memory (an upload): what PyAV opens."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, source: Path | bytes) -> _Input:
        if isinstance(source, bytes):
            return cls(upload_name(len(source)), data=source)
        return cls(str(source), path=source)

    def open(self) -> InputContainer:
        """A new container over the input (raises PyAV's errors)."""
        import av

        # metadata_errors="ignore": some AVI writers store metadata that is not UTF-8.
        if self.data is not None:
            return av.open(io.BytesIO(self.data), "r", metadata_errors="ignore")
        return av.open(str(self.path), metadata_errors="ignore")

    def kind(self) -> str | None:
        """The container the first bytes announce, if any."""
        if self.data is not None:
            return head_kind(self.data[:16])
        return container_kind(self.path) if self.path is not None else None

    def cut_short(self) -> bool | None:
        """See :func:`livecert.io.mpegps.cut_short`."""
        if self.data is not None:
            return cut_short(self.data)
        return cut_short(self.path) if self.path is not None else None


class VideoFileSource(FrameSource):
    """A video file decoded by PyAV on a background thread.

    Parameters
    ----------
    path : Path or bytes
        The file, or its bytes in memory (an upload, named
        ``"<upload of N bytes>"`` in messages).
    queue_size : int
        Frames decoded ahead of the consumer.
    audio : bool
        Also decode the first audio stream while demuxing the video (one
        pass over the file); :meth:`audio_track` returns it afterwards.
    """

    def __init__(
        self,
        path: Path | bytes,
        *,
        queue_size: int = 8,
        audio: bool = False,
        limits: LimitsConfig | None = None,
    ) -> None:
        self._limits = limits or LimitsConfig()
        self._input = src = _Input.of(path)
        name = src.name
        self._container: InputContainer | None = _open_container(src)
        try:
            streams = self._container.streams
            vstream, self._stream_note = _main_video_stream(src, streams.video)
            if vstream is None:
                raise InputError(f"{name}: the file has no video stream", code=ErrorCode.NO_VIDEO_STREAM)
            rate = vstream.average_rate or vstream.guessed_rate
            nominal = float(rate) if rate else None
            _check_declared(name, vstream, nominal, self._limits)
            super().__init__(
                SourceInfo(
                    name=name, kind=SourceKind.FILE, path=src.path, has_audio=bool(streams.audio), nominal_fps=nominal
                )
            )
        except BaseException:
            self._container.close()
            raise
        self._vstream = vstream
        # MPEG-1 and MPEG-2 video have one frame rate by definition, so a jump in the
        # timestamps is a picture lost in the file (FFmpeg may merge two into one unseen).
        self._cfr_period = 1.0 / nominal if nominal and vstream.codec_context.name in _CONSTANT_RATE_CODECS else None
        # One decoding thread: FFmpeg then reports a damaged packet on the thread that
        # decodes it, where it is counted (the frames are decoded beside the analysis anyway).
        vstream.thread_count = 1
        start = self._container.start_time
        self._t0 = float(start) / 1e6 if start is not None else 0.0
        # Where the video should end on the clip timeline, when the file says so.  The
        # container's duration is used only without audio, which may outlast the video.
        self._declared_end_s: float | None = None
        if vstream.duration and vstream.time_base:
            s0 = float(vstream.start_time * vstream.time_base) if vstream.start_time is not None else self._t0
            self._declared_end_s = s0 - self._t0 + float(vstream.duration * vstream.time_base)
        elif self._container.duration and not streams.audio and len(streams.video) == 1:
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
            self._audio = AudioDecoder(self._container, name)
        self._handoff: Handoff[Frame] = Handoff(queue_size)
        self._thread: threading.Thread | None = None
        self._report = DecodeReport()
        # An MPEG program stream whose packet headers do not chain up lost bytes in the
        # middle; FFmpeg resynchronises without a word, and a frame may be gone with them.
        self._ps_damaged = self._container.format.name == "mpeg" and src.cut_short() is None

    @property
    def report(self) -> DecodeReport:
        """Frames dropped, packets damaged and timestamps repaired (complete after the last frame)."""
        return self._report

    def _decode_loop(self) -> None:
        import av
        import av.logging

        path = self.info.name
        counts = _Counts()
        order = _Reorder()
        try:
            if self._container is None:
                raise SessionStateError(f"{path}: the frame source was closed; open it again")
            _report_ffmpeg_errors()
            streams = [self._vstream] if self._audio is None else [self._vstream, self._audio.stream]
            demuxed = self._container.demux(streams)
            with av.logging.Capture(local=True) as logs:
                seen = 0
                for packet in demuxed:
                    if self._handoff.stopped:
                        return
                    if _has_error(logs, seen):  # the demuxer skipped damaged bytes (a packet may be lost)
                        counts.damaged += 1
                    seen = len(logs)
                    if packet.stream is not self._vstream:
                        self._decode_audio(packet)
                        continue
                    if packet.size:
                        counts.packets += 1
                    t0 = time.perf_counter()
                    try:
                        frames = cast("list[VideoFrame]", packet.decode())  # a packet of the video stream
                    except av.error.FFmpegError as exc:
                        # A damaged packet is counted and skipped, like a dropped frame; the
                        # file is refused if too many are (max_damaged_fraction).
                        counts.failed += 1
                        counts.damaged += 1
                        log.debug("%s: damaged video packet %d (%s)", path, counts.packets, exc)
                        continue
                    if _has_error(logs, seen):
                        counts.damaged += 1
                    seen = len(logs)
                    for vf in frames:
                        counts.frames_out += 1
                        t = self._timestamp(vf, counts.frames_out - 1)
                        fate = order.offer(vf, t)
                        if fate is _Fate.REPEATED:
                            counts.repeated += 1
                        elif fate is _Fate.BACKWARD:
                            self._refuse_backward(demuxed, counts, t, order.max_t)
                        for ready, ready_t in order.ready():
                            if not self._deliver(ready, ready_t, counts, t0):
                                return
                            t0 = time.perf_counter()
                for ready, ready_t in order.ready(flush=True):
                    if not self._deliver(ready, ready_t, counts, t0):
                        return
            counts.reordered = order.reordered
            self._finish(counts)
            self._audio_done = True
            self._handoff.end()
        except InputError as exc:
            self._handoff.fail(exc)
        except av.error.FFmpegError as exc:
            self._handoff.fail(_decode_error(path, exc, counts.delivered, counts.last_t))
        except Exception as exc:  # forwarded to the consumer thread, which re-raises it
            self._handoff.fail(exc)

    def _deliver(self, vf: VideoFrame, t: float, counts: _Counts, t0: float) -> bool:
        """Convert one frame, check it against the limits and queue it; False when stopped."""
        limits = self._limits
        if vf.width * vf.height > limits.max_frame_pixels:
            raise _frame_too_large(self.info.name, vf.width, vf.height, limits)
        if counts.delivered >= limits.max_frames:
            raise InputError(
                f"{self.info.name}: more than {limits.max_frames} frames; livecert judges recordings of at most "
                f"{limits.max_frames} frames (LimitsConfig.max_frames): send a shorter recording",
                code=ErrorCode.TOO_MANY_FRAMES,
            )
        if t > limits.max_duration_s:
            raise _too_long(self.info.name, t, limits)
        rgb = cast(Image, vf.to_ndarray(format="rgb24"))
        rot = int(getattr(vf, "rotation", 0) or 0)
        if rot % 360:
            rgb = np.ascontiguousarray(np.rot90(rgb, k=round(rot / 90)))
        frame = Frame(rgb, t, counts.delivered, (time.perf_counter() - t0) * 1e3)
        if self._cfr_period is not None and counts.last_t is not None and t - counts.last_t > 1.5 * self._cfr_period:
            counts.missing += round((t - counts.last_t) / self._cfr_period) - 1
        counts.delivered += 1
        counts.last_t = t
        return self._handoff.put(frame)

    def _refuse_backward(self, demuxed: Iterator[Packet[Stream]], counts: _Counts, t: float, last: float) -> None:
        """Timestamps that go back beyond any B-frame reordering: refuse, saying how much of the file follows."""
        at = counts.frames_out - 1
        rest = sum(1 for p in demuxed if p.stream is self._vstream and p.size)
        raise InputError(
            f"{self.info.name}: the timestamps go back at frame {at} ({t:.2f} s after {last:.2f} s), and about "
            f"{rest + 1} of its {counts.packets + rest} frames come from there on: the file joins several "
            "recordings or its clock was reset; record it again in one take",
            code=ErrorCode.TIMESTAMP_NOT_INCREASING,
        )

    def _finish(self, counts: _Counts) -> None:
        """Check the file's length and damage, and say what was left out (:attr:`report`).

        A packet that decodes to no picture without an error is not counted:
        codecs such as Indeo store "repeat the last picture" packets, and the
        timestamps of the pictures that follow stay right.
        """
        path = self.info.name
        counts.damaged += self._ps_damaged
        bad = counts.damaged + counts.repeated
        if counts.delivered == 0 and counts.damaged:
            raise InputError(
                f"{path}: none of its {counts.packets} video packets decode ({counts.damaged} damaged); "
                "record or copy it again",
                code=ErrorCode.DAMAGED_FILE,
            )
        if counts.packets and bad > self._limits.max_damaged_fraction * counts.packets:
            raise InputError(
                f"{path}: {bad} of its {counts.packets} video packets are damaged or repeat a timestamp "
                f"({counts.failed} do not decode, {counts.damaged - counts.failed} decode with errors, "
                f"{counts.repeated} repeat a timestamp); more than {self._limits.max_damaged_fraction:.0%} "
                "(LimitsConfig.max_damaged_fraction): record or copy it again",
                code=ErrorCode.DAMAGED_FILE,
            )
        self._check_complete(counts.delivered, counts.last_t)
        notes: list[str] = [self._stream_note] if self._stream_note else []
        dropped = counts.failed + counts.repeated + counts.missing
        if counts.failed + counts.repeated:
            notes.append(
                f"{counts.failed + counts.repeated} frames were dropped ({counts.failed} damaged packets did not "
                f"decode, {counts.repeated} frames repeated an earlier timestamp)"
            )
        if counts.missing:
            notes.append(
                f"{counts.missing} frames are missing: the timestamps of this constant-rate MPEG video skip them "
                "(the file is damaged)"
            )
        if self._ps_damaged:
            notes.append("the MPEG program stream has damaged packet headers; frames may be missing")
        if counts.damaged > counts.failed + self._ps_damaged:
            notes.append(
                f"{counts.damaged - counts.failed - self._ps_damaged} of {counts.packets} video packets decoded "
                "with errors; "
                "their frames may show artefacts"
            )
        for note in notes:
            log.warning("%s: %s", path, note)
        if counts.reordered:
            log.info("%s: %d frames' timestamps were put back in order (B-frames)", path, counts.reordered)
        self._report = DecodeReport(counts.delivered, dropped, counts.damaged, counts.reordered, tuple(notes))

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
            if self._input.data is not None:
                return read_audio(self._input.data)
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

    def _frames(self) -> Iterator[Frame]:
        self._thread = threading.Thread(target=self._decode_loop, name="livecert-decode", daemon=True)
        self._thread.start()
        count = 0
        for item in self._handoff:
            count += 1
            yield item
        if count == 0:
            raise InputError(
                f"{self.info.name}: the video has no frames that can be decoded", code=ErrorCode.ZERO_FRAMES
            )

    def close(self) -> None:
        self._handoff.stop()
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


def _open_container(src: _Input) -> InputContainer:
    import av

    path = src.name
    try:
        container = src.open()
    except av.error.FFmpegError as exc:
        kind = src.kind()
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
    if container.format.name == "mpeg" and src.cut_short():
        # a program stream declares no duration: a cut copy would pass for a shorter recording
        container.close()
        raise InputError(
            f"{path}: the MPEG file ends in the middle of a packet: it is truncated; record or copy it again",
            code=ErrorCode.TRUNCATED_FILE,
        )
    return container


def _main_video_stream(src: _Input, videos: Sequence[VideoStream]) -> tuple[VideoStream | None, str]:
    """The recording among the video streams, and a note when there were several.

    Cover pictures are not recordings.  Of several recordings the longest is
    judged (then the one with most frames, then the largest), measured by
    reading the packets once without decoding them (headers often declare no
    length); the note says so and goes into the result's warnings.
    """
    from av.stream import Disposition

    candidates = [s for s in videos if not s.disposition & Disposition.attached_pic]
    if len(candidates) <= 1:
        return (candidates[0] if candidates else None), ""
    span = _stream_spans(src)

    def key(s: VideoStream) -> tuple[float, int, int]:
        seconds, packets = span.get(s.index, (0.0, 0))
        return seconds, packets, (s.width or 0) * (s.height or 0)

    best = max(candidates, key=key)
    note = (
        f"the file has {len(candidates)} video streams; stream {best.index} ({best.width}x{best.height}, "
        f"{key(best)[0]:.1f} s) was judged and the others ignored"
    )
    return best, note


def _stream_spans(src: _Input) -> dict[int, tuple[float, int]]:
    """Seconds from first to last packet, and packets, of each video stream (no decoding)."""
    import av

    first: dict[int, float] = {}
    last: dict[int, float] = {}
    packets: dict[int, int] = {}
    try:
        with src.open() as container:
            for packet in container.demux(container.streams.video):
                i = packet.stream.index
                packets[i] = packets.get(i, 0) + (1 if packet.size else 0)
                if packet.pts is not None and packet.time_base is not None:
                    t = float(packet.pts * packet.time_base)
                    first[i] = min(first.get(i, t), t)
                    last[i] = max(last.get(i, t), t)
    except av.error.FFmpegError:
        pass  # damaged further on: judge by what was read
    return {i: (last.get(i, 0.0) - first.get(i, 0.0), n) for i, n in packets.items()}


def _check_declared(path: str, vstream: VideoStream, fps: float | None, limits: LimitsConfig) -> None:
    """Refuse, before decoding, a stream whose header is beyond the limits."""
    w, h = vstream.width or 0, vstream.height or 0
    if w * h > limits.max_frame_pixels:
        raise _frame_too_large(path, w, h, limits)
    if 0 < min(w, h) < MIN_SIDE:
        raise InputError(
            f"{path}: the video is {w}x{h} pixels, at least {MIN_SIDE}x{MIN_SIDE} are needed (a face needs far "
            "more); record at a higher resolution",
            code=ErrorCode.FRAME_TOO_SMALL,
        )
    if vstream.duration and vstream.time_base and float(vstream.duration * vstream.time_base) > limits.max_duration_s:
        raise _too_long(path, float(vstream.duration * vstream.time_base), limits)
    if vstream.frames and vstream.frames > limits.max_frames:
        raise InputError(
            f"{path}: the file declares {vstream.frames} frames; livecert judges recordings of at most "
            f"{limits.max_frames} frames (LimitsConfig.max_frames): send a shorter recording",
            code=ErrorCode.TOO_MANY_FRAMES,
        )


def _frame_too_large(path: str, w: int, h: int, limits: LimitsConfig) -> InputError:
    return InputError(
        f"{path}: frames of {w}x{h} pixels are larger than the {limits.max_frame_pixels / 1e6:.1f} Mpx livecert "
        "decodes (LimitsConfig.max_frame_pixels); record at 1080p or 720p",
        code=ErrorCode.FRAME_TOO_LARGE,
    )


def _too_long(path: str, seconds: float, limits: LimitsConfig) -> InputError:
    return InputError(
        f"{path}: the recording runs to {seconds:.0f} s, longer than the {limits.max_duration_s:.0f} s livecert "
        "judges (LimitsConfig.max_duration_s): send a shorter recording",
        code=ErrorCode.TOO_LONG,
    )


_ffmpeg_errors_on = False


def _has_error(logs: list[tuple[int, str, str]], since: int) -> bool:
    """Did FFmpeg report an error after the first ``since`` captured messages?"""
    import av.logging

    return any(level <= av.logging.ERROR for level, _, _ in logs[since:])


def _report_ffmpeg_errors() -> None:
    """Have FFmpeg report decoding errors to PyAV, where the decode thread counts them.

    PyAV passes nothing on by default.  At ``ERROR`` level a message that is not
    captured goes to the ``libav`` logger, which gets a NullHandler so that
    nothing is printed unless the application configures logging.
    """
    global _ffmpeg_errors_on
    if _ffmpeg_errors_on:
        return
    import av.logging

    level = av.logging.get_level()
    if level is None or level < av.logging.ERROR:
        av.logging.set_level(av.logging.ERROR)
        if level is None:  # the application did not ask for FFmpeg's messages: keep them out of its logs
            logging.getLogger("libav").propagate = False
    logging.getLogger("libav").addHandler(logging.NullHandler())
    _ffmpeg_errors_on = True
