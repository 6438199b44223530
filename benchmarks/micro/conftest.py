"""Fixtures of the micro-benchmarks: the real data folder (for the audio clip)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """LIVECERT_DATA (default ../shared/data); skip when it is absent."""
    root = Path(os.environ.get("LIVECERT_DATA", str(DEFAULT_DATA)))
    if not (root / "README.md").is_file():
        pytest.skip(f"real data not found at {root} (set LIVECERT_DATA to the shared data folder)")
    return root
