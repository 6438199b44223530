"""What every benchmark shares: the data folder, the run's metadata and
writing the JSON results."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# Reported name -> distributions that provide it (the first installed one is reported).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "livecert": ("livecert",),
    "numpy": ("numpy",),
    "mediapipe": ("mediapipe",),
    "opencv": ("opencv-contrib-python", "opencv-python", "opencv-contrib-python-headless", "opencv-python-headless"),
    "dlib": ("dlib-bin", "dlib"),
    "onnxruntime": ("onnxruntime",),
    "av": ("av",),
    "pocketsphinx": ("pocketsphinx",),
    "moonshine_cpp": ("moonshine_cpp", "moonshine-cpp"),
    "face_recognition_models": ("face_recognition_models",),
    "matplotlib": ("matplotlib",),
    "scikit-image": ("scikit-image",),
}


def default_data_dir() -> Path:
    """The shared data folder: ``LIVECERT_DATA``, else ``../shared/data`` beside the project."""
    return Path(os.environ.get("LIVECERT_DATA") or ROOT.parent / "shared" / "data")


def zju_clips(data: Path, limit: int) -> list[Path]:
    """The first ``limit`` ZJU clips in sorted order, as absolute paths (a manifest written to a
    temporary folder resolves relative paths against that folder); empty when the data is absent,
    and the caller says so."""
    clips = sorted((data.resolve() / "videos" / "zju_eyeblink").glob("*/*.avi"))[:limit]
    if not clips:
        logging.getLogger("benchmarks").error("no ZJU clips under %s (set LIVECERT_DATA or --data)", data)
    return clips


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _library_version(names: tuple[str, ...]) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for name in names:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "not installed"


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or None where the system has none."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def metadata(**run: Any) -> dict[str, Any]:
    """Where and with what a benchmark ran: the one metadata block of every result file.

    Parameters
    ----------
    **run
        This run's settings, stored under ``"run"`` (with the command line).

    Returns
    -------
    dict
        ``git_commit``, ``git_uncommitted_src`` (changed files under ``src``,
        None without git), ``date`` (UTC, ISO 8601), ``host``, ``machine``
        (architecture), ``platform``, ``cpu`` (model), ``cpu_count``,
        ``cpu_affinity`` (cores this process may use), ``python``,
        ``libraries`` (installed versions or "not installed"), ``run`` and
        ``load_average_1_5_15min`` ``{"start": [...]}`` (add ``"end"``
        with :func:`load_average` when done: figures from a busy machine are
        not comparable).
    """
    status = _git("status", "--porcelain", "--", "src")
    return {
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_uncommitted_src": status.splitlines() if status is not None else None,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "libraries": {name: _library_version(dists) for name, dists in LIBRARIES.items()},
        "run": {"argv": sys.argv[1:], **run},
        "load_average_1_5_15min": {"start": load_average()},
    }


def finite(obj: Any) -> Any:
    """``obj`` with nan and inf replaced by None, tuples as lists (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # numpy scalar
        return finite(obj.item())
    return obj


def write_json(report: dict[str, Any], path: Path) -> Path:
    """Write a result file as strict JSON (the load average at the end added to its metadata).

    Parameters
    ----------
    report : dict
        With a ``"metadata"`` block from :func:`metadata`.
    path : Path
        Its folder is created if needed.

    Returns
    -------
    Path
    """
    meta = report.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("load_average_1_5_15min"), dict):
        meta["load_average_1_5_15min"]["end"] = load_average()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(finite(report), indent=1, allow_nan=False, default=str) + "\n", encoding="utf-8")
    return path


def default_out(kind: str) -> Path:
    """``benchmarks/results/<kind>-<YYYYMMDD>-<host>.json``."""
    return RESULTS / f"{kind}-{datetime.now():%Y%m%d}-{platform.node() or 'host'}.json"
