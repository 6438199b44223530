"""Fixtures shared by the real-data tests: the GRID s1 clips and their sound."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from livecert.io.audio import AudioTrack, read_audio


@pytest.fixture(scope="session")
def grid_clips(data_dir: Path) -> list[dict[str, str]]:
    """The 30 rows of ``grid_transcripts.tsv``, sorted by clip path."""
    with open(data_dir / "videos/grid/grid_transcripts.tsv", newline="") as f:
        rows = sorted(csv.DictReader(f, delimiter="\t"), key=lambda r: r["local_path"])
    assert len(rows) == 30
    return rows


@pytest.fixture(scope="session")
def grid_tracks(data_dir: Path, grid_clips: list[dict[str, str]]) -> dict[str, AudioTrack]:
    """Each clip's sound (16 kHz mono), by ``local_path``."""
    tracks = {}
    for row in grid_clips:
        track = read_audio(data_dir / row["local_path"])
        assert track is not None, row["local_path"]
        tracks[row["local_path"]] = track
    return tracks
