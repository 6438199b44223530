"""What is handed to :func:`livecert.verify` for one manifest row: the source
(a video path, or a still turned into a video) and the keyword arguments.

Still photos become a 5 s, 25 fps video with ``tests/realdata/attacks.py``
(``photo_video``): motionless, or hand-held when the attack type contains
``handheld``.  The hand-held motion is seeded from the clip path and attack
type, so every run, worker and repeat sees the same frames.
"""

from __future__ import annotations

import math
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
    photo, in digits mode ``challenge=ChallengeOptions(Challenge.for_known_digits(expected_digits))``
    (or, with ``prompt_times``, the never-expiring ``one_by_one`` challenge
    showing digit ``i`` from ``prompt_times[i]`` to ``prompt_times[i + 1]``),
    and ``config`` with the presentation-attack check off for ``spoof_check=off``."""
    from livecert import Challenge, ChallengeOptions
    from livecert.config import SpoofConfig, VerifyConfig
    from livecert.liveness.challenge import PromptStep, ScheduleKind

    kwargs: dict[str, Any] = {"mode": spec.mode}
    if spec.enrolled_path:
        kwargs["enrolled"] = spec.enrolled_path
    if spec.mode == "digits" and spec.prompt_times:
        times, digits = spec.prompt_times, spec.expected_digits
        steps = tuple(PromptStep(d, times[i], times[i + 1]) for i, d in enumerate(digits))
        challenge = Challenge(
            digits, f"manifest-{spec.index}", 0.0, math.inf, steps, ScheduleKind.ONE_BY_ONE, testing_only=True
        )
        kwargs["challenge"] = ChallengeOptions(challenge=challenge)
    elif spec.mode == "digits":
        kwargs["challenge"] = ChallengeOptions(challenge=Challenge.for_known_digits(spec.expected_digits))
    if not spec.spoof_check:
        kwargs["config"] = VerifyConfig(spoof=SpoofConfig(enabled=False))
    return kwargs
