"""Capture: timestamps, rotation, and every kind of unusable input."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image as PILImage

from livecert.errors import InputError
from livecert.io.images import read_image_rgb
from livecert.io.mpegps import cut_short
from livecert.io.sources import open_source

from .videos import frames_of, write_av_clip, write_video


def test_variable_frame_rate_keeps_container_timestamps(tmp_path: Path) -> None:
    times = [0.0, 0.03, 0.1, 0.12, 0.3, 0.31, 0.5]
    frames = frames_of(write_video(tmp_path / "vfr.mp4", times))
    assert [round(f.t_s, 3) for f in frames] == times
    assert [f.index for f in frames] == list(range(len(times)))


@pytest.mark.parametrize("suffix,codec", [(".avi", "mpeg4"), (".webm", "libvpx"), (".mkv", "mpeg4"), (".mov", "mpeg4")])
def test_other_containers(tmp_path: Path, suffix: str, codec: str) -> None:
    times = [i / 25 for i in range(10)]
    frames = frames_of(write_video(tmp_path / f"clip{suffix}", times, codec=codec))
    assert len(frames) == 10
    assert frames[0].rgb.shape == (96, 128, 3) and frames[0].rgb.dtype == np.uint8
    np.testing.assert_allclose([f.t_s for f in frames], times, atol=0.002)


@pytest.mark.parametrize("rotation,corner", [(90, (-1, 0)), (-90, (0, -1)), (180, (-1, -1))])
def test_rotation_metadata_is_applied(tmp_path: Path, rotation: int, corner: tuple[int, int]) -> None:
    # The red quadrant starts top-left; a display rotation of +90 (counter-clockwise)
    # brings it to the bottom-left, -90 to the top-right, 180 to the bottom-right.
    frame = frames_of(write_video(tmp_path / "rot.mp4", [0.0, 0.1], rotation=rotation))[0]
    assert frame.rgb.shape[:2] == ((128, 96) if rotation % 180 else (96, 128))
    r, g, _ = frame.rgb[corner].astype(int)
    assert r > 200 and g < 60


def test_missing_file() -> None:
    with pytest.raises(InputError) as err:
        open_source("/no/such/clip.mp4")
    assert err.value.code == "FILE_NOT_FOUND" and "/no/such/clip.mp4" in str(err.value)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(InputError) as err:
        open_source(p)
    assert err.value.code == "EMPTY_FILE"


def test_not_a_video(tmp_path: Path) -> None:
    p = tmp_path / "notes.mp4"
    p.write_text("this is a text file, not a video\n" * 20)
    with pytest.raises(InputError) as err:
        frames_of(p)
    assert err.value.code == "NOT_A_VIDEO"
    assert "这是一张图片" not in err.value.message_in("zh")  # a text file is not called a photo


@pytest.mark.parametrize(("suffix", "n_frames"), [(".mp4", 90), (".mkv", 300)], ids=["mp4", "mkv-frames-stop-early"])
def test_truncated_file(tmp_path: Path, suffix: str, n_frames: int) -> None:
    full = write_video(tmp_path / f"full{suffix}", [i / 30 for i in range(n_frames)], size=(320, 240)).read_bytes()
    p = tmp_path / f"cut{suffix}"
    p.write_bytes(full[: len(full) // 2])
    with pytest.raises(InputError) as err:
        frames_of(p)
    assert err.value.code == "TRUNCATED_FILE"


@pytest.mark.parametrize("codec", ["mpeg1video", "mpeg2video"])
def test_truncated_mpeg_program_stream(tmp_path: Path, codec: str) -> None:
    """An .mpg declares no duration: a cut copy is found by its last packet running past the end."""
    full = write_video(tmp_path / "full.mpg", [i / 25 for i in range(100)], codec=codec, time_base=Fraction(1, 25))
    assert cut_short(full) is False
    assert len(frames_of(full)) == 100
    data = full.read_bytes()
    p = tmp_path / "cut.mpg"
    p.write_bytes(data[: len(data) // 2 + 7])
    assert cut_short(p) is True
    with pytest.raises(InputError) as err:
        frames_of(p)
    assert err.value.code == "TRUNCATED_FILE" and "truncated" in str(err.value)


def test_packet_walk_cannot_tell_for_other_containers(tmp_path: Path) -> None:
    assert cut_short(write_video(tmp_path / "v.mp4", [i / 30 for i in range(10)])) is None
    (tmp_path / "empty.mpg").write_bytes(b"")
    assert cut_short(tmp_path / "empty.mpg") is None


@pytest.mark.parametrize("time_base", [Fraction(1, 25), Fraction(1, 1000)])
def test_truncated_avi_without_its_index(tmp_path: Path, time_base: Fraction) -> None:
    """The index (idx1) is at the end of an AVI: a cut file has none, and FFmpeg
    estimates its duration from what is left; the header's chunk count does not lie."""
    full = write_video(tmp_path / "full.avi", [i / 25 for i in range(100)], time_base=time_base)
    assert len(frames_of(full)) == 100
    p = tmp_path / "cut.avi"
    p.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.3)])
    with pytest.raises(InputError) as err:
        frames_of(p)
    assert err.value.code == "TRUNCATED_FILE"


