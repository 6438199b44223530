"""A worker process's memory: how much it holds, and giving freed memory back.

Used by the long-lived workers of ``livecert batch`` and ``livecert serve``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import sys
from collections.abc import Callable


def rss_mb() -> float | None:
    """This process's resident set size now, MiB (None where ``/proc`` is absent)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, MiB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 2**20 if sys.platform == "darwin" else kb / 1024.0


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None elsewhere (macOS, musl)."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> None:
    """Give the memory that a finished recording freed back to the system.

    Every recording opens and closes MediaPipe graphs and decoder threads; glibc keeps what
    they freed in its per-thread arenas, so a long-lived worker's resident memory drifts
    upward without this ``malloc_trim(0)`` (``benchmarks/batch.py`` measures it).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
