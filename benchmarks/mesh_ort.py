"""MediaPipe's attention face mesh on ONNX Runtime against MediaPipe's own graph, in one run.

    python -m benchmarks mesh-onnx [--data DIR] [--clips 5] [--frames 100] [--repeats 5] [--out FILE]

Issue #14 names running the face-landmark model inside the mediapipe wheel on
ONNX Runtime as a way to faster landmarks.  :mod:`benchmarks.mesh_onnx`
converts ``face_landmark_with_attention.tflite`` (three MediaPipe custom
operators rebuilt from ONNX operators); this command measures it on the first
``--frames`` frames of the first ``--clips`` ZJU clips (320x240):

* **Accuracy**: each frame's crop is MediaPipe's own (its
  ``ImageToTensorCalculator`` on a square region around the frame's FaceMesh
  landmarks, turned level with the eyes); the model's seven outputs from
  MediaPipe's ``InferenceCalculator`` (XNNPACK) and from ONNX Runtime on
  that crop are compared: the largest difference per output, in pixels of
  the 192x192 crop, and how often the face-presence decision (score above
  0.5) agrees.
* **Speed**, ``--repeats`` rounds in alternating order over the same frames,
  ms per frame: (a) livecert's ``FaceLandmarker.process`` in video mode (the
  whole MediaPipe graph as ``verify()`` runs it, face count included); (b)
  the model alone in MediaPipe: ``ImageToTensorCalculator`` and
  ``InferenceCalculator`` only; (c) the model alone on ONNX Runtime (one
  thread), given the crops; (d) the crop made with OpenCV, which a pipeline
  on ONNX Runtime would add to (c).

Also the conversion's time and the ONNX Runtime session's opening time.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.common import default_data_dir, default_out, metadata, positive_int, write_json, zju_clips
from benchmarks.mesh_onnx import convert, mediapipe_model_file
from livecert.evaluation.metrics import median_iqr

log = logging.getLogger("benchmarks.mesh_ort")
OUTPUTS = ("mesh", "lips", "left_eye", "right_eye", "left_iris", "right_iris", "flag")
ONNX_NAMES = (
    "output_mesh_identity",
    "output_lips",
    "output_left_eye",
    "output_right_eye",
    "output_left_iris",
    "output_right_iris",
    "conv_faceflag",
)
SIZE = 192

_HEAD = """
input_stream: "IMAGE:image"
input_stream: "ROI:roi"
input_side_packet: "WITH_ATTENTION:with_attention"
node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:image" input_stream: "NORM_RECT:roi"
  output_stream: "TENSORS:input_tensors"
  options: { [mediapipe.ImageToTensorCalculatorOptions.ext] { output_tensor_width: 192 output_tensor_height: 192
    output_tensor_float_range { min: 0.0 max: 1.0 } } } }
node { calculator: "FaceLandmarksModelLoader" input_side_packet: "WITH_ATTENTION:with_attention"
  output_side_packet: "MODEL:model" }
node { calculator: "TfLiteCustomOpResolverCalculator" output_side_packet: "OP_RESOLVER:op_resolver" }
node { calculator: "InferenceCalculator" input_stream: "TENSORS:input_tensors" input_side_packet: "MODEL:model"
  input_side_packet: "OP_RESOLVER:op_resolver" output_stream: "TENSORS:output_tensors"
  options: { [mediapipe.InferenceCalculatorOptions.ext] { delegate { xnnpack {} } } } }
