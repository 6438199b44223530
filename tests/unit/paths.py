"""Files of the repository that the unit tests read."""

from __future__ import annotations

from pathlib import Path

#: The repository's root folder.
ROOT = Path(__file__).resolve().parents[2]
#: The sample clip shipped in ``samples/``.
SAMPLE = ROOT / "samples" / "astronaut_blink.mp4"
