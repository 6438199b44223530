"""Fixtures of the micro-benchmarks: the real data folder (for the audio clip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.common import default_data_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """LIVECERT_DATA (default ../shared/data); skip when it is absent."""
    root = default_data_dir()
    if not (root / "README.md").is_file():
        pytest.skip(f"real data not found at {root} (set LIVECERT_DATA to the shared data folder)")
    return root
