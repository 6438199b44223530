"""Convert MediaPipe's attention face mesh (``face_landmark_with_attention.tflite``) to ONNX.

Used by ``python -m benchmarks mesh-onnx`` (:mod:`benchmarks.mesh_ort`) to measure the
model on ONNX Runtime against MediaPipe's own graph (issue #14); livecert itself runs
MediaPipe's graph.

The model ships inside the ``mediapipe`` wheel; :func:`convert` reads it with
:mod:`livecert.face.tflite_reader` and builds the same network with the
``onnx`` package: no download, no copied weights.  Activations are laid out
NCHW (ONNX's convolution layout); a tensor is transposed to TFLite's NHWC only
where an operator needs it (reshapes, outputs).

The model's three MediaPipe custom operators are rebuilt from ONNX operators,
following their definitions in MediaPipe (``mediapipe/util/tflite/operations``):

* ``Landmarks2TransformMatrix`` (v2): from a subset of the mesh landmarks, the
  4x4 matrix of a crop (centre and size of the subset's box after rotating
  the line between two landmarks level, scaled by ``scale_x``/``scale_y``)
  mapping crop pixels to feature-map pixels.
* ``TransformTensorBilinear`` (v2): that crop of a feature map, sampled
  bilinearly at pixel centres; a sample whose position falls outside the map
  is 0.
* ``TransformLandmarks`` (v2): 2-D points moved by the matrix.

Inputs and outputs keep the TFLite names and shapes: ``input_1`` (1, 192,
192, 3) float32 in [0, 1]; ``output_mesh_identity`` (1, 1, 1, 1404),
``output_lips`` (1, 1, 1, 160), ``output_left_eye`` and ``output_right_eye``
(1, 1, 1, 142), ``output_left_iris`` and ``output_right_iris`` (1, 1, 1, 10),
``conv_faceflag`` (1, 1, 1, 1), all in the 192x192 input's pixels.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from benchmarks.tflite_reader import Operator, TFLiteFormatError, TFLiteGraph, read_tflite

#: Bumped whenever the graph this module builds changes (it names cached files).
CONVERTER_VERSION = 1
#: ONNX opset: 16 is the first with GridSample.
OPSET = 17
#: The model inside the mediapipe wheel, relative to the package folder.
MODEL_IN_WHEEL = "modules/face_landmark/face_landmark_with_attention.tflite"

_ACTIVATIONS = {0: None, 1: "Relu"}
_NCHW = (0, 3, 1, 2)
_NHWC = (0, 2, 3, 1)


def mediapipe_model_file() -> Path:
    """The attention mesh model inside the installed mediapipe package (not imported: found by path)."""
    import importlib.util

    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the mediapipe package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_IN_WHEEL


class _Builder:
    """ONNX nodes and initializers for one TFLite graph, tensor layouts tracked."""

    def __init__(self, graph: TFLiteGraph) -> None:
        self.g = graph
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.layout: dict[int, str] = {}  # tensor index -> "nchw" | "tfl" for values made so far
        self.names: dict[tuple[int, str], str] = {}
        self.consts: dict[int, np.ndarray] = {}
        self.counter = 0

    # -- names -------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}__{self.counter}"

    def const(self, value: np.ndarray, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.array(value, order="C"), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attrs: object) -> str:
        out = self.fresh(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def value(self, index: int, layout: str) -> str:
        """The name of tensor ``index`` in ``layout`` ("nchw" or "tfl"), transposing once if needed."""
        key = (index, layout)
        if key in self.names:
            return self.names[key]
        if index in self.consts:
            data = self.consts[index]
            if layout == "nchw" and data.ndim == 4:
                data = data.transpose(_NCHW)
            name = self.const(data.astype(np.float32), "w")
        else:
            have = self.layout[index]
            src = self.names[(index, have)]
            perm = _NCHW if layout == "nchw" else _NHWC
            name = self.node("Transpose", [src], "t", perm=list(perm))
        self.names[key] = name
        return name

    def define(self, index: int, name: str, layout: str) -> None:
        self.layout[index] = layout
        self.names[(index, layout)] = name

    # -- conversion --------------------------------------------------------
    def run(self) -> onnx.ModelProto:
        g = self.g
        for i, t in enumerate(g.tensors):
            if t.data is not None:
                self.consts[i] = np.asarray(t.data, dtype=np.float32) if t.dtype in (np.float16, np.float32) else t.data
        (inp,) = g.inputs
        self.define(inp, g.tensors[inp].name, "tfl")
        for op in g.operators:
            getattr(self, "op_" + (op.custom_code if op.kind == "CUSTOM" else op.kind))(op)
        outputs = []
        for o in g.outputs:
            name = self.value(o, "tfl")
            final = g.tensors[o].name
            self.nodes.append(helper.make_node("Identity", [name], [final]))
            outputs.append(helper.make_tensor_value_info(final, TensorProto.FLOAT, list(g.tensors[o].shape)))
        t_in = g.tensors[inp]
        graph = helper.make_graph(
            self.nodes,
            "face_landmark_with_attention",
            [helper.make_tensor_value_info(t_in.name, TensorProto.FLOAT, list(t_in.shape))],
            outputs,
            self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="livecert")
        model.ir_version = 8
        return model

    def _activation(self, name: str, op: Operator) -> str:
        act = op.options.get("activation", 0)
        if act not in _ACTIVATIONS:
            raise TFLiteFormatError(f"fused activation {act} is not supported")
        return self.node("Relu", [name], "relu") if _ACTIVATIONS[act] else name

    def _same_pads(self, op: Operator, kh: int, kw: int) -> list[int]:
        if op.options.get("padding", 0) == 1:  # VALID
            return [0, 0, 0, 0]
        _, h, w, _ = self.g.tensors[op.inputs[0]].shape
        sh, sw = op.options["stride_h"], op.options["stride_w"]
        total_h = max((math.ceil(h / sh) - 1) * sh + kh - h, 0)
        total_w = max((math.ceil(w / sw) - 1) * sw + kw - w, 0)
        return [total_h // 2, total_w // 2, total_h - total_h // 2, total_w - total_w // 2]

    def op_DEQUANTIZE(self, op: Operator) -> None:
        (src,), (dst,) = op.inputs, op.outputs
        if src not in self.consts:
            raise TFLiteFormatError("DEQUANTIZE of a non-constant tensor is not supported")
        self.consts[dst] = self.consts[src].astype(np.float32)

    def _conv(self, op: Operator, weight: np.ndarray, group: int) -> None:
        """A TFLite (depthwise) convolution as ONNX Conv; ``weight`` is (O, I / group, kh, kw)."""
        x, _, b = op.inputs
        kh, kw = weight.shape[2:]
        inputs = [self.value(x, "nchw"), self.const(weight, "w")]
        if b >= 0:
            inputs.append(self.const(self.consts[b], "b"))
        y = self.node(
            "Conv",
            inputs,
            "conv",
            group=group,
            kernel_shape=[kh, kw],
            strides=[op.options["stride_h"], op.options["stride_w"]],
            dilations=[op.options["dilation_h"], op.options["dilation_w"]],
            pads=self._same_pads(op, kh, kw),
        )
        self.define(op.outputs[0], self._activation(y, op), "nchw")

    def op_CONV_2D(self, op: Operator) -> None:
        self._conv(op, self.consts[op.inputs[1]].transpose(0, 3, 1, 2), group=1)  # OHWI -> OIHW

    def op_DEPTHWISE_CONV_2D(self, op: Operator) -> None:
        # (1, kh, kw, C * multiplier) -> (C * multiplier, 1, kh, kw), one group per input channel
        weight = self.consts[op.inputs[1]].transpose(3, 0, 1, 2)
        self._conv(op, weight, group=self.g.tensors[op.inputs[0]].shape[3])

    def op_MAX_POOL_2D(self, op: Operator) -> None:
        kh, kw = op.options["filter_h"], op.options["filter_w"]
        y = self.node(
            "MaxPool",
            [self.value(op.inputs[0], "nchw")],
            "pool",
            kernel_shape=[kh, kw],
            strides=[op.options["stride_h"], op.options["stride_w"]],
            pads=self._same_pads(op, kh, kw),
        )
        self.define(op.outputs[0], self._activation(y, op), "nchw")

    def op_PRELU(self, op: Operator) -> None:
        """``relu(x) - alpha * relu(-x)``, the two per-channel scalings as grouped 1x1 convolutions:
        ONNX Runtime's blocked (NCHWc) kernels fuse those with the Relu and the Add, while its
        PRelu (a broadcasting op) forces layout reorders around every call (9.5 against 4-5 ms
        for the whole model, measured here)."""
        x, alpha = op.inputs
        if len(self.g.tensors[x].shape) != 4:
            raise TFLiteFormatError("PRELU on a tensor that is not 4-D is not supported")
        slope = self.consts[alpha].reshape(-1).astype(np.float32)
        c = slope.size
        xin = self.value(x, "nchw")
        positive = self.node("Relu", [xin], "relu")
        flipped = self.node(
            "Conv", [xin, self.const(-np.ones((c, 1, 1, 1), np.float32), "w")], "neg", group=c, kernel_shape=[1, 1]
        )
        negative = self.node("Relu", [flipped], "relu")
        scaled = self.node(
            "Conv", [negative, self.const(-slope.reshape(c, 1, 1, 1), "w")], "alpha", group=c, kernel_shape=[1, 1]
        )
        self.define(op.outputs[0], self.node("Add", [scaled, positive], "prelu"), "nchw")

    def _binary(self, op: Operator, onnx_op: str) -> None:
        a, b = op.inputs
        rank = len(self.g.tensors[op.outputs[0]].shape)
        layout = "nchw" if rank == 4 and any(i not in self.consts for i in (a, b)) else "tfl"
        names = []
        for i in (a, b):
            if i in self.consts and self.consts[i].ndim < 4:
                names.append(self.const(self.consts[i], "k"))
            else:
                names.append(self.value(i, layout))
        y = self.node(onnx_op, names, onnx_op.lower())
        self.define(op.outputs[0], self._activation(y, op), layout)

    def op_ADD(self, op: Operator) -> None:
        self._binary(op, "Add")

    def op_MUL(self, op: Operator) -> None:
        self._binary(op, "Mul")

    def op_PAD(self, op: Operator) -> None:
        x, pads = op.inputs
        p = np.asarray(self.g.tensors[pads].data, dtype=np.int64)  # (4, 2), NHWC
        order = _NCHW
        onnx_pads = [int(p[d, 0]) for d in order] + [int(p[d, 1]) for d in order]
        y = self.node("Pad", [self.value(x, "nchw"), self.const(np.array(onnx_pads, np.int64), "p")], "pad")
        self.define(op.outputs[0], y, "nchw")

    def op_RESHAPE(self, op: Operator) -> None:
        shape = np.array(self.g.tensors[op.outputs[0]].shape, dtype=np.int64)
        y = self.node("Reshape", [self.value(op.inputs[0], "tfl"), self.const(shape, "s")], "reshape")
        self.define(op.outputs[0], y, "tfl")

    def op_STRIDED_SLICE(self, op: Operator) -> None:
        x, begin, end, strides = op.inputs
        o = op.options
        if o.get("ellipsis_mask") or o.get("new_axis_mask") or o.get("shrink_axis_mask"):
            raise TFLiteFormatError("STRIDED_SLICE with ellipsis, new-axis or shrink masks is not supported")
        shape = self.g.tensors[x].shape
        b = [0 if o["begin_mask"] >> d & 1 else int(v) for d, v in enumerate(self.g.tensors[begin].data)]  # type: ignore[union-attr]
        e = [shape[d] if o["end_mask"] >> d & 1 else int(v) for d, v in enumerate(self.g.tensors[end].data)]  # type: ignore[union-attr]
        s = [int(v) for v in self.g.tensors[strides].data]  # type: ignore[union-attr]
        arrays = [np.array(v, np.int64) for v in (b, e, list(range(len(shape))), s)]
        y = self.node("Slice", [self.value(x, "tfl")] + [self.const(a, "sl") for a in arrays], "slice")
        self.define(op.outputs[0], y, "tfl")

    # -- MediaPipe's custom operators ------------------------------------------
    def _custom_options(self, op: Operator) -> dict[str, object]:
        from flatbuffers import flexbuffers

        opts = flexbuffers.Loads(op.custom_options) if op.custom_options else {}
        if not isinstance(opts, dict):
            raise TFLiteFormatError(f"{op.custom_code}: options are not a map")
        return opts

    def _scalar_of(self, name: str, index: int, hint: str) -> str:
        """Column ``index`` of a (1, K, 3) point tensor as (1, K)."""
        return self.node("Gather", [name, self.const(np.array(index, np.int64), "i")], hint, axis=2)

    def op_Landmarks2TransformMatrix(self, op: Operator) -> None:
        if op.version != 2:
            raise TFLiteFormatError(f"Landmarks2TransformMatrix version {op.version} is not supported")
        o = self._custom_options(op)
        points = self.value(op.inputs[0], "tfl")  # (1, 468, 3)
        left, right = int(o["left_rotation_idx"]), int(o["right_rotation_idx"])  # type: ignore[call-overload]
        subset = np.array(o["subset_idxs"], dtype=np.int64)
        target = float(o["target_rotation_radians"])  # type: ignore[arg-type]
        ow, oh = float(o["output_width"]), float(o["output_height"])  # type: ignore[arg-type]
        sx_k, sy_k = float(o["scale_x"]), float(o["scale_y"])  # type: ignore[arg-type]

        pair = self.node("Gather", [points, self.const(np.array([left, right], np.int64), "i")], "pair", axis=1)
        px, py = self._scalar_of(pair, 0, "px"), self._scalar_of(pair, 1, "py")  # (1, 2)
        one, zero = self.const(np.array([1], np.int64), "i"), self.const(np.array([0], np.int64), "i")
        dx = self.node(
            "Sub", [self.node("Gather", [px, one], "rx", axis=1), self.node("Gather", [px, zero], "lx", axis=1)], "dx"
        )
        dy = self.node(
            "Sub", [self.node("Gather", [py, one], "ry", axis=1), self.node("Gather", [py, zero], "ly", axis=1)], "dy"
        )
        norm = self.node(
            "Sqrt",
            [self.node("Add", [self.node("Mul", [dx, dx], "dx2"), self.node("Mul", [dy, dy], "dy2")], "n2")],
            "n",
        )
        ca = self.node("Div", [dx, norm], "ca")  # cos of the line's angle a
        sa = self.node("Div", [dy, norm], "sa")
        # r = target - a: cos r = cos t cos a + sin t sin a; sin r = sin t cos a - cos t sin a
        ct, st = (
            self.const(np.array([math.cos(target)], np.float32), "k"),
            self.const(np.array([math.sin(target)], np.float32), "k"),
        )
        c = self.node("Add", [self.node("Mul", [ct, ca], "m"), self.node("Mul", [st, sa], "m")], "cos_r")
        s = self.node("Sub", [self.node("Mul", [st, ca], "m"), self.node("Mul", [ct, sa], "m")], "sin_r")

        sub = self.node("Gather", [points, self.const(subset, "i")], "subset", axis=1)  # (1, K, 3)
        x, y = self._scalar_of(sub, 0, "x"), self._scalar_of(sub, 1, "y")  # (1, K)
        xr = self.node("Sub", [self.node("Mul", [c, x], "m"), self.node("Mul", [s, y], "m")], "xr")
        yr = self.node("Add", [self.node("Mul", [s, x], "m"), self.node("Mul", [c, y], "m")], "yr")

        def reduce(op_name: str, v: str) -> str:
            return self.node(op_name, [v], op_name.lower(), axes=[1], keepdims=1)

        xmax, xmin = reduce("ReduceMax", xr), reduce("ReduceMin", xr)
        ymax, ymin = reduce("ReduceMax", yr), reduce("ReduceMin", yr)
        half = self.const(np.array([0.5], np.float32), "k")
        w = self.node("Sub", [xmax, xmin], "w")
        h = self.node("Sub", [ymax, ymin], "h")
        mx = self.node("Mul", [self.node("Add", [xmin, xmax], "m"), half], "mx")
        my = self.node("Mul", [self.node("Add", [ymin, ymax], "m"), half], "my")
        # back by -r: (c mx + s my, -s mx + c my)
        cx = self.node("Add", [self.node("Mul", [c, mx], "m"), self.node("Mul", [s, my], "m")], "cx")
        cy = self.node("Sub", [self.node("Mul", [c, my], "m"), self.node("Mul", [s, mx], "m")], "cy")
        sx = self.node("Mul", [w, self.const(np.array([sx_k / ow], np.float32), "k")], "sx")
        sy = self.node("Mul", [h, self.const(np.array([sy_k / oh], np.float32), "k")], "sy")
        # T = shift(c) . rot(-r) . scale(sx, sy) . shift(-ow/2, -oh/2)
        a00 = self.node("Mul", [c, sx], "a00")
        a01 = self.node("Mul", [s, sy], "a01")
        a10 = self.node("Neg", [self.node("Mul", [s, sx], "m")], "a10")
        a11 = self.node("Mul", [c, sy], "a11")
        hw, hh = self.const(np.array([ow / 2], np.float32), "k"), self.const(np.array([oh / 2], np.float32), "k")
        t0 = self.node(
            "Sub",
            [cx, self.node("Add", [self.node("Mul", [a00, hw], "m"), self.node("Mul", [a01, hh], "m")], "m")],
            "t0",
        )
        t1 = self.node(
            "Sub",
            [cy, self.node("Add", [self.node("Mul", [a10, hw], "m"), self.node("Mul", [a11, hh], "m")], "m")],
            "t1",
        )
        z, u = self.const(np.zeros((1, 1), np.float32), "k"), self.const(np.ones((1, 1), np.float32), "k")
        row = [a00, a01, z, t0, a10, a11, z, t1, z, z, u, z, z, z, z, u]
        flat = self.node("Concat", row, "m16", axis=1)  # (1, 16)
        y_ = self.node("Reshape", [flat, self.const(np.array([1, 4, 4], np.int64), "s")], "l2tm")
        self.define(op.outputs[0], y_, "tfl")

    def op_TransformTensorBilinear(self, op: Operator) -> None:
        if op.version != 2:
            raise TFLiteFormatError(f"TransformTensorBilinear version {op.version} is not supported")
        feat, mat = op.inputs
        _, in_h, in_w, _ = self.g.tensors[feat].shape
        _, out_h, out_w, _ = self.g.tensors[op.outputs[0]].shape
        m = self.value(mat, "tfl")  # (1, 4, 4)
        # rows 0 and 1 as (1, 2, 4); the half-pixel shift folds into the last column
        rows = self.node("Slice", [m] + [self.const(np.array(v, np.int64), "sl") for v in ([0], [2], [1])], "rows")
        shift = np.zeros((1, 2, 4), np.float32)
        shift[0, :, 0] = 0.5
        shift[0, :, 1] = 0.5
        # x_t[3] += 0.5 x_t[0] + 0.5 x_t[1] - 0.5: as rows @ (ox + 0.5, oy + 0.5, 0, 1) - 0.5
        ys, xs = np.meshgrid(np.arange(out_h, dtype=np.float32), np.arange(out_w, dtype=np.float32), indexing="ij")
        coords = np.stack(
            [xs.ravel() + 0.5, ys.ravel() + 0.5, np.zeros(xs.size, np.float32), np.ones(xs.size, np.float32)]
        )
        tc = self.node("MatMul", [rows, self.const(coords.astype(np.float32), "grid")], "tc")  # (1, 2, P)
        tc = self.node("Sub", [tc, self.const(np.array([0.5], np.float32), "k")], "tc")
        # GridSample with align_corners=1: -1 and 1 are the centres of the first and last pixels
        scale = np.array([[2.0 / (in_w - 1)], [2.0 / (in_h - 1)]], np.float32)
        norm = self.node(
            "Sub",
            [self.node("Mul", [tc, self.const(scale, "k")], "m"), self.const(np.array([1.0], np.float32), "k")],
            "g",
        )
        grid = self.node("Transpose", [norm], "g", perm=[0, 2, 1])  # (1, P, 2)
        grid = self.node("Reshape", [grid, self.const(np.array([1, out_h, out_w, 2], np.int64), "s")], "grid")
        sampled = self.node(
            "GridSample",
            [self.value(feat, "nchw"), grid],
            "ttb",
            mode="bilinear",
            padding_mode="zeros",
            align_corners=1,
        )
        # a sample whose position is outside [0, size - 1] is 0 as a whole
        inside = self.node(
            "Mul",
            [
                self.node(
                    "Cast",
                    [self.node("GreaterOrEqual", [norm, self.const(np.array([-1.0], np.float32), "k")], "ge")],
                    "f",
                    to=TensorProto.FLOAT,
                ),
                self.node(
                    "Cast",
                    [self.node("LessOrEqual", [norm, self.const(np.array([1.0], np.float32), "k")], "le")],
                    "f",
                    to=TensorProto.FLOAT,
                ),
            ],
            "in2",
        )  # (1, 2, P)
        mask = self.node("ReduceProd", [inside], "in", axes=[1], keepdims=1)  # (1, 1, P)
        mask = self.node("Reshape", [mask, self.const(np.array([1, 1, out_h, out_w], np.int64), "s")], "mask")
        self.define(op.outputs[0], self.node("Mul", [sampled, mask], "ttb"), "nchw")

    def op_TransformLandmarks(self, op: Operator) -> None:
        if op.version != 2:
            raise TFLiteFormatError(f"TransformLandmarks version {op.version} is not supported")
        pts, mat = op.inputs
        if self.g.tensors[pts].shape[-1] != 2:
            raise TFLiteFormatError("TransformLandmarks on points that are not 2-D is not supported")
        m = self.value(mat, "tfl")
        lin = self.node(
            "Slice", [m] + [self.const(np.array(v, np.int64), "sl") for v in ([0, 0], [2, 2], [1, 2])], "lin"
        )  # (1, 2, 2)
        off = self.node(
            "Slice", [m] + [self.const(np.array(v, np.int64), "sl") for v in ([0, 3], [2, 4], [1, 2])], "off"
        )  # (1, 2, 1)
        moved = self.node(
            "MatMul", [self.value(pts, "tfl"), self.node("Transpose", [lin], "linT", perm=[0, 2, 1])], "tl"
        )
        y = self.node("Add", [moved, self.node("Transpose", [off], "offT", perm=[0, 2, 1])], "tl")
        self.define(op.outputs[0], y, "tfl")


def convert(source: Path) -> onnx.ModelProto:
    """Build the ONNX form of a MediaPipe face-mesh ``.tflite`` file.

    Parameters
    ----------
    source : Path

    Returns
    -------
    onnx.ModelProto
        Checked with :func:`onnx.checker.check_model`.

    Raises
    ------
    TFLiteFormatError
        The file is not a float TFLite model made of the operators above.
    OSError
        It cannot be read.
    """
    model = _Builder(read_tflite(Path(source).read_bytes())).run()
    onnx.checker.check_model(model)
    return model
