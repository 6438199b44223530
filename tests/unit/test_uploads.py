"""Issue 18: recordings given in memory (bytes, bytearray, memoryview, binary file objects)
are decoded like files, with the same checks and the same error codes."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import livecert
from livecert.config import LimitsConfig, VerifyConfig
from livecert.errors import ErrorCode, InputError
from livecert.io.mpegps import cut_short
from livecert.io.sources import open_source
from livecert.io.uploads import read_upload

from .videos import write_av_clip, write_video


def _read(source: object, limits: LimitsConfig | None = None, audio: bool = False) -> tuple[list, object, object]:
    with open_source(source, limits=limits, audio=audio) as src:  # type: ignore[arg-type]
        frames = list(src)
        track = src.audio_track()
    return frames, src.report, (src.info, track)


def _code(fn: Callable[[], object]) -> str:
    with pytest.raises(InputError) as err:
        fn()
    return str(err.value.code)


# Every in-memory form of the same bytes.
FORMS: dict[str, Callable[[Path], object]] = {
    "bytes": lambda p: p.read_bytes(),
    "bytearray": lambda p: bytearray(p.read_bytes()),
    "memoryview": lambda p: memoryview(p.read_bytes()),
    "BytesIO": lambda p: io.BytesIO(p.read_bytes()),
    "file-rb": lambda p: open(p, "rb"),  # noqa: SIM115 - closed by the garbage collector
    "file-rb-unbuffered": lambda p: open(p, "rb", buffering=0),  # noqa: SIM115
}


@pytest.fixture
def mp4(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4", [i / 25 for i in range(30)])


@pytest.mark.parametrize("form", list(FORMS))
def test_every_in_memory_form_decodes_like_the_file(mp4: Path, form: str) -> None:
    ref, ref_report, _ = _read(mp4)
    frames, report, (info, _) = _read(FORMS[form](mp4))
    assert [f.t_s for f in frames] == [f.t_s for f in ref]
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(frames, ref))
    assert report == ref_report
    size = mp4.stat().st_size
    assert info.name == f"<upload of {size} bytes>" and info.kind == "file" and info.path is None


@pytest.mark.parametrize("codec", ["mpeg1video", "mpeg2video"])
def test_mpeg_program_stream_in_memory(tmp_path: Path, codec: str) -> None:
    full = write_video(tmp_path / "full.mpg", [i / 25 for i in range(50)], codec=codec, time_base=Fraction(1, 25))
    data = full.read_bytes()
    assert cut_short(data) is False
    assert len(_read(data)[0]) == 50
    cut = data[: len(data) // 2 + 7]
    assert cut_short(cut) is True
    assert _code(lambda: _read(cut)) == "TRUNCATED_FILE"
    assert cut_short(b"") is None and cut_short(b"\x00" * 64) is None


def test_packet_walk_agrees_on_files_and_bytes(tmp_path: Path) -> None:
    data = write_video(
        tmp_path / "v.mpg", [i / 25 for i in range(30)], codec="mpeg1video", time_base=Fraction(1, 25)
    ).read_bytes()
    rng = np.random.default_rng(3)
    for i in range(40):
        damaged = bytearray(data[: int(rng.integers(1, len(data)))])
        damaged[int(rng.integers(0, len(damaged)))] ^= 0xFF
        path = tmp_path / f"d{i}.mpg"
        path.write_bytes(bytes(damaged))
        assert cut_short(bytes(damaged)) == cut_short(path)


@pytest.mark.parametrize(("suffix", "n_frames"), [(".mp4", 90), (".mkv", 300)], ids=["mp4", "mkv-frames-stop-early"])
def test_truncated_upload(tmp_path: Path, suffix: str, n_frames: int) -> None:
    full = write_video(tmp_path / f"full{suffix}", [i / 30 for i in range(n_frames)]).read_bytes()
    cut = full[: len(full) // 2]
    assert _code(lambda: _read(cut)) == "TRUNCATED_FILE"
    assert _code(lambda: _read(io.BytesIO(cut))) == "TRUNCATED_FILE"


def test_truncated_avi_upload_without_its_index(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.avi", [i / 25 for i in range(100)], time_base=Fraction(1, 25)).read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(full[: len(full) // 2])
    assert _code(lambda: _read(full[: len(full) // 2])) == _code(lambda: _read(path)) == "TRUNCATED_FILE"


@pytest.mark.parametrize("form", ["bytes", "bytearray", "memoryview", "BytesIO", "file-rb"])
def test_empty_upload(tmp_path: Path, form: str) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(InputError) as err:
        open_source(FORMS[form](path))  # type: ignore[arg-type]
    assert err.value.code == "EMPTY_FILE" and "<upload of 0 bytes>" in str(err.value)


@pytest.mark.parametrize(
    "data",
    [b"this is a text file, not a video\n" * 20, bytes(range(256)) * 8, b"\x00\x00\x01\xba" + b"\xff" * 300],
    ids=["text", "noise", "mpeg-magic-then-junk"],
)
def test_not_a_video_gives_the_files_code(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(data)
    assert _code(lambda: _read(data)) == _code(lambda: _read(path))


def test_image_bytes_are_not_a_video(tmp_path: Path) -> None:
    from PIL import Image

    rgb = np.zeros((64, 64, 3), np.uint8)
    for fmt in ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF"):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format=fmt)
        with pytest.raises(InputError) as err:
            open_source(buf.getvalue())
        assert err.value.code == "NOT_A_VIDEO" and "image" in str(err.value), fmt
        buf.seek(0)
        assert _code(lambda b=buf: open_source(b)) == "NOT_A_VIDEO"  # type: ignore[misc]


class _StrReader:
    def read(self, size: int = -1) -> str:
        return "not bytes"


class _IntReader:
    def read(self, size: int = -1) -> int:
        return 7


def test_text_mode_is_bad_source(mp4: Path) -> None:
    with open(mp4, encoding="latin-1") as text:
        for source in (text, io.StringIO("abc"), _StrReader()):
            with pytest.raises(InputError) as err:
                open_source(source)  # type: ignore[arg-type]
            assert err.value.code == "BAD_SOURCE" and "binary mode" in str(err.value)
    assert _code(lambda: open_source(_IntReader())) == "BAD_SOURCE"  # type: ignore[arg-type]
    with pytest.raises(InputError) as err:
        livecert.verify(io.StringIO("abc"))  # type: ignore[arg-type]
    assert err.value.code == "BAD_SOURCE" and "binary mode" in str(err.value)


def test_closed_file_is_unreadable(mp4: Path) -> None:
    fh = open(mp4, "rb")  # noqa: SIM115
    fh.close()
    assert _code(lambda: open_source(fh)) == "FILE_UNREADABLE"


class _CountingReader(io.RawIOBase):
    """A binary stream that hands out at most ``step`` bytes a call and counts what it gave."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self.given, self.calls = data, step, 0, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        n = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self.given : self.given + n]
        self.given += len(chunk)
        return chunk