def test_zero_frame_video(tmp_path: Path) -> None:
    p = tmp_path / "zero.avi"
    out = av.open(str(p), "w")
    stream = out.add_stream("mpeg4", rate=30)
    stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    out.start_encoding()
    out.close()
    with pytest.raises(InputError) as err:
        frames_of(p)
    assert err.value.code == "ZERO_FRAMES"


def test_single_image_is_not_a_video(tmp_path: Path) -> None:
    from PIL import Image

    p = tmp_path / "face.png"
    Image.new("RGB", (64, 64)).save(p)
    with pytest.raises(InputError) as err:
        open_source(p)
    assert err.value.code == "NOT_A_VIDEO"


def test_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (64, 48), (i * 50, 0, 0)).save(tmp_path / f"{i:03d}.png")
    frames = frames_of(open_source(tmp_path, fps=10))
    assert [f.t_s for f in frames] == [0.0, 0.1, 0.2]
    assert frames[2].rgb[0, 0, 0] == 100


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(InputError) as err:
        open_source(tmp_path)
    assert err.value.code == "NO_IMAGES"


def test_unreadable_image_in_folder(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(InputError) as err:
        frames_of(tmp_path)
    assert err.value.code == "NOT_AN_IMAGE"
    assert "broken.jpg" in str(err.value) and "give a photo file" in str(err.value)  # what and what to do


def test_truncated_image_says_to_take_it_again(tmp_path: Path) -> None:
    photo = tmp_path / "cut.png"
    buf = io.BytesIO()
    PILImage.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(buf, format="PNG")
    photo.write_bytes(buf.getvalue()[:-40])  # the end of the file lost
    with pytest.raises(InputError) as err:
        read_image_rgb(photo)
    assert err.value.code == "NOT_AN_IMAGE" and "take or copy the photo again" in str(err.value)


def _ok(i: int) -> np.ndarray:
    return np.zeros((32, 32, 3), np.uint8)


@pytest.mark.parametrize(
    "bad,code",
    [
        (np.zeros((32, 32, 3), np.float32), "BAD_FRAME"),
        (np.zeros((32, 32), np.uint8), "BAD_FRAME"),
        (np.zeros((32, 32, 4), np.uint8), "BAD_FRAME"),
        ([[0, 0, 0]], "BAD_FRAME"),
    ],
)
def test_bad_frames(bad: object, code: str) -> None:
    with pytest.raises(InputError) as err:
        frames_of([(_ok(0), 0.0), (bad, 0.1)])
    assert err.value.code == code and "frame 1" in str(err.value)


@pytest.mark.parametrize("times", [[0.0, 0.1, 0.1], [0.0, 0.2, 0.1], [0.0, float("nan")], [0.0, "soon"]])
def test_timestamps_must_increase(times: list) -> None:
    with pytest.raises(InputError) as err:
        frames_of([(_ok(i), t) for i, t in enumerate(times)])
    assert err.value.code in ("TIMESTAMP_NOT_INCREASING", "BAD_TIMESTAMP")


@pytest.mark.parametrize("source", [3.5, b"clip.mp4", {"a": 1}, np.zeros((8, 8, 3), np.uint8), True])
def test_wrong_source_types(source: object) -> None:
    with pytest.raises(InputError) as err:
        open_source(source)  # type: ignore[arg-type]
    assert err.value.code == "BAD_SOURCE"


def test_items_that_are_not_pairs() -> None:
    with pytest.raises(InputError) as err:
        frames_of([_ok(0)])
    assert err.value.code == "BAD_FRAME"


def test_source_iterates_once(tmp_path: Path) -> None:
    src = open_source([(_ok(0), 0.0)])
    list(src)
    with pytest.raises(InputError):
        list(src)


def test_missing_camera() -> None:
    with pytest.raises(InputError) as err:
        open_source(97)
    assert err.value.code == "CAMERA_UNAVAILABLE"


def test_early_close_stops_decoder(tmp_path: Path) -> None:
    p = write_video(tmp_path / "long.mp4", [i / 30 for i in range(200)])
    with open_source(p) as src:
        for frame in src:
            if frame.index == 3:
                break
    assert src._thread is None  # joined on close


def test_audio_longer_than_video_is_not_truncation(tmp_path: Path) -> None:
    """An mkv whose sound outlasts its pictures, starting at 1 s, decodes fully."""
    p = tmp_path / "late.mkv"
    with av.open(str(p), "w") as out:
        v = out.add_stream("mpeg4", rate=25)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        a = out.add_stream("pcm_s16le", rate=16000)
        a.layout = "mono"
        for i in range(25):  # 1 s of video from t = 1.0 s
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts = 25 + i
            frame.time_base = Fraction(1, 25)
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        for k in range(50):  # 5 s of silence
            samples = np.zeros((1, 1600), np.int16)
            af = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            af.sample_rate = 16000
            af.pts = 16000 + k * 1600
            af.time_base = Fraction(1, 16000)
            for packet in a.encode(af):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)
    frames = frames_of(p)
    assert len(frames) == 25


