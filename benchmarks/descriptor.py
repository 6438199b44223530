"""Face descriptor: milliseconds per face, dlib vs ONNX Runtime, in one run.

    python -m benchmarks descriptor [--data DIR] [--repeats 20] [--threads 1] [--no-pin] [--out FILE]

The chips are the aligned 150x150 faces of the photos in
``photos/same_person`` (one each, MediaPipe points, as ``enroll()`` makes
them).  Both backends describe every chip once untimed, then ``--repeats``
rounds in which each backend in turn describes every chip, one call per
face; reported per backend: wall and CPU milliseconds per face (median, IQR,
min, max).  CPU time above wall time means more than one core was used.  By
default the process is pinned to one core (``--no-pin`` to leave it free).
Also: the largest difference between the two backends' components, the
time to convert the ``.dat`` file to ONNX (median of 3) and to open an
ONNX Runtime session on the converted model (median of 3).  Goal: at most
20 ms per face on one core.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import default_data_dir, default_out, metadata, positive_int, write_json
from livecert.evaluation.metrics import median_iqr

log = logging.getLogger("benchmarks.descriptor")
GOAL_MS = 20.0


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``descriptor`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=None, help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--repeats", type=positive_int, default=20, help="timed rounds over the chips (default 20)")
    ap.add_argument("--threads", type=positive_int, default=1, help="ONNX Runtime intra-op threads (default 1)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one core")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/descriptor-DATE-HOST.json)")


def chips(data: Path) -> list[np.ndarray]:
    """One aligned chip per photo in ``photos/same_person`` (photos without a face are left out)."""
    from livecert.face.landmarks import FaceLandmarker, RunningMode
    from livecert.identity.embedding import align_face, mesh_to_five
    from livecert.io.images import read_image_rgb

    out = []
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        for path in sorted((data / "photos" / "same_person").glob("*.*")):
            rgb = read_image_rgb(path)
            points = lm.process(rgb).points
            if points is not None:
                out.append(align_face(rgb, mesh_to_five(points)))
    return out


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms of this process) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - w0) * 1e3, (time.process_time() - c0) * 1e3


def _median3(fn: Callable[[], object]) -> float:
    return float(np.median([_timed(fn)[0] for _ in range(3)]))


def _pin() -> int | None:
    """Pin this process to one core it may use; that core, or None where pinning is unavailable."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def run(args: argparse.Namespace) -> int:
    """Run the ``descriptor`` subcommand; 2 when the photos are missing."""
    from livecert.identity.dlib_onnx import convert
    from livecert.identity.embedding import DLIB_RESNET_FILE, DlibEmbedder, dlib_model_file
    from livecert.identity.onnx_embedder import OnnxEmbedder, converted_model

    data = args.data or default_data_dir()
    faces = chips(data)
    if not faces:
        log.error("no faces in %s (set LIVECERT_DATA or --data)", data / "photos" / "same_person")
        return 2
    core = None if args.no_pin else _pin()
    source = dlib_model_file(DLIB_RESNET_FILE)
    backends: dict[str, Any] = {"dlib": DlibEmbedder(), "onnx": OnnxEmbedder(threads=args.threads, use_cache=False)}
    first = {name: [emb.embed(c) for c in faces] for name, emb in backends.items()}  # warm-up, models loaded
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(first["dlib"], first["onnx"]))
    wall: dict[str, list[float]] = {name: [] for name in backends}
    cpu: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(args.repeats):
        for name, emb in backends.items():
            for chip in faces:
                w, c = _timed(lambda emb=emb, chip=chip: emb.embed(chip))
                wall[name].append(w)
                cpu[name].append(c)
    model = converted_model(source, cache_dir=None)

    def open_session() -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        ort.InferenceSession(model.data, options, providers=["CPUExecutionProvider"])

    summary: dict[str, Any] = {
        name: {"wall_ms": median_iqr(wall[name], extremes=True), "cpu_ms": median_iqr(cpu[name], extremes=True)}
        for name in backends
    }
    dlib_ms, onnx_ms = summary["dlib"]["wall_ms"]["median"], summary["onnx"]["wall_ms"]["median"]
    report: dict[str, Any] = {
        "metadata": metadata(
            data_dir=str(data.resolve()), chips=len(faces), repeats=args.repeats, threads=args.threads, pinned_core=core
        ),
        "ms_per_face": summary,
        "speedup": dlib_ms / onnx_ms,
        "goal_ms_per_face": GOAL_MS,
        "max_abs_diff": max_diff,
        "convert_ms": _median3(lambda: convert(source).SerializeToString()),
        "session_open_ms": _median3(open_session),
        "onnx_sha256": model.onnx_sha256,
        "source_sha256": model.source_sha256,
    }
    path = write_json(report, args.out or default_out("descriptor"))
    log.info(
        "ms per face: dlib %.1f, onnx %.1f (x%.1f); max abs diff %.1e; conversion %.0f ms (wrote %s)",
        dlib_ms,
        onnx_ms,
        report["speedup"],
        max_diff,
        report["convert_ms"],
        path,
    )
    return 0
