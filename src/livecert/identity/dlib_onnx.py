"""Convert a serialised dlib ``dnn`` network into an ONNX graph.

dlib writes a network as its C++ type says, with no description of that
type: the layers' kinds, their order, and which tag an ``add_prev`` or a
``skip`` refers to are not in the file.  The reader therefore takes the
architecture as a :class:`NetSpec` (:func:`face_resnet_spec` is the one of
``dlib_face_recognition_resnet_model_v1``, the ``anet_type`` of dlib's face
recognition example) and checks every layer it reads against it: kind,
format version, filter count, window, stride, padding and tensor shapes.
Anything else raises :class:`DlibFormatError`.

Stream format (dlib's ``serialize``), as read here:

* integers: one control byte (bit 7 = negative, low 4 bits = number of
  bytes), then that many bytes, least significant first;
* ``bool``: the byte ``'1'`` or ``'0'``;
* ``float``/``double``: a 64-bit mantissa and a 16-bit exponent as two
  integers, value ``mantissa * 2**exponent`` (exponents 32000, 32001 and
  32002 mean +inf, -inf and nan);
* strings: their length, then their bytes;
* tensors: version 2, then num_samples, k, nr, nc, then the values as
  little-endian IEEE float32; "alias" tensors (shapes only): version 1 and
  the four sizes;
* layers are nested: a layer writes its format version, then the whole
  network below it, then its own details.  So a file starts with the
  versions of all layers from the loss down to the input, and the layers'
  details follow from the input up.

The graph takes a batch of RGB chips, uint8 of shape (N, H, W, 3), and does
what dlib's ``input_rgb_image_sized`` does to them (subtract the mean colour
stored in the file, divide by 256) before the layers.  A scale-and-shift
layer (``affine``, or a batch normalisation layer saved in training mode,
turned into one as dlib does when it loads it) that directly follows a
convolution is folded into that convolution's weights.  ``add_prev`` adds
tensors of different sizes as dlib does, missing elements counting as zero.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from livecert.errors import ErrorCode, ModelError, not_loaded

if TYPE_CHECKING:
    import onnx

Float32Array = npt.NDArray[np.float32]

#: ONNX operator set of the graphs made here (ONNX Runtime 1.14 and later run it).
OPSET = 17

#: ONNX IR version written into the graphs (the oldest that carries opset 17).
IR_VERSION = 8

#: Names of the graph's input and output.
INPUT_NAME = "chip"
OUTPUT_NAME = "descriptor"

#: Changes whenever the graph made from the same file would change; part of the cache key.
CONVERTER_VERSION = 1

_FLOAT_INF, _FLOAT_NINF, _FLOAT_NAN = 32000, 32001, 32002


class DlibFormatError(ModelError):
    """The file is not the dlib network it should be (``MODEL_UNUSABLE``).

    Parameters
    ----------
    message : str
        What was expected and what was found.
    offset : int
        Byte offset in the file where reading failed.
    """

    default_code = ErrorCode.MODEL_UNUSABLE

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"{message} (at byte {offset})")
        self.detail = message
        self.offset = offset


class LayerKind(enum.Enum):
    """The dlib layers the converter understands."""

    CON = "con"
    AFFINE = "affine"
    RELU = "relu"
    MAX_POOL = "max_pool"
    AVG_POOL = "avg_pool"
    ADD_PREV = "add_prev"
    FC = "fc"
    TAG = "tag"
    SKIP = "skip"


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a dlib network type.

    Attributes
    ----------
    kind : LayerKind
    outputs : int
        Filters of a ``con``, outputs of an ``fc``; 0 otherwise.
    window : tuple of int
        (rows, columns) of a ``con`` filter or a pooling window; (0, 0) for
        a pooling over the whole input (``avg_pool_everything``).
    stride : tuple of int
        (rows, columns).
    tag : int
        Tag number of a ``tag``, ``skip`` or ``add_prev`` layer.
    bias : bool
        Whether an ``fc`` has a bias (``fc`` vs ``fc_no_bias``).
    """

    kind: LayerKind
    outputs: int = 0
    window: tuple[int, int] = (0, 0)
    stride: tuple[int, int] = (1, 1)
    tag: int = 0
    bias: bool = True

    @property
    def padding(self) -> tuple[int, int]:
        """dlib's default padding: half the window at stride 1, none otherwise."""
        return (
            self.window[0] // 2 if self.stride[0] == 1 else 0,
            self.window[1] // 2 if self.stride[1] == 1 else 0,
        )

    @property
    def is_layer(self) -> bool:
        """True for a computing layer (dlib's ``add_layer``), False for a tag or skip."""
        return self.kind not in (LayerKind.TAG, LayerKind.SKIP)


