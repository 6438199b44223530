"""Issue 19: recordings livecert cannot fully trust, resource limits, and inputs that used
to hang, blow up memory or end in a traceback.  Every input is built here."""

from __future__ import annotations

import logging
import os
import sqlite3
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from livecert.config import LimitsConfig
from livecert.errors import ChallengeError, InputError, LivecertError
from livecert.face import landmarks
from livecert.io.images import read_image_rgb
from livecert.io.sources import open_source
from livecert.liveness.challenge import (
    SQLiteNonceStore,
    generate_key,
    load_key,
    new_challenge,
    save_key,
)

from .videos import write_video

KEY = bytes(range(32))


def _frame(i: int, h: int = 96, w: int = 128) -> np.ndarray:
    """A frame whose brightness encodes its index (distinct for i < 25)."""
    return np.full((h, w, 3), 20 + 9 * i, np.uint8)


def _encode(path: Path, n: int, *, codec: str = "mpeg2video", fmt: str | None = None, **options: str) -> Path:
    with av.open(str(path), "w", format=fmt) as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 128, 96, "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if options:
            s.options = dict(options)
        for i in range(n):
            vf = av.VideoFrame.from_ndarray(_frame(i), format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def _read(path: Path, limits: LimitsConfig | None = None) -> tuple[list, object]:
    with open_source(path, limits=limits) as src:
        frames = list(src)
    return frames, src.report


def _finishes(fn: Callable[[], object], timeout_s: float = 10.0) -> object:
    """Run ``fn`` on a thread; fail (instead of hanging the suite) if it blocks."""
    box: list[object] = []
    t = threading.Thread(target=lambda: box.append(_outcome(fn)), daemon=True)
    t.start()
    t.join(timeout_s)
    assert not t.is_alive(), "blocked"
    return box[0]


def _outcome(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except Exception as exc:  # returned for the test to inspect
        return exc


# ---------------------------------------------------------------- frames and timestamps


@pytest.mark.parametrize("suffix,fmt,codec", [(".ts", "mpegts", "mpeg2video"), (".mpg", "mpeg", "mpeg1video")])
def test_joined_recordings_are_refused_with_a_count(tmp_path: Path, suffix: str, fmt: str, codec: str) -> None:
    # `cat a.ts b.ts`: the second recording's clock starts again.  Judging only the
    # frames before the reset (what happened) judges a different recording.
    one = _encode(tmp_path / f"one{suffix}", 25, codec=codec, fmt=fmt).read_bytes()
    joined = tmp_path / f"joined{suffix}"
    joined.write_bytes(one + one)
    with pytest.raises(InputError) as err:
        _read(joined)
    assert err.value.code == "TIMESTAMP_NOT_INCREASING"
    assert "go back at frame" in str(err.value) and "of its" in str(err.value)


def test_avi_with_b_frames_keeps_every_frame_in_order(tmp_path: Path) -> None:
    # AVI stores no presentation times: FFmpeg labels B-frames out of order.
    path = _encode(tmp_path / "bf.avi", 25, codec="libx264", bf="3")
    frames, report = _read(path)
    assert len(frames) == 25
    np.testing.assert_allclose(np.diff([f.t_s for f in frames]), 0.04, atol=1e-6)
    brightness = [float(f.rgb.mean()) for f in frames]
    assert brightness == sorted(brightness)  # pictures in display order
    assert report.reordered > 0 and report.dropped == 0 and not report.warnings


def _packet_positions(path: Path) -> list[tuple[int, int]]:
    with av.open(str(path)) as c:
        return [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.pos is not None]


def test_damaged_first_packet_decodes_the_rest_and_says_so(tmp_path: Path) -> None:
    path = _encode(tmp_path / "clip.avi", 25, codec="mpeg4", g="5")
    pos, size = _packet_positions(path)[0]
    data = bytearray(path.read_bytes())
    data[pos + 8 : pos + size] = np.random.default_rng(0).integers(0, 256, size - 8, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    frames, report = _read(path)
    assert 15 <= len(frames) < 25
    assert report.damaged >= 1 and report.warnings


def test_bytes_damaged_throughout_give_a_warning_or_a_refusal(tmp_path: Path) -> None:
    # H.264 conceals damage: frames come out with artefacts and no error unless counted.
    path = _encode(tmp_path / "clip.mp4", 25, codec="libx264", bf="0")
    data = bytearray(path.read_bytes())
    for pos, size in _packet_positions(path)[2::4]:
        data[pos + size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    try:
        _, report = _read(path)
    except InputError as exc:
        assert exc.code == "DAMAGED_FILE"
    else:
        assert report.damaged > 0 and any("damaged" in w or "errors" in w for w in report.warnings)


def test_two_video_streams_judge_the_longest_and_say_so(tmp_path: Path) -> None:
    path = tmp_path / "two.mkv"
    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as out:
        noise, face = (out.add_stream("mpeg4", rate=25) for _ in range(2))
        for s in (noise, face):
            s.width, s.height, s.pix_fmt = 128, 96, "yuv420p"
        for stream, n in ((noise, 5), (face, 25)):
            for i in range(n):
                rgb = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8) if stream is noise else _frame(i)
                vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                vf.pts = i
                for p in stream.encode(vf):
                    out.mux(p)
            for p in stream.encode():
                out.mux(p)
    frames, report = _read(path)
    assert len(frames) == 25
    assert any("2 video streams" in w for w in report.warnings)


def test_repeated_timestamps_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "rep.mkv"
    with av.open(str(path), "w") as out:
        s = out.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 128, 96, "yuv420p"
        for i in range(25):
            vf = av.VideoFrame.from_ndarray(_frame(i), format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                if p.pts == 12:  # the muxer keeps a packet with the timestamp of the one before
                    p.pts = p.dts = 11
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    frames, report = _read(path)
    assert len(frames) == 24 and report.dropped == 1
    assert any("repeated" in w for w in report.warnings)


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize(
    "limits,code",
    [
        (LimitsConfig(max_frame_pixels=10_000), "FRAME_TOO_LARGE"),
        (LimitsConfig(max_frames=10), "TOO_MANY_FRAMES"),
        (LimitsConfig(max_duration_s=0.5), "TOO_LONG"),
    ],
)
def test_limits_refuse_with_their_own_code(tmp_path: Path, limits: LimitsConfig, code: str) -> None:
    path = write_video(tmp_path / "clip.mkv", [i / 25 for i in range(25)])
    with pytest.raises(InputError) as err:
        _read(path, limits)
    assert err.value.code == code and "LimitsConfig" in str(err.value)


def test_limits_are_checked_on_what_is_decoded_too(tmp_path: Path) -> None:
    # mpeg-ts declares neither frame count nor duration up front
    path = _encode(tmp_path / "clip.ts", 25, fmt="mpegts")
    with pytest.raises(InputError) as err:
        _read(path, LimitsConfig(max_frames=10))
    assert err.value.code == "TOO_MANY_FRAMES"


def test_tiny_video_is_called_too_small(tmp_path: Path) -> None:
    path = write_video(tmp_path / "tiny.mkv", [0.0, 0.04], size=(8, 8))
    with pytest.raises(InputError) as err:
        _read(path)
    assert err.value.code == "FRAME_TOO_SMALL" and "grayscale" not in str(err.value)


@pytest.mark.parametrize("field", ["max_frame_pixels", "max_frames", "max_duration_s", "max_damaged_fraction"])
def test_limits_config_validates(field: str) -> None:
    with pytest.raises(InputError) as err:
        LimitsConfig(**{field: -1})
    assert err.value.code == "BAD_CONFIG"


def _png_header_only(path: Path, w: int, h: int, color_type: int) -> Path:
    """A PNG whose header says w x h; its image data is a token (never reached)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("color_type", [4, 6, 2])  # LA, RGBA, RGB
def test_huge_png_is_refused_before_decoding(tmp_path: Path, color_type: int) -> None:
    path = _png_header_only(tmp_path / "huge.png", 19999, 19999, color_type)
    with pytest.raises(InputError) as err:
        read_image_rgb(path)
    assert err.value.code == "IMAGE_TOO_LARGE"


def test_large_rgba_image_is_reduced_before_conversion(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "big.png"
    rgba = np.zeros((3000, 4000, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = read_image_rgb(path)
    assert rgb.shape == (1536, 2048, 3) and rgb[..., 0].mean() > 190
    with pytest.raises(InputError) as err:
        read_image_rgb(path, max_pixels=1_000_000)
    assert err.value.code == "IMAGE_TOO_LARGE"


# ---------------------------------------------------------------- files that hang or mislead


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.mp4"
    os.mkfifo(fifo)
    for fn in (lambda: open_source(fifo), lambda: read_image_rgb(fifo), lambda: load_key(fifo)):
        outcome = _finishes(fn)
        assert isinstance(outcome, LivecertError) and outcome.code == "NOT_A_REGULAR_FILE", outcome


def test_symlink_loop_is_not_called_missing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(InputError) as err:
        open_source(a)
    assert err.value.code == "FILE_UNREADABLE" and "loop" in str(err.value)


# ---------------------------------------------------------------- stderr shared by threads


def test_native_stderr_is_restored_when_threads_overlap() -> None:
    # Thread A silences, B silences, A leaves, B leaves: fd 2 must be the original
    # again (each thread saving and restoring fd 2 left it on /dev/null).
    before = os.fstat(2)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a() -> None:
        with landmarks._quiet_native_stderr():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with landmarks._quiet_native_stderr():
            b_in.set()
            a_out.wait(5)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_lines_written_while_native_logs_are_held_back_are_not_lost(capfd: pytest.CaptureFixture[str]) -> None:
    """While fd 2 is held back, MediaPipe's start-up noise is dropped; every other line, from this
    thread or another (a Python warning, a native error), is written afterwards."""
    noise = (
        b"I0000 00:00:1796416515.189045   15272 gl_context.cc:369] GL version: 3.2\n",
        b"W0000 00:00:1796416515.218518   15270 landmark_projection_calculator.cc:186] Using NORM_RECT\n",
        b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    )
    kept = (
        b"livecert: WARNING: the enrollment photo is small\n",
        b"E0000 00:00:1796416515.3   15270 calculator_graph.cc:887] a native error\n",
    )
    capfd.readouterr()
    with landmarks._quiet_native_stderr():
        for line in noise:
            os.write(2, line)
        os.write(2, kept[0])
        other = threading.Thread(target=os.write, args=(2, kept[1]))
        other.start()
        other.join(5)
        assert capfd.readouterr().err == ""  # held back meanwhile
    err = capfd.readouterr().err
    assert err == (kept[0] + kept[1]).decode()


# ---------------------------------------------------------------- single-use store and keys


def _corrupt_db(path: Path) -> None:
    SQLiteNonceStore(path).close()  # its schema
    with sqlite3.connect(path) as conn:  # many used nonces, in one transaction
        conn.executemany(
            "INSERT INTO used_nonces VALUES (?, ?)", [(f"nonce-{i:05d}-" + "x" * 40, 1e12) for i in range(2000)]
        )
    conn.close()
    data = bytearray(path.read_bytes())
    page = struct.unpack(">H", data[16:18])[0]
    for start in range(page, len(data), page):  # keep the header page, scramble every other one
        data[start + 8 : start + 64] = b"\xa5" * 56
    path.write_bytes(bytes(data))


def test_corrupt_nonce_store_is_an_input_error(tmp_path: Path) -> None:
    db = tmp_path / "used.sqlite"
    _corrupt_db(db)
    with pytest.raises(ChallengeError) as err:
        store = SQLiteNonceStore(db)
        store.consume("n", 1e12, 0.0)
    assert err.value.code == "NONCE_STORE_UNAVAILABLE"


def test_read_only_nonce_store_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "used.sqlite"
    SQLiteNonceStore(db).close()

    def read_only(self: SQLiteNonceStore) -> sqlite3.Connection:  # root ignores file modes: open it read-only
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)

    monkeypatch.setattr(SQLiteNonceStore, "_connect", read_only)
    with pytest.raises(ChallengeError) as err:
        SQLiteNonceStore(db)
    assert err.value.code == "NONCE_STORE_UNAVAILABLE"


def test_nonce_store_failing_later_is_an_input_error(tmp_path: Path) -> None:
    db = tmp_path / "used.sqlite"
    store = SQLiteNonceStore(db)
    _corrupt_db(db)
    with pytest.raises(ChallengeError) as err:
        for i in range(50):
            store.consume(f"late-{i}", 1e12, 0.0)
    assert err.value.code == "NONCE_STORE_UNAVAILABLE"


def test_key_file_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ChallengeError) as err:
        save_key(tmp_path / "nodir" / "k", generate_key())
    assert err.value.code == "CANNOT_WRITE"


def test_key_file_readable_by_others_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "k"
    path.write_text(KEY.hex())
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="livecert.liveness.challenge"):
        assert load_key(path) == KEY
    assert "chmod 600" in caplog.text


def test_all_zero_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text("00" * 32)
    with pytest.raises(ChallengeError) as err:
        load_key(path)
    assert err.value.code == "BAD_KEY"


def test_absurd_ttl_is_refused() -> None:
    with pytest.raises(ChallengeError):
        new_challenge(4, ttl_s=1e308)


def test_token_with_surrounding_whitespace_is_valid() -> None:
    from livecert.liveness.challenge import Challenge

    c = new_challenge(4, now=1000.0)
    token = c.to_token(KEY)
    assert Challenge.from_token(f"  {token}\n", KEY).nonce == c.nonce


def test_a_picture_missing_from_a_constant_rate_mpeg_video_is_counted(tmp_path: Path) -> None:
    """MPEG-1 video has one frame rate; a picture the file lost (FFmpeg may merge two without
    an error) leaves a gap in the timestamps, now counted as dropped with a warning (issue 19)."""
    import av

    path = tmp_path / "gap.mpg"
    with av.open(str(path), "w", format="mpeg") as out:
        stream = out.add_stream("mpeg1video", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        rng = np.random.default_rng(0)
        for i in [*range(10), *range(11, 20)]:  # picture 10 is missing
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with open_source(path) as src:
        frames = list(src)
        report = src.report
    assert len(frames) == 19 and report.dropped == 1, report
    assert any("missing" in w for w in report.warnings), report.warnings
