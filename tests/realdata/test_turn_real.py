"""Photos turned in 3-D, and "turn your head" prompts, on held-out photos and clips.

A photo or print turned about its vertical axis (``spoof_attacks.turned_photo``) is
foreshortened: its eyes narrow in the image while the lid gaps do not, so the eyelid
aperture (gap over eye width) rose and the frames after the turn looked like a closing.
Before the apertures were corrected for it (``livecert.liveness.blink.foreshortening``),
15 of these 16 clips passed blink mode.  A "turn your head" prompt is answered when the face
mesh's yaw moves ``BlinkConfig.min_head_turn_deg`` (15) from where the head rested; the
threshold came from the tuning split's photos (at most 10.7 degrees when turned up to 50,
up to 25 at 65), its people sitting still (at most 2.8) and LivePortrait d3 (30).

Held out: the photos of ``test_spoof_real.py`` (two ZJU frames, Obama, Lin-Manuel Miranda),
the ZJU subjects 000011M-000019F, the first-order-model Obama address and the Hamilton clip.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import livecert
from livecert.config import BlinkConfig
from livecert.liveness.challenge import PromptAction
from livecert.liveness.turn import answered_turn_prompts

from . import readings, spoof_attacks as attacks
from .splits import ZJU_HELD_OUT
from .test_spoof_real import HELD_OUT_PHOTOS

TURNS_DEG = (50.0, -50.0, 65.0, -65.0)
TURN_AT_S = 2.0
TURN_HEAD = (PromptAction.TURN_HEAD,)
MOST_ANSWERED = 4  # of 16, all turned 65 degrees (the tuning photos: 5 of 14 at 65, none at 50)
REAL_TURNS = (
    "videos/talking_heads/first-order-model/demo_old/00.mp4",
    "videos/other/face_recognition/short_hamilton_clip.mp4",
)


@pytest.fixture(scope="module")
def turned(data_dir: Path) -> list[tuple[str, float, livecert.VerificationResult, livecert.VerificationResult]]:
    """Each held-out photo turned each way: (photo, turn, plain verify, verify with a turn prompt
    shown 0.3 s before the photo starts turning, as an attacker answering it would)."""
    out = []
    for i, name in enumerate(HELD_OUT_PHOTOS):
        photo = attacks.fit(livecert.read_image_rgb(data_dir / name))
        for turn in TURNS_DEG:
            frames = attacks.turned_photo(photo, seed=i, turn_deg=turn, turn_at_s=TURN_AT_S)
            plain = livecert.verify(frames)
            prompted = livecert.verify(frames, challenge=readings.known_prompts((TURN_AT_S - 0.3,), TURN_HEAD))
            out.append((Path(name).name, turn, plain, prompted))
    return out


def test_turned_photos_rarely_blink(turned: list) -> None:
    """The issue's target is none; 5 of 16 still pass (15 before the foreshortening correction)."""
    accepted = [(name, turn, r.reason_codes) for name, turn, r, _ in turned if r.passed]
    print(f"turned photos accepted: {len(accepted)} of {len(turned)}: {accepted}")
    assert len(accepted) <= 5, accepted


def test_turned_photos_do_not_answer_a_turn_prompt(turned: list) -> None:
    answered = [(name, turn) for name, turn, _, r in turned if "TURN_NOT_ON_CUE" not in r.reason_codes]
    print(f"turned photos answering a turn prompt: {len(answered)} of {len(turned)}: {answered}")
    assert len(answered) <= MOST_ANSWERED, answered


def _trace(clip: Path) -> livecert.FrameTrace:
    return livecert.verify(clip).trace


def test_real_heads_that_turn_answer_a_prompt_shown_before_the_turn(data_dir: Path) -> None:
    """The clips' people were not prompted: prompts are tried every 0.25 s from the clip's start,
    and each clip's turns must answer at least one (the Obama address opens with a turn of about
    25 degrees in its first half second; the Hamilton clip turns by up to 60)."""
    config = BlinkConfig()
    for rel in REAL_TURNS:
        trace = _trace(data_dir / rel)
        t0 = float(trace.t_s[0])
        shows = np.arange(0.0, float(trace.t_s[-1]) - t0 - 1.0, 0.25)
        windows = tuple((float(s), float(s) + 2.5) for s in shows)
        answered = answered_turn_prompts(
            trace.t_s, trace.yaw_deg, windows, t0, config.min_reaction_s, config.min_head_turn_deg
        )
        print(f"{rel}: {sum(answered)} of {len(windows)} prompt times answered")
        assert any(answered), rel


def test_people_sitting_still_do_not_answer_random_turn_prompts(data_dir: Path) -> None:
    """A replay of someone sitting for the check, judged against turn prompts it did not know."""
    config = BlinkConfig()
    rng = random.Random(0)
    clips = sorted(p for p in (data_dir / "videos" / "zju_eyeblink").glob("*/*.avi") if p.name[:7] in ZJU_HELD_OUT)
    assert len(clips) == 20
    answered = total = 0
    for clip in clips:
        trace = _trace(clip)
        t0, end = float(trace.t_s[0]), float(trace.t_s[-1])
        windows = tuple((s, s + 2.5) for s in (rng.uniform(0.5, max(0.6, end - t0 - 2.5)) for _ in range(20)))
        react, min_turn = config.min_reaction_s, config.min_head_turn_deg
        got = answered_turn_prompts(trace.t_s, trace.yaw_deg, windows, t0, react, min_turn)
        answered += sum(got)
        total += len(got)
    print(f"random turn prompts answered by people sitting still: {answered} of {total}")
    assert answered == 0