@dataclass(frozen=True)
class NetSpec:
    """A dlib network type: an RGB input of fixed size, layers, a metric loss.

    Attributes
    ----------
    input_size : int
        Rows and columns of ``input_rgb_image_sized``.
    layers : tuple of LayerSpec
        From the one next to the input to the one under the loss.
    """

    input_size: int
    layers: tuple[LayerSpec, ...]


# ----------------------------------------------------------------------------
# layer constructors, named as dlib's templates


def con(filters: int, rows: int, cols: int, stride_y: int, stride_x: int) -> LayerSpec:
    """dlib's ``con<filters, rows, cols, stride_y, stride_x>``."""
    return LayerSpec(LayerKind.CON, outputs=filters, window=(rows, cols), stride=(stride_y, stride_x))


def affine() -> LayerSpec:
    """dlib's ``affine`` (also reads a saved ``bn_con``)."""
    return LayerSpec(LayerKind.AFFINE)


def relu() -> LayerSpec:
    """dlib's ``relu``."""
    return LayerSpec(LayerKind.RELU)


def max_pool(rows: int, cols: int, stride_y: int, stride_x: int) -> LayerSpec:
    """dlib's ``max_pool<rows, cols, stride_y, stride_x>``."""
    return LayerSpec(LayerKind.MAX_POOL, window=(rows, cols), stride=(stride_y, stride_x))


def avg_pool(rows: int, cols: int, stride_y: int, stride_x: int) -> LayerSpec:
    """dlib's ``avg_pool<rows, cols, stride_y, stride_x>``; ``avg_pool(0, 0, 1, 1)`` is ``avg_pool_everything``."""
    return LayerSpec(LayerKind.AVG_POOL, window=(rows, cols), stride=(stride_y, stride_x))


def fc(outputs: int, *, bias: bool = True) -> LayerSpec:
    """dlib's ``fc<outputs>`` (``bias=False``: ``fc_no_bias``)."""
    return LayerSpec(LayerKind.FC, outputs=outputs, bias=bias)


def tag(n: int) -> LayerSpec:
    """dlib's ``tagN``."""
    return LayerSpec(LayerKind.TAG, tag=n)


def skip(n: int) -> LayerSpec:
    """dlib's ``skipN``: continue from the output of the nearest ``tagN`` below."""
    return LayerSpec(LayerKind.SKIP, tag=n)


def add_prev(n: int) -> LayerSpec:
    """dlib's ``add_prevN``: add the output of the nearest ``tagN`` below."""
    return LayerSpec(LayerKind.ADD_PREV, tag=n)


def _block(filters: int, stride: int) -> list[LayerSpec]:
    # affine<con<N,3,3,1,1,relu<affine<con<N,3,3,stride,stride,SUBNET>>>>>, from the input up
    return [con(filters, 3, 3, stride, stride), affine(), relu(), con(filters, 3, 3, 1, 1), affine()]


def _ares(filters: int) -> list[LayerSpec]:
    # relu<add_prev1<block<tag1<SUBNET>>>>
    return [tag(1), *_block(filters, 1), add_prev(1), relu()]


def _ares_down(filters: int) -> list[LayerSpec]:
    # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<stride 2, tag1<SUBNET>>>>>>>
    return [tag(1), *_block(filters, 2), tag(2), skip(1), avg_pool(2, 2, 2, 2), add_prev(2), relu()]


def face_resnet_spec() -> NetSpec:
    """The network type of ``dlib_face_recognition_resnet_model_v1.dat``.

    A 29-layer ResNet on a 150x150 RGB chip: ``con<32,7,7,2,2>``, affine,
    relu, ``max_pool<3,3,2,2>``, residual stages of 32, 64, 128 and 256
    filters, a global average pooling and ``fc_no_bias<128>``.

    Returns
    -------
    NetSpec
    """
    layers: list[LayerSpec] = [con(32, 7, 7, 2, 2), affine(), relu(), max_pool(3, 3, 2, 2)]
    layers += _ares(32) * 3
    layers += _ares_down(64) + _ares(64) * 3
    layers += _ares_down(128) + _ares(128) * 2
    layers += _ares_down(256) + _ares(256) * 2
    layers += _ares_down(256)
    layers += [avg_pool(0, 0, 1, 1), fc(128, bias=False)]
    return NetSpec(input_size=150, layers=tuple(layers))


