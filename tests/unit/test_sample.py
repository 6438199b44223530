"""The bundled synthetic sample: the README's main command must pass on it."""

from __future__ import annotations

import json

import livecert
from livecert.evaluation.events import match_events

from .paths import ROOT

SAMPLES = ROOT / "samples"


def test_sample_clip_passes_with_its_labelled_blinks() -> None:
    labels = json.loads((SAMPLES / "astronaut_blink.json").read_text())
    assert labels["synthetic"] is True
    truth = [(b["start_s"], b["end_s"]) for b in labels["blinks"]]
    result = livecert.verify(SAMPLES / "astronaut_blink.mp4")
    assert result.passed, result.reason_codes
    score = match_events([(b.start_s, b.end_s) for b in result.blinks], truth)
    assert score.fp == 0 and score.fn == 0, score
