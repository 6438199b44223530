"""Cold start: from starting a new Python process to the first result.

The parent (:func:`measure`) starts ``python -m benchmarks.coldstart`` with
one manifest row as JSON; the child imports livecert, verifies that row once
and prints one JSON line with the wall-clock time at which the result was
ready.  Cold start is that time minus the time the parent started the child,
so interpreter start-up, imports and model loading all count.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.manifest import ClipSpec

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


def measure(spec: ClipSpec, timeout_s: float = 600.0) -> dict[str, Any]:
    """Cold start on one row, in a fresh interpreter.

    Returns
    -------
    dict
        ``clip``, ``cold_start_s`` (process start to result), ``import_s``,
        ``verify_s``, ``process_s`` (until the process exited) and the
        child's ``peak_rss_mb``; or ``error`` when it could not run.
    """
    payload = json.dumps(dataclasses.asdict(spec))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    t0 = time.time()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.coldstart", payload],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"clip": spec.clip, "error": f"{type(exc).__name__}: {exc}"}
    process_s = time.time() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"clip": spec.clip, "error": f"exit code {proc.returncode}: {tail}"}
    child = json.loads(lines[-1])
    if "error" in child:
        return {"clip": spec.clip, "error": child["error"], "process_s": process_s}
    return {
        "clip": spec.clip,
        "cold_start_s": child["result_unix"] - t0,
        "interpreter_start_s": child["start_unix"] - t0,
        "import_s": child["import_s"],
        "verify_s": child["verify_s"],
        "process_s": process_s,
        "peak_rss_mb": child["peak_rss_mb"],
    }


def _child(payload: str) -> dict[str, Any]:
    start = time.time()
    fields = json.loads(payload)
    for key in ("truth", "truth_frames"):
        if fields.get(key) is not None:
            fields[key] = tuple(tuple(x) for x in fields[key])
    spec = ClipSpec(**fields)
    t0 = time.perf_counter()
    import livecert
    from benchmarks.sources import make_source, verify_kwargs
    from benchmarks.worker import error_info, peak_rss_mb

    import_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        livecert.verify(make_source(spec), **verify_kwargs(spec))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as an error
        return {"error": f"{error_info(exc)['type']}: {exc}"}
    return {
        "start_unix": start,
        "result_unix": time.time(),
        "import_s": import_s,
        "verify_s": time.perf_counter() - t1,
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(json.dumps(_child(sys.argv[1])), flush=True)