"""


def _split(outputs: tuple[str, ...], first: int) -> str:
    streams = "".join(f'output_stream: "t_{n}" ' for n in outputs)
    ranges = " ".join(f"ranges: {{ begin: {first + i} end: {first + i + 1} }}" for i in range(len(outputs)))
    floats = "".join(
        f'node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:t_{n}" '
        f'output_stream: "FLOATS:{n}" }}\n'
        for n in outputs
    )
    return (
        f'node {{ calculator: "SplitTensorVectorCalculator" input_stream: "output_tensors" {streams}\n'
        f"  options: {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{ {ranges} }} }} }}\n{floats}"
    )


#: The model's outputs and its input crop, as float lists (slow: for the accuracy check only).
RAW_GRAPH = (
    "".join(f'output_stream: "{n}"\n' for n in ("crop", *OUTPUTS))
    + _HEAD
    + 'node { calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:input_tensors" '
    + 'output_stream: "FLOATS:crop" }\n'
    + _split(OUTPUTS, 0)
)
#: The model alone, reading back only the face-presence score.
MODEL_GRAPH = 'output_stream: "flag"\n' + _HEAD + _split(("flag",), 6)


def roi(points: np.ndarray, w: int, h: int) -> tuple[float, float, float, float, float]:
    """A square region 1.5 times the landmarks' extent, turned level with the eye corners (33, 263), as
    MediaPipe's tracking makes it: (x_center, y_center, width, height, rotation) normalised."""
    (x0, y0), (x1, y1) = points[33, :2], points[263, :2]
    rotation = -math.atan2(-(y1 - y0), x1 - x0)
    cx, cy = (points[:, 0].min() + points[:, 0].max()) / 2, (points[:, 1].min() + points[:, 1].max()) / 2
    side = 1.5 * max(np.ptp(points[:, 0]), np.ptp(points[:, 1]))
    return (cx / w, cy / h, side / w, side / h, rotation)