def test_upload_size_limit(mp4: Path) -> None:
    data = mp4.read_bytes()
    small = LimitsConfig(max_upload_bytes=len(data) - 1)
    for source in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        with pytest.raises(InputError) as err:
            open_source(source, limits=small)
        assert err.value.code == "UPLOAD_TOO_LARGE" and "max_upload_bytes" in str(err.value)
    big = bytes(10_000_000)
    reader = _CountingReader(big, 1000)
    with pytest.raises(InputError) as err:
        read_upload(reader, LimitsConfig(max_upload_bytes=5000))
    assert err.value.code == "UPLOAD_TOO_LARGE" and reader.given <= 5001  # stops reading at the limit
    with pytest.raises(InputError) as err:
        livecert.verify(data, config=VerifyConfig(limits=small))
    assert err.value.code == "UPLOAD_TOO_LARGE"
    # exactly at the limit, and read in short pieces: accepted
    assert len(_read(_CountingReader(data, 777), LimitsConfig(max_upload_bytes=len(data)))[0]) == 30
    assert LimitsConfig().max_upload_bytes == 512 * 2**20
    assert _code(lambda: LimitsConfig(max_upload_bytes=0)) == "BAD_CONFIG"
    assert ErrorCode.UPLOAD_TOO_LARGE == "UPLOAD_TOO_LARGE"


def test_file_object_is_read_from_its_position(mp4: Path) -> None:
    data = mp4.read_bytes()
    buf = io.BytesIO(b"JUNK" + data)
    buf.seek(4)
    assert len(_read(buf)[0]) == 30
    assert buf.read() == b""  # read to its end, once


