"""An online attempt from a :class:`~livecert.results.VerificationResult`: the result JSON,
the challenge nonce, the recording's SHA-256 and the best face frame."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from livecert.arrays import Image
from livecert.io.sources import open_source
from livecert.ledger.policy import Channel
from livecert.ledger.records import AttemptInput
from livecert.results import VerificationResult

#: Longest side of a stored frame, pixels (a clerk recognises a face; the file stays small).
FRAME_MAX_SIDE = 480


def best_frame_index(result: VerificationResult) -> int | None:
    """The frame (index into the trace) with the sharpest large usable face; None without one."""
    trace = result.trace
    if trace is None or len(trace) == 0:
        return None
    usable = trace.usable & (trace.n_faces != 0)
    if not usable.any():
        return None
    score = np.where(usable, np.nan_to_num(trace.sharpness) * np.nan_to_num(trace.face_width_px), -1.0)
    return int(np.argmax(score))


def best_frame_jpeg(result: VerificationResult, source: str | Path | bytes) -> bytes | None:
    """The best face frame of a checked recording as a JPEG (decoded again from ``source``);
    None when the trace holds no usable face."""
    index = best_frame_index(result)
    if index is None or result.trace is None:
        return None
    want = float(result.trace.t_s[index])
    with open_source(source) as frames:
        for frame in frames:
            if abs(frame.t_s - want) < 1e-6 or frame.t_s > want:
                return _jpeg(frame.rgb)
    return None


def _jpeg(rgb: Image) -> bytes:
    from PIL import Image as PILImage  # Pillow: loaded only when a frame is stored

    img = PILImage.fromarray(rgb)
    img.thumbnail((FRAME_MAX_SIDE, FRAME_MAX_SIDE))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def attempt_from_result(
    result: VerificationResult, source: str | Path | bytes | None, *, keep_frame: bool = True
) -> AttemptInput:
    """The ledger attempt of an online check.

    Parameters
    ----------
    result : VerificationResult
        From :func:`livecert.verify` (its ``meta`` gives the nonce and the recording's hash).
    source : str, Path, bytes or None
        The recording, to take the best face frame from (None: no frame).
    keep_frame : bool
    """
    meta = result.meta
    frame = best_frame_jpeg(result, source) if keep_frame and source is not None else None
    return AttemptInput(
        channel=Channel.ONLINE,
        passed=result.passed,
        mode=result.mode,
        result_json=json.dumps(result.to_dict(lang="en"), ensure_ascii=False, sort_keys=True),
        reason_codes=result.reason_codes,
        challenge_id=None if meta is None else meta.challenge_nonce,
        recording_sha256=None if meta is None else meta.input_sha256,
        frame_jpeg=frame,
    )
