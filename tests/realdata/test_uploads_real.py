"""Issue 18: a real recording given as bytes or as an open binary file gives the same
result as the file itself (apart from the time taken and the time of the check)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import pytest

import livecert
from livecert.liveness.challenge import Challenge
from livecert.liveness.digits import ChallengeOptions

_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _clips(data_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Two ZJU .avi (blink), two GRID .mpg (digits, their own digit), one LivePortrait .mp4."""
    zju = data_dir / "videos" / "zju_eyeblink"
    clips: list[tuple[Path, dict[str, Any]]] = [
        (next(zju.glob("*/000005M_FTN.avi")), {}),
        (zju / "1" / "000001M_FBN.avi", {}),
    ]
    with open(data_dir / "videos/grid/grid_transcripts.tsv", newline="") as fh:
        rows = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: r["local_path"])
    for row in rows[:2]:
        digit = str(_WORDS.index(row["digit_word"]))
        options = ChallengeOptions(Challenge.for_known_digits(digit))
        clips.append((data_dir / row["local_path"], {"mode": "digits", "challenge": options}))
    clips.append((data_dir / "videos/talking_heads/liveportrait/d0.mp4", {}))
    return clips


def _comparable(result: livecert.VerificationResult) -> dict[str, Any]:
    d = result.to_dict()
    d.pop("timings_ms")
    d["meta"].pop("checked_at")
    return d


def test_bytes_and_file_objects_give_the_files_result(data_dir: Path) -> None:
    clips = _clips(data_dir)
    assert all(path.is_file() for path, _ in clips)
    digits_mode = 0
    for path, kwargs in clips:
        expected = _comparable(livecert.verify(path, **kwargs))
        data = path.read_bytes()
        assert expected["meta"]["input_sha256"] == hashlib.sha256(data).hexdigest()
        assert _comparable(livecert.verify(data, **kwargs)) == expected, path.name
        with open(path, "rb") as fh:
            assert _comparable(livecert.verify(fh, **kwargs)) == expected, path.name
        digits_mode += "digits" in expected and expected["digits"] is not None
    assert digits_mode == 2  # the GRID clips were judged with their sound


def test_cut_grid_upload_is_truncated(data_dir: Path) -> None:
    clip = next(p for p, kw in _clips(data_dir) if p.suffix == ".mpg")
    with pytest.raises(livecert.InputError) as err:
        livecert.verify(
            clip.read_bytes()[:200_000], mode="digits", challenge=ChallengeOptions(Challenge.for_known_digits("3"))
        )
    assert err.value.code == "TRUNCATED_FILE" and "<upload of 200000 bytes>" in str(err.value)


def test_every_grid_clip_as_uploaded_bytes_gives_the_files_result(data_dir: Path) -> None:
    """Issue 18's target on all 30 GRID clips in digits mode (sound and picture from the bytes)."""
    with open(data_dir / "videos/grid/grid_transcripts.tsv", newline="") as fh:
        rows = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: r["local_path"])
    assert len(rows) == 30
    for row in rows:
        path = data_dir / row["local_path"]
        options = ChallengeOptions(Challenge.for_known_digits(str(_WORDS.index(row["digit_word"]))))
        expected = _comparable(livecert.verify(path, mode="digits", challenge=options))
        assert _comparable(livecert.verify(path.read_bytes(), mode="digits", challenge=options)) == expected, path.name


def test_every_other_video_as_uploaded_bytes_gives_the_files_result(data_dir: Path) -> None:
    """The remaining real videos the tests use (talking heads, Obama, Hamilton), whole."""
    clips = sorted((data_dir / "videos" / "talking_heads").rglob("*.mp4"))
    clips.append(data_dir / "videos/other/face_recognition/short_hamilton_clip.mp4")
    assert len(clips) == 6
    for path in clips:
        expected = _comparable(livecert.verify(path))
        assert _comparable(livecert.verify(path.read_bytes())) == expected, path.name
