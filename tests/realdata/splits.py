"""The ZJU blink subjects: the tuning half every blink and spoof setting was chosen on, and the
held-out half the tests and benchmarks report (a subject is the first 7 characters of a clip's
name, e.g. ``000011M_FBN.avi``)."""

from __future__ import annotations

ZJU_TUNING = frozenset({"000001M", "000003M", "000005M", "000007M", "000009M"})
ZJU_HELD_OUT = frozenset({"000011M", "000013F", "000015F", "000017F", "000019F"})