# ----------------------------------------------------------------------------
# parsed network


@dataclass
class ParsedLayer:
    """One layer read from a file, with its weights.

    Attributes
    ----------
    spec : LayerSpec
    weights : ndarray of float32 or None
        ``con``: filters (out, in, rows, cols); ``fc``: (inputs, outputs);
        ``affine``: per-channel scale.
    bias : ndarray of float32 or None
        ``con`` and ``fc`` bias; ``affine`` per-channel shift.
    disabled : bool
        An ``affine`` or ``relu`` switched off (passes its input through).
    fused_relu : bool
        A ``con`` with dlib's fused relu.
    """

    spec: LayerSpec
    weights: Float32Array | None = None
    bias: Float32Array | None = None
    disabled: bool = False
    fused_relu: bool = False


@dataclass
class ParsedNet:
    """A dlib network read from a file.

    Attributes
    ----------
    input_size : int
    mean_rgb : tuple of float
        Mean colour the input layer subtracts (before dividing by 256).
    layers : list of ParsedLayer
        From the input up, as in :attr:`NetSpec.layers`.
    """

    input_size: int
    mean_rgb: tuple[float, float, float]
    layers: list[ParsedLayer] = field(default_factory=list)


# ----------------------------------------------------------------------------
# reading dlib's stream format


