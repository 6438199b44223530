"""Plots for people to look at; the decision code never imports this."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from livecert.config import BlinkConfig
from livecert.errors import ErrorCode, InputError, ModelError
from livecert.liveness.blink import eye_ratio
from livecert.liveness.challenge import Challenge
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
    canvas_cls, figure_cls = _matplotlib()
    trace = result.trace
    if trace is None:
        raise InputError("the result carries no per-frame trace to plot", code=ErrorCode.NO_TRACE)
    config = config or BlinkConfig()
    ratio = eye_ratio(trace.t_s, trace.left_eye, trace.right_eye, config)
    fig = figure_cls(figsize=(10, 5))
    canvas_cls(fig)
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


def plot_digits_trace(
    result: VerificationResult, path: str | Path, *, challenge: Challenge | None = None, title: str = ""
) -> None:
    """Draw a read-digits check as a PNG: mouth opening with the openings found,
    voice activity, and when each prompt was shown.

    Parameters
    ----------
    result : VerificationResult
        A digits-mode result that carries its ``trace``.
    path : str or Path
        PNG file to write.
    challenge : Challenge, optional
        Its prompt schedule is drawn from the first frame on (where
        :func:`livecert.verify` takes the prompt to appear); without it the
        prompt row is left empty.
    """
    canvas_cls, figure_cls = _matplotlib()
    trace = result.trace
    if trace is None:
        raise InputError("the result carries no per-frame trace to plot", code=ErrorCode.NO_TRACE)
    fig = figure_cls(figsize=(10, 6))
    canvas_cls(fig)
    ax_mouth, ax_voice, ax_prompt = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1, 1]})
    ax_mouth.plot(trace.t_s, trace.inner_lip_gap, ".-", ms=2, lw=0.8, label="inner-lip gap / face width")
    ax_mouth.plot(trace.t_s, trace.outer_lip_height, "-", lw=0.8, alpha=0.6, label="outer-lip height / face width")
    evidence = result.digits
    for i, t in enumerate(evidence.mouth_events if evidence is not None else ()):
        ax_mouth.axvline(t, color="tab:red", lw=0.8, ls="--", label="mouth opening" if i == 0 else None)
    ax_mouth.set_ylabel("mouth")
    ax_mouth.legend(loc="upper right", fontsize=8)
    if evidence is not None and evidence.audio:
        for start, end in evidence.speech_segments:
            ax_voice.axvspan(start, end, color="tab:green", alpha=0.5)
        ax_voice.text(0.01, 0.5, f"heard: {evidence.heard}", transform=ax_voice.transAxes, va="center", fontsize=9)
    else:
        ax_voice.text(0.01, 0.5, "no sound track", transform=ax_voice.transAxes, va="center", fontsize=9)
    ax_voice.set_yticks([])
    ax_voice.set_ylabel("voice")
    t0 = float(trace.t_s[0]) if len(trace) else 0.0
    t_end = float(trace.t_s[-1]) if len(trace) else 1.0
    for step in challenge.schedule if challenge is not None else ():
        start = t0 + step.show_at_s
        end = t_end if step.hide_at_s is None else t0 + step.hide_at_s
        ax_prompt.axvspan(start, end, color="tab:blue", alpha=0.25)
        ax_prompt.text((start + end) / 2, 0.5, step.text, ha="center", va="center", fontsize=12)
    ax_prompt.set_yticks([])
    ax_prompt.set_ylabel("prompt")
    ax_prompt.set_xlabel("time (s, clip timeline)")
    verdict = "passed" if result.passed else "not passed: " + ", ".join(result.reason_codes)
    expected = evidence.expected if evidence is not None else "?"
    fig.suptitle(f"{title}  digits {expected}, {verdict}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _matplotlib() -> tuple[Any, Any]:
    """matplotlib's Agg canvas and Figure classes (no pyplot: the host's backend is left alone)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ModelError(
            "plots need matplotlib, which is optional: pip install 'livecert[plot]'", code=ErrorCode.MISSING_DEPENDENCY
        ) from None
    return FigureCanvasAgg, Figure