def crop_opencv(rgb: np.ndarray, r: tuple[float, float, float, float, float]) -> np.ndarray:
    """The region as a (1, 192, 192, 3) float32 tensor in [0, 1], by one affine warp."""
    h, w = rgb.shape[:2]
    cx, cy, side, angle = r[0] * w, r[1] * h, r[2] * w, r[4]
    c, s = math.cos(angle), math.sin(angle)
    ux, uy = np.array([c, s]) * side / 2, np.array([-s, c]) * side / 2  # half side along the crop's x and y
    centre = np.array([cx, cy])
    src = np.array([centre - ux - uy, centre + ux - uy, centre - ux + uy], np.float32)
    dst = np.array([[0, 0], [SIZE, 0], [0, SIZE]], np.float32)
    warped = cv2.warpAffine(
        rgb, cv2.getAffineTransform(src, dst), (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return (warped.astype(np.float32) * (1.0 / 255.0))[None]


class _TwoStreamGraph:
    """A MediaPipe graph with an image and a region input, fed directly (no per-call namedtuple)."""

    def __init__(self, config: str) -> None:
        from mediapipe.framework.formats import rect_pb2
        from mediapipe.python import packet_creator
        from mediapipe.python.solution_base import SolutionBase

        self._rect = rect_pb2.NormalizedRect
        self._creator = packet_creator
        self.solution = SolutionBase(graph_config=config, side_inputs={"with_attention": True})
        self._t = 0

    def feed(self, rgb: np.ndarray, r: tuple[float, float, float, float, float]) -> dict[str, Any]:
        from mediapipe.python import packet_getter
        from mediapipe.python._framework_bindings import image_frame

        s = self.solution
        s._graph_outputs.clear()
        self._t += 33333
        rect = self._rect(x_center=r[0], y_center=r[1], width=r[2], height=r[3], rotation=r[4])
        image = self._creator.create_image_frame(data=rgb, image_format=image_frame.ImageFormat.SRGB)
        s._graph.add_packet_to_input_stream(stream="image", packet=image.at(self._t))
        s._graph.add_packet_to_input_stream(stream="roi", packet=self._creator.create_proto(rect).at(self._t))
        s._graph.wait_until_idle()
        return {k: packet_getter.get_float_list(p) for k, p in s._graph_outputs.items() if not p.is_empty()}

    def close(self) -> None:
        self.solution.close()


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``mesh-onnx`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=None, help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--clips", type=positive_int, default=5, help="ZJU clips (default 5)")
    ap.add_argument("--frames", type=positive_int, default=100, help="frames per clip (default 100)")
    ap.add_argument("--repeats", type=positive_int, default=5, help="timed rounds (default 5)")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/mesh-onnx-DATE-HOST.json)")


def _frames(path: Path, limit: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out: list[np.ndarray] = []
    while len(out) < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    cap.release()
    return out


def _per_frame(fn: Callable[[int], object], n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n * 1e3


def run(args: argparse.Namespace) -> int:
    """Run the ``mesh-onnx`` subcommand; 2 when the ZJU clips are missing."""
    import onnxruntime as ort

    from livecert.face.landmarks import FaceLandmarker, RunningMode

    data = args.data or default_data_dir()
    clips = zju_clips(data, args.clips)
    if not clips:
        return 2
    clip_frames = [_frames(c, args.frames) for c in clips]
    frames, rois = [], []
    with FaceLandmarker(mode=RunningMode.IMAGE, max_faces=1) as still:
        for fr in clip_frames:
            for rgb in fr:
                points = still.process(rgb).points
                if points is not None:
                    frames.append(rgb)
                    rois.append(roi(points, rgb.shape[1], rgb.shape[0]))
    t0 = time.perf_counter()
    model = convert(mediapipe_model_file()).SerializeToString()
    convert_ms = (time.perf_counter() - t0) * 1e3
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    t0 = time.perf_counter()
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    open_ms = (time.perf_counter() - t0) * 1e3

    raw = _TwoStreamGraph(RAW_GRAPH)
    diffs = {name: 0.0 for name in OUTPUTS}
    agree, crops = 0, []
    for rgb, r in zip(frames, rois):
        ref = raw.feed(rgb, r)
        crop = np.asarray(ref["crop"], np.float32).reshape(1, SIZE, SIZE, 3)
        crops.append(crop)
        got = session.run(list(ONNX_NAMES), {"input_1": crop})
        for name, value in zip(OUTPUTS, got):
            diffs[name] = max(diffs[name], float(np.abs(value.reshape(-1) - np.asarray(ref[name])).max()))
        agree += (1 / (1 + math.exp(-float(got[-1].reshape(-1)[0]))) > 0.5) == (
            1 / (1 + math.exp(-float(ref["flag"][0]))) > 0.5
        )
    raw.close()

    model_graph = _TwoStreamGraph(MODEL_GRAPH)
    n = len(frames)
    times: dict[str, list[float]] = {
        "facemesh_graph": [],
        "mediapipe_model": [],
        "onnxruntime_model": [],
        "opencv_crop": [],
    }

    def graph_round() -> float:
        total, count = 0.0, 0
        for fr in clip_frames:
            with FaceLandmarker(mode=RunningMode.VIDEO) as lm:
                lm.process(fr[0], 0.0)
                total += _per_frame(lambda i, lm=lm, fr=fr: lm.process(fr[i + 1], (i + 1) / 30), len(fr) - 1) * (
                    len(fr) - 1
                )
                count += len(fr) - 1
        return total / count

    runs: dict[str, Callable[[], float]] = {
        "facemesh_graph": graph_round,
        "mediapipe_model": lambda: _per_frame(lambda i: model_graph.feed(frames[i], rois[i]), n),
        "onnxruntime_model": lambda: _per_frame(lambda i: session.run(None, {"input_1": crops[i]}), n),
        "opencv_crop": lambda: _per_frame(lambda i: crop_opencv(frames[i], rois[i]), n),
    }
    for fn in runs.values():  # warm-up
        fn()
    for k in range(args.repeats):
        for name in list(runs) if k % 2 == 0 else list(runs)[::-1]:
            times[name].append(runs[name]())
    model_graph.close()

    summary = {name: median_iqr(v, extremes=True) for name, v in times.items()}
    report: dict[str, Any] = {
        "metadata": metadata(
            data_dir=str(data.resolve()), clips=[c.name for c in clips], frames=n, repeats=args.repeats
        ),
        "ms_per_frame": summary,
        "max_abs_diff_crop_px": diffs,
        "presence_agreement": {"frames": n, "agree": agree},
        "convert_ms": convert_ms,
        "session_open_ms": open_ms,
    }
    path = write_json(report, args.out or default_out("mesh-onnx"))
    log.info(
        "ms per frame (median of %d rounds): FaceMesh graph %.2f; model alone: MediaPipe %.2f, ONNX Runtime %.2f "
        "(+ OpenCV crop %.2f); largest output difference %.1e crop px; presence agrees %d/%d (wrote %s)",
        args.repeats,
        summary["facemesh_graph"]["median"],
        summary["mediapipe_model"]["median"],
        summary["onnxruntime_model"]["median"],
        summary["opencv_crop"]["median"],
        max(diffs.values()),
        agree,
        n,
        path,
    )
    return 0
