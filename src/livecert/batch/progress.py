"""A progress bar on stderr without extra dependencies."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 24


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """Rows done, rate and time left, redrawn in place on a terminal.

    Off a terminal (a log file, CI) it writes a line at every tenth of the
    work and at every error row instead.

    Parameters
    ----------
    total : int
        Rows to run.
    label : str
        Shown before the bar.
    enabled : bool
        False: show nothing.
    stream : text file, optional
        Default ``sys.stderr``.
    """

    def __init__(self, total: int, label: str = "rows", *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total, self.label, self.enabled = total, label, enabled
        self.done = self.errors = 0
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self._t0 = time.monotonic()
        self._last_draw = 0.0
        self._step = max(1, total // 10)

    def update(self, name: str = "", *, error: bool = False) -> None:
        """One more row done (``error``: it is an error row)."""
        self.done += 1
        self.errors += error
        if not self.enabled:
            return
        now = time.monotonic()
        if self._tty:
            if error or self.done == self.total or now - self._last_draw >= 0.2:
                self._stream.write("\r\033[K" + self.line(name)[:150])
                self._stream.flush()
                self._last_draw = now
        elif error or self.done == self.total or self.done % self._step == 0:
            mark = f" ERROR {name}" if error else ""
            self._stream.write(self.line() + mark + "\n")
            self._stream.flush()

    def line(self, name: str = "") -> str:
        """The bar as text: ``label [####    ] done/total rate, time left, errors, name``."""
        elapsed = time.monotonic() - self._t0
        frac = self.done / self.total if self.total else 1.0
        filled = round(_WIDTH * frac)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else None
        parts = [f"{self.label} [{'#' * filled}{' ' * (_WIDTH - filled)}] {self.done}/{self.total}"]
        parts.append(f"{rate:.2f}/s")
        parts.append(f"{_duration(elapsed)} elapsed" + (f", {_duration(left)} left" if left is not None else ""))
        if self.errors:
            parts.append(f"{self.errors} errors")
        if name:
            parts.append(name)
        return " | ".join(parts)

    def close(self) -> None:
        """End the line on a terminal."""
        if self.enabled and self._tty and self.done:
            self._stream.write("\n")
            self._stream.flush()