class _Reader:
    """Reads dlib's serialisation primitives from a byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, message: str) -> DlibFormatError:
        return DlibFormatError(message, offset=self.pos)

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"file ends inside {what}: {n} bytes needed, {len(self.data) - self.pos} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def integer(self, what: str) -> int:
        control = self.take(1, what)[0]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            self.pos -= 1
            raise self.fail(f"{what}: not an integer (control byte 0x{control:02x})")
        value = int.from_bytes(self.take(size, what), "little")
        return -value if control & 0x80 else value

    def count(self, what: str) -> int:
        value = self.integer(what)
        if value < 0:
            raise self.fail(f"{what} is negative ({value})")
        return value

    def boolean(self, what: str) -> bool:
        byte = self.take(1, what)
        if byte not in (b"0", b"1"):
            self.pos -= 1
            raise self.fail(f"{what}: expected a bool ('0' or '1'), found byte 0x{byte[0]:02x}")
        return byte == b"1"

    def real(self, what: str) -> float:
        mantissa = self.integer(what)
        exponent = self.integer(what)
        if exponent == _FLOAT_INF:
            return math.inf
        if exponent == _FLOAT_NINF:
            return -math.inf
        if exponent == _FLOAT_NAN:
            return math.nan
        try:
            return math.ldexp(float(mantissa), exponent)
        except OverflowError:
            raise self.fail(f"{what}: number too large (2**{exponent})") from None

    def string(self, what: str, limit: int = 256) -> str:
        n = self.count(f"length of {what}")
        if n > limit:
            raise self.fail(f"{what}: a string of {n} bytes, expected at most {limit}")
        raw = self.take(n, what)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail(f"{what}: not ASCII text") from None

    def version(self, what: str, allowed: Sequence[int]) -> int:
        v = self.integer(f"format version of {what}")
        if v not in allowed:
            raise self.fail(f"{what}: format version {v}, expected {' or '.join(map(str, allowed))}")
        return v

    def tag_string(self, what: str, allowed: Sequence[str]) -> str:
        start = self.pos
        try:
            s = self.string(f"name of {what}")
        except DlibFormatError:
            self.pos = start
            raise self.fail(f"expected {what} ({' or '.join(allowed)})") from None
        if s not in allowed:
            self.pos = start
            raise self.fail(f"expected {what} ({' or '.join(allowed)}), found {s!r}")
        return s

    def shape(self, what: str, version: int) -> tuple[int, int, int, int]:
        self.version(what, (version,))
        dims = tuple(self.count(f"size of {what}") for _ in range(4))
        return (dims[0], dims[1], dims[2], dims[3])

    def tensor(self, what: str) -> Float32Array:
        dims = self.shape(what, 2)
        n = math.prod(dims)
        if n * 4 > len(self.data) - self.pos:
            raise self.fail(f"file ends inside {what} of shape {dims}")
        values = np.frombuffer(self.take(4 * n, what), dtype="<f4").astype(np.float32)
        return values.reshape(dims)

    def alias(self, what: str) -> tuple[int, int, int, int]:
        return self.shape(what, 1)


def _expect(r: _Reader, ok: bool, message: str) -> None:
    if not ok:
        raise r.fail(message)


def _read_window(r: _Reader, spec: LayerSpec, what: str) -> None:
    """Window, stride and padding as a ``con``/pooling layer writes them, checked against ``spec``."""
    rows, cols = r.integer(f"{what} rows"), r.integer(f"{what} columns")
    sy, sx = r.integer(f"{what} stride_y"), r.integer(f"{what} stride_x")
    py, px = r.integer(f"{what} padding_y"), r.integer(f"{what} padding_x")
    found = ((rows, cols), (sy, sx), (py, px))
    want = (spec.window, spec.stride, spec.padding)
    _expect(r, found == want, f"{what}: window, stride, padding {found}, expected {want}")


def _skip_multipliers(r: _Reader, what: str) -> None:
    for name in ("learning_rate", "weight_decay", "bias_learning_rate", "bias_weight_decay"):
        r.real(f"{what} {name} multiplier")


def _read_con(r: _Reader, spec: LayerSpec, channels: int) -> ParsedLayer:
    version = r.tag_string("a con layer", ("con_4", "con_5", "con_6"))
    params = r.tensor("con parameters").reshape(-1)
    filters = r.integer("con filter count")
    _expect(r, filters == spec.outputs, f"con layer with {filters} filters, expected {spec.outputs}")
    _read_window(r, spec, "con")
    fshape = r.alias("con filter shape")
    bshape = r.alias("con bias shape")
    _skip_multipliers(r, "con")
    use_bias = r.boolean("con use_bias") if version in ("con_5", "con_6") else True
    fused_relu = r.boolean("con use_relu") if version == "con_6" else False
    want = (spec.outputs, channels, spec.window[0], spec.window[1])
    _expect(r, fshape == want, f"con filters of shape {fshape}, expected {want}")
    nf, nb = math.prod(fshape), math.prod(bshape) if use_bias else 0
    _expect(r, nb in (0, spec.outputs), f"con bias of shape {bshape} for {spec.outputs} filters")
    _expect(r, params.size == nf + nb, f"con parameters hold {params.size} values, expected {nf + nb}")
    weights = params[:nf].reshape(fshape)
    bias = params[nf:].copy() if nb else None
    return ParsedLayer(spec, weights=weights, bias=bias, fused_relu=fused_relu)


def _read_bn_as_affine(r: _Reader, spec: LayerSpec, channels: int) -> ParsedLayer:
    params = r.tensor("bn parameters").reshape(-1)
    gshape, bshape = r.alias("bn gamma shape"), r.alias("bn beta shape")
    for name in ("means", "invstds"):
        r.tensor(f"bn {name}")
    running_means = r.tensor("bn running means").reshape(-1)
    running_vars = r.tensor("bn running variances").reshape(-1)
    r.count("bn update count")
    r.count("bn running stats window")
    _skip_multipliers(r, "bn")
    eps = r.real("bn eps")
    n = math.prod(gshape)
    ok = n == channels and math.prod(bshape) == n and params.size == 2 * n
    _expect(r, ok and running_means.size == n and running_vars.size == n, f"bn sizes do not match {channels} channels")
    # dlib turns a batch normalisation into an affine layer this way when it loads one
    scale = (params[:n] / np.sqrt(running_vars + np.float32(eps))).astype(np.float32)
    shift = (params[n:] - scale * running_means).astype(np.float32)
    return ParsedLayer(spec, weights=scale, bias=shift)


def _read_affine(r: _Reader, spec: LayerSpec, channels: int) -> ParsedLayer:
    version = r.tag_string("an affine or bn_con layer", ("affine_", "affine_2", "bn_con2"))
    if version == "bn_con2":
        return _read_bn_as_affine(r, spec, channels)
    params = r.tensor("affine parameters").reshape(-1)
    gshape, bshape = r.alias("affine gamma shape"), r.alias("affine beta shape")
    mode = r.integer("affine mode")
    disabled = r.boolean("affine disabled") if version == "affine_2" else False
    if disabled:
        return ParsedLayer(spec, disabled=True)
    n = math.prod(gshape)
    _expect(r, mode == 0, f"affine layer in mode {mode}, expected 0 (per channel, after a convolution)")
    _expect(r, n == channels and math.prod(bshape) == n, f"affine layer of {n} values for {channels} channels")
    _expect(r, params.size == 2 * n, f"affine parameters hold {params.size} values, expected {2 * n}")
    return ParsedLayer(spec, weights=params[:n].copy(), bias=params[n:].copy())


def _read_relu(r: _Reader, spec: LayerSpec) -> ParsedLayer:
    version = r.tag_string("a relu layer", ("relu_", "relu_2"))
    disabled = r.boolean("relu disabled") if version == "relu_2" else False
    return ParsedLayer(spec, disabled=disabled)


def _read_pool(r: _Reader, spec: LayerSpec) -> ParsedLayer:
    name = "max_pool_2" if spec.kind is LayerKind.MAX_POOL else "avg_pool_2"
    r.tag_string(f"a {name[:-2]} layer", (name,))
    _read_window(r, spec, name[:-2])
    return ParsedLayer(spec)


def _read_fc(r: _Reader, spec: LayerSpec, inputs: int) -> ParsedLayer:
    version = r.tag_string("an fc layer", ("fc_2", "fc_3"))
    outputs, n_in = r.count("fc outputs"), r.count("fc inputs")
    params = r.tensor("fc parameters").reshape(-1)
    wshape, bshape = r.alias("fc weight shape"), r.alias("fc bias shape")
    bias_mode = r.integer("fc bias mode")
    _skip_multipliers(r, "fc")
    use_bias = r.boolean("fc use_bias") if version == "fc_3" else True
    _expect(r, outputs == spec.outputs, f"fc layer with {outputs} outputs, expected {spec.outputs}")
    _expect(r, n_in == inputs, f"fc layer with {n_in} inputs, expected {inputs}")
    _expect(r, bias_mode == (0 if spec.bias else 1), f"fc bias mode {bias_mode} does not match the network type")
    _expect(r, math.prod(wshape) == inputs * outputs, f"fc weights of shape {wshape}")
    has_bias = spec.bias and use_bias
    nb = outputs if has_bias else 0
    _expect(r, not has_bias or math.prod(bshape) == outputs, f"fc bias of shape {bshape}")
    _expect(r, params.size >= inputs * outputs + nb, f"fc parameters hold {params.size} values")
    weights = params[: inputs * outputs].reshape(inputs, outputs)
    bias = params[inputs * outputs : inputs * outputs + nb].copy() if nb else None
    return ParsedLayer(spec, weights=weights, bias=bias)


def _read_add_prev(r: _Reader, spec: LayerSpec) -> ParsedLayer:
    r.tag_string("an add_prev layer", ("add_prev_",))
    return ParsedLayer(spec)


def _read_details(r: _Reader, spec: LayerSpec, shape: tuple[int, int, int]) -> ParsedLayer:
    """One layer's own fields; ``shape`` is its input's (channels, rows, columns)."""
    if spec.kind is LayerKind.CON:
        return _read_con(r, spec, shape[0])
    if spec.kind is LayerKind.AFFINE:
        return _read_affine(r, spec, shape[0])
    if spec.kind is LayerKind.RELU:
        return _read_relu(r, spec)
    if spec.kind in (LayerKind.MAX_POOL, LayerKind.AVG_POOL):
        return _read_pool(r, spec)
    if spec.kind is LayerKind.FC:
        return _read_fc(r, spec, math.prod(shape))
    return _read_add_prev(r, spec)


def _read_layer_state(r: _Reader, version: int, *, on_input: bool) -> None:
    """The training state every ``add_layer`` writes after its details (not needed for inference)."""
    for name in ("setup called", "gradient stale", "output disabled"):
        r.boolean(f"layer flag {name!r}")
    for name in ("x_grad", "cached output"):
        r.tensor(f"layer {name}")
    if on_input:
        r.tensor("layer grad_final")
        if version >= 3:
            r.count("sample expansion factor")
    elif version >= 2:
        r.tensor("layer params_grad")


def _read_loss(r: _Reader) -> None:
    r.version("the loss layer", (1,))
    name = r.tag_string("a metric loss", ("loss_metric_", "loss_metric_2"))
    if name == "loss_metric_2":
        r.real("loss margin")
        r.real("loss distance threshold")


def _read_input(r: _Reader, size: int) -> tuple[float, float, float]:
    name = r.tag_string("an RGB input layer", ("input_rgb_image_sized",))
    mean = (r.real("input mean red"), r.real("input mean green"), r.real("input mean blue"))
    _expect(r, all(math.isfinite(m) for m in mean), f"input mean colour {mean} is not finite")
    rows, cols = r.count(f"{name} rows"), r.count(f"{name} columns")
    _expect(r, (rows, cols) == (size, size), f"input of {rows}x{cols}, expected {size}x{size}")
    return mean


def output_shape(
    spec: LayerSpec, shape: tuple[int, int, int], tagged: dict[int, tuple[int, int, int]]
) -> tuple[int, int, int]:
    """(channels, rows, columns) a layer makes from an input of ``shape``, as dlib computes it.

    Parameters
    ----------
    spec : LayerSpec
    shape : tuple of int
        The input's (channels, rows, columns).
    tagged : dict
        Shape of the output of the nearest tag of each number below the layer.

    Returns
    -------
    tuple of int
    """
    k, h, w = shape
    if spec.kind in (LayerKind.CON, LayerKind.MAX_POOL, LayerKind.AVG_POOL):
        wy, wx = spec.window if spec.window != (0, 0) else (h, w)
        (py, px), (sy, sx) = spec.padding, spec.stride
        k = spec.outputs if spec.kind is LayerKind.CON else k
        return (k, 1 + (h + 2 * py - wy) // sy, 1 + (w + 2 * px - wx) // sx)
    if spec.kind is LayerKind.FC:
        return (spec.outputs, 1, 1)
    if spec.kind is LayerKind.SKIP:
        return tagged[spec.tag]
    if spec.kind is LayerKind.ADD_PREV:
        other = tagged[spec.tag]
        return (max(k, other[0]), max(h, other[1]), max(w, other[2]))
    return shape


def check_spec(spec: NetSpec) -> list[tuple[int, int, int]]:
    """Input shape of every layer of ``spec``; raises ``ValueError`` for a network the converter cannot build.

    Parameters
    ----------
    spec : NetSpec

    Returns
    -------
    list of tuple of int
        (channels, rows, columns) entering each layer, then the output's.
    """
    if not spec.layers or spec.layers[0].kind is not LayerKind.CON:
        raise ValueError("the layer next to the input must be a con layer")
    if spec.layers[-1].kind is not LayerKind.FC:
        raise ValueError("the layer under the loss must be an fc layer")
    shapes = [(3, spec.input_size, spec.input_size)]
    tagged: dict[int, tuple[int, int, int]] = {}
    for layer in spec.layers:
        if layer.kind in (LayerKind.SKIP, LayerKind.ADD_PREV) and layer.tag not in tagged:
            raise ValueError(f"{layer.kind.value}{layer.tag} has no tag{layer.tag} below it")
        out = output_shape(layer, shapes[-1], tagged)
        if min(out) < 1:
            raise ValueError(f"{layer.kind.value} layer leaves an empty output {out}")
        if layer.kind is LayerKind.TAG:
            tagged[layer.tag] = out
        shapes.append(out)
    return shapes


def parse_dlib_net(data: bytes, spec: NetSpec) -> ParsedNet:
    """Read a serialised dlib network of type ``spec``.

    Parameters
    ----------
    data : bytes
        The file's contents (as ``dlib::serialize(file) << net`` writes them).
    spec : NetSpec
        The network's type, e.g. :func:`face_resnet_spec`.

    Returns
    -------
    ParsedNet

    Raises
    ------
    DlibFormatError
        The bytes are not a network of that type (wrong layer, version,
        size or shape, truncated, or bytes left over).
    ValueError
        ``spec`` itself cannot be converted (see :func:`check_spec`).
    """
    shapes = check_spec(spec)
    r = _Reader(data)
    _read_loss(r)
    # versions, from the layer under the loss down to the one on the input
    versions: list[int] = [0] * len(spec.layers)
    for i in range(len(spec.layers) - 1, -1, -1):
        layer = spec.layers[i]
        what = f"layer {i} ({layer.kind.value})"
        if i == 0:
            versions[i] = r.version(what, (2, 3))
        elif layer.is_layer:
            versions[i] = r.version(what, (1, 2))
        else:
            versions[i] = r.version(what, (1,))
    mean = _read_input(r, spec.input_size)
    net = ParsedNet(input_size=spec.input_size, mean_rgb=mean)
    for i, layer in enumerate(spec.layers):
        if not layer.is_layer:
            net.layers.append(ParsedLayer(layer))
            continue
        net.layers.append(_read_details(r, layer, shapes[i]))
        _read_layer_state(r, versions[i], on_input=i == 0)
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} bytes left after the network")
    return net


def read_dlib_net(path: str | Path, spec: NetSpec | None = None) -> ParsedNet:
    """Read a dlib network file.

    Parameters
    ----------
    path : str or Path
    spec : NetSpec, optional
        Default: :func:`face_resnet_spec`.

    Returns
    -------
    ParsedNet

    Raises
    ------
    ModelError
        ``MODEL_MISSING`` when the file cannot be read; :class:`DlibFormatError`
        when it is not a network of that type.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the dlib model ({exc.strerror})", code=ErrorCode.MODEL_MISSING) from None
    try:
        return parse_dlib_net(data, spec or face_resnet_spec())
    except DlibFormatError as exc:
        what = "dlib face descriptor network" if spec is None else "dlib network of the given type"
        raise DlibFormatError(f"{path}: not a {what}: {exc.detail}", offset=exc.offset) from None


