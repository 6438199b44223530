"""Plots for people to look at; the decision code never imports this."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from livecert.config import BlinkConfig
from livecert.errors import ErrorCode, InputError, ModelError
from livecert.liveness.blink import eye_ratio
from livecert.results import VerificationResult


def plot_trace(
    result: VerificationResult, path: str | Path, *, title: str = "", config: BlinkConfig | None = None
) -> None:
    """Draw eye aperture over time with the detected blinks marked, as a PNG.

    Parameters
    ----------
    result : VerificationResult
        Must carry its ``trace``.
    path : str or Path
        PNG file to write.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ModelError(
            "plots need matplotlib, which is optional: pip install 'livecert[plot]'", code=ErrorCode.MISSING_DEPENDENCY
        ) from None

    trace = result.trace
    if trace is None:
        raise InputError("the result carries no per-frame trace to plot", code=ErrorCode.NO_TRACE)
    config = config or BlinkConfig()
    ratio = eye_ratio(trace.t_s, trace.left_eye, trace.right_eye, config)
    # A Figure of its own (no pyplot): the host process's matplotlib backend is left alone.
    fig = Figure(figsize=(10, 5))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.plot(trace.t_s, trace.left_eye, ".-", ms=2, lw=0.8, label="left eye")
    ax1.plot(trace.t_s, trace.right_eye, ".-", ms=2, lw=0.8, label="right eye")
    ax1.set_ylabel("lid gap / eye width")
    ax1.legend(loc="lower right", fontsize=8)
    ax2.plot(trace.t_s, ratio, "k-", lw=1, label="aperture / open-eye baseline")
    ax2.axhline(config.close_ratio, color="tab:red", ls="--", lw=0.8, label="close threshold")
    ax2.axhline(config.open_ratio, color="tab:green", ls="--", lw=0.8, label="open threshold")
    for ax in (ax1, ax2):
        for b in result.blinks:
            ax.axvspan(b.start_s, b.end_s, color="tab:orange", alpha=0.3)
    no_face = ~trace.has_face
    if np.any(no_face):
        ax2.plot(trace.t_s[no_face], np.zeros(int(no_face.sum())), "x", color="gray", label="no face")
    ax2.set_ylim(0, 1.4)
    ax2.set_xlabel("time (s, clip timeline)")
    ax2.legend(loc="lower right", fontsize=8)
    verdict = "passed" if result.passed else "not passed: " + ", ".join(result.reason_codes)
    fig.suptitle(f"{title}  {len(result.blinks)} blinks, {verdict}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
