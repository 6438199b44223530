"""Benchmark-suite tests.  Real recordings come from LIVECERT_DATA (default:
../shared/data beside the project), as in ``tests/realdata/conftest.py``:
absent data skips the tests that need it, except in CI (CI=true), where it
is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
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
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents and "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