# ----------------------------------------------------------------------------
# building the ONNX graph


def import_onnx() -> ModuleType:
    """The ``onnx`` package, imported on first use.

    Raises
    ------
    ModelError
        ``MISSING_DEPENDENCY`` when it is not installed.
    """
    try:
        import onnx
    except ImportError as exc:
        raise ModelError(not_loaded("onnx", exc, "pip install onnx"), code=ErrorCode.MISSING_DEPENDENCY) from None
    module: ModuleType = onnx
    return module


class _Graph:
    """Accumulates ONNX nodes and initializers with unique names."""

    def __init__(self) -> None:
        ox = import_onnx()
        self.helper = ox.helper
        self.numpy_helper = ox.numpy_helper
        self.float_type: int = ox.TensorProto.FLOAT
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, stem: str, value: npt.NDArray[np.float32] | npt.NDArray[np.int64]) -> str:
        name = self.name(stem)
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], stem: str, **attrs: int | float | Sequence[int]) -> str:
        out = self.name(stem)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out


def _fold_affine(conv: ParsedLayer, aff: ParsedLayer) -> ParsedLayer:
    """A ``con`` followed by a per-channel scale and shift, as one ``con``."""
    assert conv.weights is not None and aff.weights is not None and aff.bias is not None
    scale = aff.weights.astype(np.float32)
    bias = conv.bias if conv.bias is not None else np.zeros(scale.shape, np.float32)
    weights = (conv.weights * scale[:, None, None, None]).astype(np.float32)
    return ParsedLayer(conv.spec, weights=weights, bias=(bias * scale + aff.bias).astype(np.float32))


