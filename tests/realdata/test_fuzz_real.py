"""Bounded fuzzing of the decoder path with real clips (issue 19).

Copies of three real recordings (MPEG-PS from GRID, an Indeo AVI from ZJU, an
H.264 mp4) are damaged at the byte level, 80 ways each (seeded, so every run
sees the same 240 files).  Each must decode or be refused with a livecert
error: no traceback, no hang, and no frame lost without the source saying so.
A few damaged copies of a genuine GRID clip go through ``verify()``: a verdict
that changes must come with a warning.  The whole file takes well under two
minutes on two cores.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from livecert.errors import LivecertError
from livecert.io.sources import open_source
from livecert.session.verify import verify

CLIPS = (
    "videos/grid/s1/bbaf3s.mpg",
    "videos/zju_eyeblink/1/000001M_FBN.avi",
    "videos/talking_heads/liveportrait/d18.mp4",
)
PER_CLIP = 80
TIMEOUT_S = 20.0
BYTE_LEVEL = ("flip", "overwrite", "zeros")  # damage that keeps every packet in place
KINDS = (*BYTE_LEVEL, "delete", "duplicate", "truncate")


def mutate(data: bytes, rng: np.random.Generator, kind: str, *, lo: float = 0.0, hi: float = 1.0) -> bytes:
    """``data`` damaged one way, between fractions ``lo`` and ``hi`` of its length."""
    out = bytearray(data)
    n = len(out)
    start = int(rng.integers(int(lo * n), max(int(lo * n) + 1, int(hi * n) - 600)))
    length = int(rng.integers(16, 512))
    if kind == "flip":
        for pos in rng.integers(start, min(n, start + 4096), int(rng.integers(1, 9))):
            out[pos] ^= 1 << int(rng.integers(0, 8))
    elif kind == "overwrite":
        out[start : start + length] = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
    elif kind == "zeros":
        out[start : start + length] = bytes(length)
    elif kind == "delete":
        del out[start : start + length]
    elif kind == "duplicate":
        out[start:start] = out[start : start + length]
    elif kind == "truncate":
        del out[max(1, start) :]
    return bytes(out)


def decode(path: Path) -> tuple[int, int, tuple[str, ...]] | LivecertError:
    """Frames delivered, frames dropped and warnings; or the livecert error."""
    try:
        with open_source(path) as src:
            n = sum(1 for _ in src)
        return n, src.report.dropped, src.report.warnings
    except LivecertError as exc:
        return exc


def run_with_timeout(fn, *args):  # type: ignore[no-untyped-def]
    box: list[object] = []

    def target() -> None:
        try:
            box.append(fn(*args))
        except BaseException as exc:  # a traceback livecert did not turn into an error
            box.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(TIMEOUT_S)
    return box[0] if box else TimeoutError(f"no answer in {TIMEOUT_S:.0f} s")


def test_damaged_copies_decode_or_are_refused(data_dir: Path, tmp_path: Path) -> None:
    problems: list[str] = []
    files = 0
    for clip in CLIPS:
        original = (data_dir / clip).read_bytes()
        src = tmp_path / ("orig" + Path(clip).suffix)
        src.write_bytes(original)
        base = decode(src)
        assert not isinstance(base, LivecertError), base
        n_base = base[0]
        rng = np.random.default_rng(19)
        for i in range(PER_CLIP):
            kind = KINDS[i % len(KINDS)]
            # the no-traceback check damages anywhere; the frame-count check keeps the
            # first and last 10% (headers, index) intact
            lo, hi = (0.0, 1.0) if i % 5 == 0 else (0.1, 0.9)
            path = tmp_path / f"m{i:03d}{Path(clip).suffix}"
            path.write_bytes(mutate(original, rng, kind, lo=lo, hi=hi))
            files += 1
            got = run_with_timeout(decode, path)
            where = f"{clip} #{i} {kind} [{lo}, {hi}]"
            if isinstance(got, TimeoutError):
                problems.append(f"{where}: hang")
            elif isinstance(got, BaseException) and not isinstance(got, LivecertError):
                problems.append(f"{where}: {type(got).__name__}: {got}")
            elif isinstance(got, tuple) and kind in BYTE_LEVEL and lo > 0:
                n, dropped, warnings = got
                if n != n_base and not warnings:
                    # Bytes overwritten over an MPEG-1 picture start code make FFmpeg merge two
                    # pictures without an error; the constant-rate timestamps' gap now says so.
                    problems.append(f"{where}: {n} frames instead of {n_base}, no warning")
            path.unlink()
    assert files == len(CLIPS) * PER_CLIP
    assert not problems, "\n".join(problems)


def test_verdict_changes_only_with_a_warning(data_dir: Path, tmp_path: Path) -> None:
    original = (data_dir / CLIPS[0]).read_bytes()
    src = tmp_path / "orig.mpg"
    src.write_bytes(original)
    base = verify(src)
    rng = np.random.default_rng(7)
    problems: list[str] = []
    for i in range(8):
        kind = BYTE_LEVEL[i % len(BYTE_LEVEL)]
        path = tmp_path / f"v{i}.mpg"
        path.write_bytes(mutate(original, rng, kind, lo=0.1, hi=0.9))
        try:
            result = verify(path)
        except LivecertError:
            continue  # refused with a code: explained
        if (result.passed, result.reason_codes) != (base.passed, base.reason_codes) and not result.warnings:
            problems.append(f"#{i} {kind}: {base.reason_codes} -> {result.reason_codes} without a warning")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", KINDS)
def test_mutations_change_the_bytes(kind: str) -> None:
    data = bytes(range(256)) * 40
    assert mutate(data, np.random.default_rng(0), kind) != data