def test_audio_decoded_in_the_same_pass_equals_a_second_read(tmp_path: Path) -> None:
    from livecert.errors import SessionStateError
    from livecert.io.audio import read_audio

    path = tmp_path / "av.mkv"
    write_av_clip(path, video_start_s=1.0, audio_start_s=1.5)
    with open_source(path, audio=True) as src:
        with pytest.raises(SessionStateError) as err:
            src.audio_track()  # not before the frames are read
        assert err.value.code == "AUDIO_NOT_READY"
        assert len(list(src)) == 25
        one_pass = src.audio_track()
        assert src.audio_track() is one_pass and src.audio_decode_ms > 0
    again = read_audio(path)
    assert one_pass is not None and again is not None
    assert one_pass.start_s == pytest.approx(again.start_s) == pytest.approx(0.5, abs=1e-3)
    np.testing.assert_array_equal(one_pass.samples, again.samples)
    with open_source(path) as src:  # not asked for: read on demand
        list(src)
        np.testing.assert_array_equal(src.audio_track().samples, again.samples)


def test_no_audio_track_without_sound(tmp_path: Path) -> None:
    path = write_video(tmp_path / "silent.mp4", [i / 25 for i in range(10)])
    with open_source(path, audio=True) as src:
        list(src)
        assert src.audio_track() is None and src.audio_decode_ms == 0.0
    with open_source([(np.zeros((32, 32, 3), np.uint8), 0.0)], audio=True) as src:
        list(src)
        assert src.audio_track() is None


def test_packet_walk_leaves_stray_trailing_bytes_alone(tmp_path: Path) -> None:
    full = write_video(
        tmp_path / "full.mpg", [i / 25 for i in range(30)], codec="mpeg1video", time_base=Fraction(1, 25)
    )
    data = full.read_bytes()
    (tmp_path / "zeros.mpg").write_bytes(data + b"\x00\x00\x00\x00")
    assert cut_short(tmp_path / "zeros.mpg") is None
    (tmp_path / "header.mpg").write_bytes(data + b"\x00\x00\x01\xe0")
    assert cut_short(tmp_path / "header.mpg") is True
