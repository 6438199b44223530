"""The README's Python examples run, so they cannot go stale (issue 18).

Every ```python block of README.md runs, in order and in one namespace, in a
temporary folder, with the sample clip ``samples/astronaut_blink.mp4`` in place
of the video file names and its first frame saved as ``pensioner.jpg``.  The
live-session example gets ``camera_frames()`` (the sample's frames) and
``show()`` (does nothing).  A block marked ``# not run in tests`` is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from livecert.errors import ErrorCode
from livecert.io.sources import open_source
from livecert.results import ReasonCode

from .paths import ROOT, SAMPLE

README = ROOT / "README.md"
SKIP_MARK = "# not run in tests"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def camera_frames() -> Iterator[tuple[np.ndarray, float]]:
    with open_source(SAMPLE) as frames:
        for frame in frames:
            yield frame.rgb, frame.t_s


def show(*_: object) -> None:
    """Stands in for the app's screen."""


def test_readme_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    first = next(camera_frames())[0]
    Image.fromarray(first).save(tmp_path / "pensioner.jpg", quality=95)
    blocks = python_blocks()
    assert len(blocks) >= 5
    namespace: dict[str, object] = {"camera_frames": camera_frames, "show": show, "__name__": "readme"}
    ran = 0
    for i, block in enumerate(blocks):
        if SKIP_MARK in block:
            continue
        code = re.sub(r'"[\w./-]+\.mp4"', repr(str(SAMPLE)), block)
        exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)  # noqa: S102
        ran += 1
    assert ran >= len(blocks) - 1  # only a few blocks may need files the tests do not have
    result = namespace["result"]
    assert getattr(result, "frames_total", 0) > 0


def test_readme_lists_every_code() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [c.value for c in ErrorCode if f"`{c.value}`" not in text]
    missing += [c.value for c in ReasonCode if f"`{c.value}`" not in text]
    assert not missing, f"README.md does not list {missing}"


def test_readme_json_example_is_consistent() -> None:
    """The example used to show "passed": true with a NO_BLINK reason."""
    text = README.read_text(encoding="utf-8")
    example = re.search(r"^```json\n(.*?)^```", text, flags=re.S | re.M)
    assert example is not None
    import json

    data = json.loads(example.group(1))
    assert data["passed"] is (not data["reasons"])
    assert data["liveness_passed"] is False and data["identity_passed"] is None
