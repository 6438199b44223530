"""Shared test fixtures.

Real recordings come from LIVECERT_DATA (default: ../shared/data beside the
project).  Absent data skips the tests that need it, except in CI (CI=true),
where it is a failure: CI always has the data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data"


def data_root() -> Path:
    return Path(os.environ.get("LIVECERT_DATA", str(DEFAULT_DATA)))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not (root / "README.md").is_file():
        message = f"real data not found at {root} (set LIVECERT_DATA to the shared data folder)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return root


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
