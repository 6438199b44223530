"""Read a TensorFlow Lite model file: tensors, constant buffers and operators.

A ``.tflite`` file is a FlatBuffer (schema ``tensorflow/lite/schema/schema.fbs``).
This reader walks the few tables a converter needs, with :mod:`struct` and
:mod:`numpy` only: the model, its first subgraph, the tensors with their
shapes, types and constant data, and the operators with their builtin options
(as a plain dict of the fields used here) or custom options (raw bytes,
FlexBuffer-encoded). Quantised tensors other than float16 constants are not
supported (:class:`TFLiteFormatError`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from livecert.arrays import FloatArray


class TFLiteFormatError(ValueError):
    """The file is not a TFLite model this reader understands."""


#: TFLite ``TensorType`` codes read here, with their numpy types.
_TENSOR_TYPES: dict[int, type[np.generic]] = {0: np.float32, 1: np.float16, 2: np.int32, 4: np.int64}

#: ``BuiltinOperator`` codes of the operators the face models use.
BUILTIN_NAMES: dict[int, str] = {
    0: "ADD",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE",
    17: "MAX_POOL_2D",
    18: "MUL",
    19: "RELU",
    22: "RESHAPE",
    2: "CONCATENATION",
    34: "PAD",
    45: "STRIDED_SLICE",
    54: "PRELU",
    32: "CUSTOM",
}

#: For each builtin option table read, its fields as (name, slot, struct format, default).
_OPTION_FIELDS: dict[str, tuple[tuple[str, int, str, int], ...]] = {
    "CONV_2D": (
        ("padding", 0, "b", 0),
        ("stride_w", 1, "i", 0),
        ("stride_h", 2, "i", 0),
        ("activation", 3, "b", 0),
        ("dilation_w", 4, "i", 1),
        ("dilation_h", 5, "i", 1),
    ),
    "DEPTHWISE_CONV_2D": (
        ("padding", 0, "b", 0),
        ("stride_w", 1, "i", 0),
        ("stride_h", 2, "i", 0),
        ("depth_multiplier", 3, "i", 0),
        ("activation", 4, "b", 0),
        ("dilation_w", 5, "i", 1),
        ("dilation_h", 6, "i", 1),
    ),
    "MAX_POOL_2D": (
        ("padding", 0, "b", 0),
        ("stride_w", 1, "i", 0),
        ("stride_h", 2, "i", 0),
        ("filter_w", 3, "i", 0),
        ("filter_h", 4, "i", 0),
        ("activation", 5, "b", 0),
    ),
    "ADD": (("activation", 0, "b", 0),),
    "MUL": (("activation", 0, "b", 0),),
    "CONCATENATION": (("axis", 0, "i", 0), ("activation", 1, "b", 0)),
    "STRIDED_SLICE": (
        ("begin_mask", 0, "i", 0),
        ("end_mask", 1, "i", 0),
        ("ellipsis_mask", 2, "i", 0),
        ("new_axis_mask", 3, "i", 0),
        ("shrink_axis_mask", 4, "i", 0),
    ),
}


@dataclass(frozen=True)
class Tensor:
    """One tensor of the subgraph.

    Attributes
    ----------
    name : str
    shape : tuple of int
    dtype : numpy dtype class
    data : ndarray or None
        The constant's values (shaped), or None for an activation.
    """

    name: str
    shape: tuple[int, ...]
    dtype: type[np.generic]
    data: np.ndarray | None


@dataclass(frozen=True)
class Operator:
    """One operator: its type, tensor indices and options."""

    kind: str
    custom_code: str
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, int] = field(default_factory=dict)
    custom_options: bytes = b""


@dataclass(frozen=True)
class TFLiteGraph:
    """The first subgraph of a model: tensors, operators in execution order, inputs, outputs."""

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def constant(self, index: int) -> FloatArray:
        """A constant tensor's values as float32 (float16 constants widened)."""
        data = self.tensors[index].data
        if data is None:
            raise TFLiteFormatError(f"tensor {self.tensors[index].name!r} is not a constant")
        return np.asarray(data, dtype=np.float32)