@pytest.mark.parametrize(
    "limits,code",
    [
        (LimitsConfig(max_frame_pixels=10_000), "FRAME_TOO_LARGE"),
        (LimitsConfig(max_frames=10), "TOO_MANY_FRAMES"),
        (LimitsConfig(max_duration_s=0.5), "TOO_LONG"),
    ],
)
def test_limits_apply_to_uploads(tmp_path: Path, limits: LimitsConfig, code: str) -> None:
    data = write_video(tmp_path / "clip.mkv", [i / 25 for i in range(25)]).read_bytes()
    assert _code(lambda: _read(data, limits)) == code


def test_damaged_packets_are_counted_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    with av.open(str(path), "w") as out:
        s = out.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 128, 96, "yuv420p"
        s.options = {"g": "5"}
        for i in range(25):
            vf = av.VideoFrame.from_ndarray(np.full((96, 128, 3), 20 + 9 * i, np.uint8), format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    with av.open(str(path)) as c:
        pos, size = next((p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.pos is not None)
    data = bytearray(path.read_bytes())
    data[pos + 8 : pos + size] = np.random.default_rng(0).integers(0, 256, size - 8, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    ref, ref_report, _ = _read(path)
    frames, report, _ = _read(bytes(data))
    assert len(frames) == len(ref) < 25
    assert report == ref_report and report.damaged >= 1 and report.warnings  # type: ignore[attr-defined]


def test_two_video_streams_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "two.mkv"
    with av.open(str(path), "w") as out:
        short, long = (out.add_stream("mpeg4", rate=25) for _ in range(2))
        for s in (short, long):
            s.width, s.height, s.pix_fmt = 128, 96, "yuv420p"
        for stream, n in ((short, 5), (long, 25)):
            for i in range(n):
                vf = av.VideoFrame.from_ndarray(np.full((96, 128, 3), 9 * i, np.uint8), format="rgb24")
                vf.pts = i
                for p in stream.encode(vf):
                    out.mux(p)
            for p in stream.encode():
                out.mux(p)
    frames, report, _ = _read(path.read_bytes())
    assert len(frames) == 25 and any("2 video streams" in w for w in report.warnings)  # type: ignore[attr-defined]


@pytest.mark.parametrize("same_pass", [True, False])
def test_audio_of_an_upload(tmp_path: Path, same_pass: bool) -> None:
    path = tmp_path / "av.mkv"
    write_av_clip(path, audio_start_s=0.0)
    _, _, (_, ref) = _read(path, audio=True)
    _, _, (info, track) = _read(io.BytesIO(path.read_bytes()), audio=same_pass)
    assert info.has_audio and track is not None and ref is not None
    assert track.sample_rate == ref.sample_rate and track.start_s == ref.start_s
    np.testing.assert_array_equal(track.samples, ref.samples)


def test_read_audio_from_bytes(tmp_path: Path) -> None:
    from livecert.io.audio import read_audio

    path = tmp_path / "av.mkv"
    write_av_clip(path, audio_start_s=0.0)
    track, ref = read_audio(path.read_bytes()), read_audio(path)
    assert track is not None and ref is not None
    np.testing.assert_array_equal(track.samples, ref.samples)
    assert _code(lambda: read_audio(b"")) == "EMPTY_FILE"
    assert _code(lambda: read_audio(b"no media here" * 10)) == "NOT_A_MEDIA_FILE"


def test_verify_hashes_what_it_read(mp4: Path) -> None:
    data = mp4.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with open(mp4, "rb") as fh:
        from_file_object = livecert.verify(fh)
        assert not fh.closed  # the caller's to close
    results = [livecert.verify(mp4), livecert.verify(data), livecert.verify(bytearray(data)), from_file_object]
    assert {r.meta.input_sha256 for r in results} == {sha}
    dicts = [r.to_dict() for r in results]
    for d in dicts:
        d.pop("timings_ms")
        d["meta"].pop("checked_at")
    assert all(d == dicts[0] for d in dicts)


def test_a_file_name_given_as_bytes_is_bad_source(mp4: Path) -> None:
    with pytest.raises(InputError) as err:
        open_source(str(mp4).encode())
    assert err.value.code == "BAD_SOURCE" and "str or a Path" in str(err.value)