def _foldable(layer: ParsedLayer, nxt: ParsedLayer | None) -> bool:
    """Whether ``nxt`` is an enabled ``affine`` that can be folded into the ``con`` ``layer``."""
    return (
        layer.spec.kind is LayerKind.CON
        and not layer.fused_relu
        and nxt is not None
        and nxt.spec.kind is LayerKind.AFFINE
        and not nxt.disabled
    )


def _pad_to(g: _Graph, x: str, shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
    """Zero-pad ``x`` (N, C, H, W) at the end of each axis up to ``target``."""
    if shape == target:
        return x
    pads = np.array([0, 0, 0, 0, 0, *(t - s for s, t in zip(shape, target))], dtype=np.int64)
    return g.op("Pad", [x, g.const("pads", pads)], "pad")


def _emit(
    g: _Graph,
    layer: ParsedLayer,
    x: str,
    shape: tuple[int, int, int],
    tagged: dict[int, tuple[str, tuple[int, int, int]]],
) -> str:
    """Add one layer's nodes; returns the name of its output."""
    spec = layer.spec
    if spec.kind is LayerKind.CON:
        assert layer.weights is not None
        inputs = [x, g.const("W", layer.weights)]
        if layer.bias is not None:
            inputs.append(g.const("B", layer.bias))
        (py, px), (sy, sx) = spec.padding, spec.stride
        y = g.op("Conv", inputs, "conv", kernel_shape=list(spec.window), strides=[sy, sx], pads=[py, px, py, px])
        return g.op("Relu", [y], "relu") if layer.fused_relu else y
    if spec.kind is LayerKind.AFFINE:
        if layer.disabled:
            return x
        assert layer.weights is not None and layer.bias is not None
        scale = g.const("scale", layer.weights.reshape(1, -1, 1, 1))
        return g.op("Add", [g.op("Mul", [x, scale], "mul"), g.const("shift", layer.bias.reshape(1, -1, 1, 1))], "add")
    if spec.kind is LayerKind.RELU:
        return x if layer.disabled else g.op("Relu", [x], "relu")
    if spec.kind in (LayerKind.MAX_POOL, LayerKind.AVG_POOL):
        if spec.window == (0, 0):
            return g.op("GlobalAveragePool" if spec.kind is LayerKind.AVG_POOL else "GlobalMaxPool", [x], "gpool")
        (py, px), (sy, sx) = spec.padding, spec.stride
        op = "MaxPool" if spec.kind is LayerKind.MAX_POOL else "AveragePool"
        return g.op(op, [x], "pool", kernel_shape=list(spec.window), strides=[sy, sx], pads=[py, px, py, px])
    if spec.kind is LayerKind.FC:
        assert layer.weights is not None
        flat = g.op("Flatten", [x], "flat", axis=1)
        y = g.op("MatMul", [flat, g.const("fcW", layer.weights)], "fc")
        return y if layer.bias is None else g.op("Add", [y, g.const("fcB", layer.bias)], "fcb")
    if spec.kind is LayerKind.ADD_PREV:
        other, oshape = tagged[spec.tag]
        target = (max(shape[0], oshape[0]), max(shape[1], oshape[1]), max(shape[2], oshape[2]))
        return g.op("Add", [_pad_to(g, x, shape, target), _pad_to(g, other, oshape, target)], "residual")
    return x


def _emit_input(g: _Graph, mean: tuple[float, float, float]) -> str:
    """uint8 (N, H, W, 3) RGB to dlib's input tensor: (pixel - mean) / 256, as (N, 3, H, W)."""
    x = g.op("Cast", [INPUT_NAME], "float", to=g.float_type)
    x = g.op("Sub", [x, g.const("mean", np.array(mean, dtype=np.float32))], "centred")
    x = g.op("Mul", [x, g.const("inv256", np.array(1.0 / 256.0, dtype=np.float32))], "scaled")
    return g.op("Transpose", [x], "nchw", perm=[0, 3, 1, 2])


def build_onnx(net: ParsedNet, *, name: str = "dlib_net") -> onnx.ModelProto:
    """The ONNX graph of a parsed dlib network.

    Parameters
    ----------
    net : ParsedNet
    name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        Input ``chip``: uint8 (N, size, size, 3) RGB; output ``descriptor``:
        float32 (N, outputs).  Checked with :func:`onnx.checker.check_model`.
    """
    g = _Graph()
    x = _emit_input(g, net.mean_rgb)
    shapes = check_spec(NetSpec(net.input_size, tuple(layer.spec for layer in net.layers)))
    tagged: dict[int, tuple[str, tuple[int, int, int]]] = {}
    layers = net.layers
    i = 0
    while i < len(layers):
        layer, shape = layers[i], shapes[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if layer.spec.kind is LayerKind.TAG:
            tagged[layer.spec.tag] = (x, shape)
        elif layer.spec.kind is LayerKind.SKIP:
            x = tagged[layer.spec.tag][0]
        elif _foldable(layer, nxt) and nxt is not None:
            x = _emit(g, _fold_affine(layer, nxt), x, shape, tagged)
            i += 1
        else:
            x = _emit(g, layer, x, shape, tagged)
        i += 1
    ox = import_onnx()
    helper, tensor = ox.helper, ox.TensorProto
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name=OUTPUT_NAME))
    size = net.input_size
    inputs = [helper.make_tensor_value_info(INPUT_NAME, tensor.UINT8, ["N", size, size, 3])]
    outputs = [helper.make_tensor_value_info(OUTPUT_NAME, tensor.FLOAT, ["N", shapes[-1][0]])]
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.inits)
    model: onnx.ModelProto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="livecert"
    )
    model.ir_version = IR_VERSION
    ox.checker.check_model(model)
    return model


def convert(path: str | Path, spec: NetSpec | None = None) -> onnx.ModelProto:
    """Read a dlib network file and build its ONNX graph.

    Parameters
    ----------
    path : str or Path
        E.g. ``dlib_face_recognition_resnet_model_v1.dat``.
    spec : NetSpec, optional
        Default: :func:`face_resnet_spec`.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ModelError
        The file cannot be read, or (:class:`DlibFormatError`) is not such a network.
    """
    return build_onnx(read_dlib_net(path, spec), name=Path(path).stem)