class _Buf:
    """FlatBuffer access over one bytes object."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def u32(self, pos: int) -> int:
        return int(struct.unpack_from("<I", self.data, pos)[0])

    def i32(self, pos: int) -> int:
        return int(struct.unpack_from("<i", self.data, pos)[0])

    def field_pos(self, table: int, slot: int) -> int:
        """Absolute position of a table's field, 0 when absent."""
        vtable = table - self.i32(table)
        vsize = int(struct.unpack_from("<H", self.data, vtable)[0])
        entry = 4 + 2 * slot
        if entry >= vsize:
            return 0
        off = int(struct.unpack_from("<H", self.data, vtable + entry)[0])
        return table + off if off else 0

    def scalar(self, table: int, slot: int, fmt: str, default: int) -> int:
        pos = self.field_pos(table, slot)
        return int(struct.unpack_from("<" + fmt, self.data, pos)[0]) if pos else default

    def indirect(self, pos: int) -> int:
        return pos + self.u32(pos)

    def table(self, table: int, slot: int) -> int:
        pos = self.field_pos(table, slot)
        return self.indirect(pos) if pos else 0

    def vector(self, table: int, slot: int) -> tuple[int, int]:
        """(start of the elements, length) of a vector field; (0, 0) when absent."""
        pos = self.field_pos(table, slot)
        if not pos:
            return 0, 0
        vec = self.indirect(pos)
        return vec + 4, self.u32(vec)

    def tables(self, table: int, slot: int) -> list[int]:
        start, n = self.vector(table, slot)
        return [self.indirect(start + 4 * i) for i in range(n)]

    def ints(self, table: int, slot: int) -> tuple[int, ...]:
        start, n = self.vector(table, slot)
        return tuple(int(v) for v in np.frombuffer(self.data, "<i4", n, start)) if n else ()

    def raw(self, table: int, slot: int) -> bytes:
        start, n = self.vector(table, slot)
        return self.data[start : start + n]

    def string(self, table: int, slot: int) -> str:
        return self.raw(table, slot).decode("utf-8", errors="replace")


def read_tflite(data: bytes) -> TFLiteGraph:
    """Parse a ``.tflite`` file's first subgraph.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    TFLiteGraph

    Raises
    ------
    TFLiteFormatError
        Not a TFLite FlatBuffer, or a tensor type or operator this reader
        does not know.
    """
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteFormatError("not a TFLite model (no TFL3 identifier)")
    buf = _Buf(data)
    try:
        root = buf.indirect(0)
        buffers = [buf.raw(b, 0) for b in buf.tables(root, 4)]
        codes = []
        for oc in buf.tables(root, 1):
            code = max(buf.scalar(oc, 0, "b", 0), buf.scalar(oc, 3, "i", 0))
            codes.append((code, buf.string(oc, 1), buf.scalar(oc, 2, "i", 1)))
        subgraphs = buf.tables(root, 2)
        if not subgraphs:
            raise TFLiteFormatError("the model has no subgraph")
        sg = subgraphs[0]
        tensors = tuple(_tensor(buf, t, buffers) for t in buf.tables(sg, 0))
        operators = tuple(_operator(buf, op, codes) for op in buf.tables(sg, 3))
        return TFLiteGraph(tensors, operators, buf.ints(sg, 1), buf.ints(sg, 2))
    except (struct.error, IndexError, ValueError) as exc:
        if isinstance(exc, TFLiteFormatError):
            raise
        raise TFLiteFormatError(f"damaged TFLite model ({exc})") from None


def _tensor(buf: _Buf, t: int, buffers: list[bytes]) -> Tensor:
    shape = buf.ints(t, 0)
    type_code = buf.scalar(t, 1, "b", 0)
    name = buf.string(t, 3)
    if type_code not in _TENSOR_TYPES:
        raise TFLiteFormatError(f"tensor {name!r}: type code {type_code} is not supported")
    if buf.table(t, 4) and buf.vector(buf.table(t, 4), 2)[1]:  # quantization.scale
        raise TFLiteFormatError(f"tensor {name!r} is quantised; only float models are supported")
    dtype = _TENSOR_TYPES[type_code]
    index = buf.scalar(t, 2, "I", 0)
    raw = buffers[index] if 0 < index < len(buffers) else b""
    data = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape) if raw else None
    return Tensor(name, tuple(shape), dtype, data)


def _operator(buf: _Buf, op: int, codes: list[tuple[int, str, int]]) -> Operator:
    code, custom, version = codes[buf.scalar(op, 0, "I", 0)]
    kind = BUILTIN_NAMES.get(code)
    if kind is None:
        raise TFLiteFormatError(f"operator code {code} is not supported")
    options: dict[str, int] = {}
    table = buf.table(op, 4)
    if table:
        for name, slot, fmt, default in _OPTION_FIELDS.get(kind, ()):
            options[name] = buf.scalar(table, slot, fmt, default)
    return Operator(kind, custom, version, buf.ints(op, 1), buf.ints(op, 2), options, buf.raw(op, 5))
