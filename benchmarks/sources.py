"""What is handed to :func:`livecert.verify` for one manifest row: the source
(a video path, or a still turned into a video) and the keyword arguments.

Still photos become a 5 s, 25 fps video with ``tests/realdata/attacks.py``
(``photo_video``): motionless, or hand-held when the attack type contains
``handheld``.  The hand-held motion is seeded from the clip path and attack
type, so every run, worker and repeat sees the same frames.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from benchmarks.manifest import ClipSpec

STILL_SECONDS = 5.0
STILL_FPS = 25.0


def _attacks() -> Any:
    """``tests/realdata/attacks.py``, imported from the project (not copied): the
    ``tests`` package sits beside ``benchmarks``, so it is importable wherever
    ``benchmarks`` is."""
    from tests.realdata import attacks

    return attacks


def still_seed(spec: ClipSpec) -> int:
    """Seed of the hand-held motion: stable across runs, workers and manifests."""
    return zlib.crc32(f"{spec.clip}|{spec.attack_type}".encode())


def make_source(spec: ClipSpec) -> str | Iterator[tuple[Any, float]]:
    """A fresh source for one call of ``verify`` (iterators are single-use).

    Parameters
    ----------
    spec : ClipSpec

    Returns
    -------
    str or iterator of (rgb, t_s)
        The video path, or the frames of the still photo's video.

    Raises
    ------
    livecert.InputError
        The still photo cannot be read.
    """
    if not spec.is_still:
        return spec.path
    import livecert

    attacks = _attacks()
    rgb = attacks.fit(livecert.read_image_rgb(spec.path))
    handheld = "handheld" in spec.attack_type
    return attacks.photo_video(rgb, seconds=STILL_SECONDS, fps=STILL_FPS, handheld=handheld, seed=still_seed(spec))


def verify_kwargs(spec: ClipSpec) -> dict[str, Any]:
    """Keyword arguments of ``livecert.verify`` for the row: mode, enrolled
    photo, and in digits mode ``challenge=ChallengeOptions(Challenge.for_known_digits(expected_digits))``."""
    kwargs: dict[str, Any] = {"mode": spec.mode}
    if spec.enrolled_path:
        kwargs["enrolled"] = spec.enrolled_path
    if spec.mode == "digits":
        from livecert import Challenge, ChallengeOptions

        kwargs["challenge"] = ChallengeOptions(challenge=Challenge.for_known_digits(spec.expected_digits))
    return kwargs
