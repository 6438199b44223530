"""The dlib-to-ONNX converter on a small network serialised here, byte by byte.

The writer below follows dlib's stream format (see the docstring of
``livecert.identity.dlib_onnx``); the expected output comes from a plain
numpy forward pass with dlib's semantics, so the converter, the ONNX graph
and ONNX Runtime are all checked against something independent of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from livecert.errors import ErrorCode, ModelError
from livecert.identity import dlib_onnx as d
from livecert.identity.dlib_onnx import DlibFormatError, LayerKind, LayerSpec, NetSpec

ort = pytest.importorskip("onnxruntime")

MEAN = (122.782, 117.001, 104.298)

# ----------------------------------------------------------------------------
# dlib's serialisation primitives


def w_int(v: int) -> bytes:
    mag = abs(v).to_bytes(max(1, (abs(v).bit_length() + 7) // 8), "little")
    return bytes([len(mag) | (0x80 if v < 0 else 0)]) + mag


def w_bool(v: bool) -> bytes:
    return b"1" if v else b"0"


def w_str(s: str) -> bytes:
    return w_int(len(s)) + s.encode("ascii")


def w_real(v: float) -> bytes:
    if math.isinf(v):
        return w_int(0) + w_int(32000 if v > 0 else 32001)
    if math.isnan(v):
        return w_int(0) + w_int(32002)
    m, e = math.frexp(v)
    mantissa, exponent = int(m * (1 << 53)), e - 53
    while mantissa and mantissa & 0xFF == 0:
        mantissa >>= 8
        exponent += 8
    return w_int(mantissa) + w_int(exponent)


def w_tensor(a: np.ndarray) -> bytes:
    a = np.asarray(a, np.float32)
    shape = (a.shape + (1, 1, 1, 1))[:4] if a.size else (0, 0, 0, 0)
    return w_int(2) + b"".join(w_int(s) for s in shape) + a.astype("<f4").tobytes()


def w_alias(*shape: int) -> bytes:
    return w_int(1) + b"".join(w_int(s) for s in shape)


EMPTY = w_tensor(np.zeros(0))
MULTIPLIERS = w_real(1.0) + w_real(1.0) + w_real(1.0) + w_real(0.0)


# ----------------------------------------------------------------------------
# a small network: each layer's spec, its bytes and its numpy forward pass


@dataclass
class Layer:
    spec: LayerSpec
    details: bytes = b""  # the layer's own fields (empty for tags and skips)
    w: np.ndarray | None = None
    b: np.ndarray | None = None
    bn: tuple[np.ndarray, np.ndarray, float] | None = None  # running means, variances, eps


def window_bytes(spec: LayerSpec) -> bytes:
    (rows, cols), (sy, sx), (py, px) = spec.window, spec.stride, spec.padding
    return b"".join(w_int(v) for v in (rows, cols, sy, sx, py, px))


def con_layer(rng: np.random.Generator, cin: int, spec: LayerSpec, version: str = "con_5") -> Layer:
    w = rng.normal(0, 0.5, (spec.outputs, cin, *spec.window)).astype(np.float32)
    b = rng.normal(0, 0.1, spec.outputs).astype(np.float32)
    raw = w_str(version) + w_tensor(np.concatenate([w.ravel(), b])) + w_int(spec.outputs) + window_bytes(spec)
    raw += w_alias(*w.shape) + w_alias(1, spec.outputs, 1, 1) + MULTIPLIERS
    if version in ("con_5", "con_6"):
        raw += w_bool(True)
    if version == "con_6":
        raw += w_bool(False)
    return Layer(spec, raw, w, b)


def affine_layer(rng: np.random.Generator, k: int, version: str = "affine_2") -> Layer:
    g = rng.uniform(0.5, 1.5, k).astype(np.float32)
    b = rng.normal(0, 0.2, k).astype(np.float32)
    raw = w_str(version) + w_tensor(np.concatenate([g, b])) + w_alias(1, k, 1, 1) + w_alias(1, k, 1, 1) + w_int(0)
    if version == "affine_2":
        raw += w_bool(False)
    return Layer(d.affine(), raw, g, b)


def bn_layer(rng: np.random.Generator, k: int) -> Layer:
    g = rng.uniform(0.5, 1.5, k).astype(np.float32)
    b = rng.normal(0, 0.2, k).astype(np.float32)
    means = rng.normal(0, 0.3, k).astype(np.float32)
    variances = rng.uniform(0.2, 2.0, k).astype(np.float32)
    eps = 1e-5
    raw = w_str("bn_con2") + w_tensor(np.concatenate([g, b])) + w_alias(1, k, 1, 1) + w_alias(1, k, 1, 1)
    raw += EMPTY + EMPTY + w_tensor(means.reshape(1, k)) + w_tensor(variances.reshape(1, k))
    raw += w_int(1000) + w_int(100) + MULTIPLIERS + w_real(eps)
    return Layer(d.affine(), raw, g, b, (means, variances, eps))


def pool_layer(spec: LayerSpec) -> Layer:
    name = "max_pool_2" if spec.kind is LayerKind.MAX_POOL else "avg_pool_2"
    return Layer(spec, w_str(name) + window_bytes(spec))


def fc_layer(rng: np.random.Generator, n_in: int, n_out: int) -> Layer:
    w = rng.normal(0, 0.3, (n_in, n_out)).astype(np.float32)
    b = rng.normal(0, 0.1, n_out).astype(np.float32)
    raw = w_str("fc_3") + w_int(n_out) + w_int(n_in) + w_tensor(np.concatenate([w.ravel(), b]))
    raw += w_alias(n_in, n_out, 1, 1) + w_alias(1, n_out, 1, 1) + w_int(0) + MULTIPLIERS + w_bool(True)
    return Layer(d.fc(n_out), raw, w, b)


def small_net(seed: int = 0) -> tuple[NetSpec, list[Layer]]:
    """14x14 input; a residual block with a stride-2 shortcut whose two sides
    differ in channels and size (3x3x4 vs 2x2x6), then a plain one."""
    rng = np.random.default_rng(seed)
    c1, c2, c3 = d.con(4, 3, 3, 1, 1), d.con(6, 3, 3, 2, 2), d.con(6, 3, 3, 1, 1)
    layers = [
        con_layer(rng, 3, c1),
        bn_layer(rng, 4),
        Layer(d.relu(), w_str("relu_2") + w_bool(False)),
        pool_layer(d.max_pool(3, 3, 2, 2)),  # 14 -> 6
        Layer(d.tag(1)),
        con_layer(rng, 4, c2, "con_4"),  # 6 -> 2
        affine_layer(rng, 6),
        Layer(d.tag(2)),
        Layer(d.skip(1)),
        pool_layer(d.avg_pool(2, 2, 2, 2)),  # 6 -> 3
        Layer(d.add_prev(2), w_str("add_prev_")),  # (4, 3, 3) + (6, 2, 2) -> (6, 3, 3)
        Layer(d.relu(), w_str("relu_")),
        Layer(d.tag(1)),
        con_layer(rng, 6, c3, "con_6"),
        affine_layer(rng, 6, "affine_"),
        Layer(d.add_prev(1), w_str("add_prev_")),
        Layer(d.relu(), w_str("relu_2") + w_bool(False)),
        pool_layer(d.avg_pool(0, 0, 1, 1)),
        fc_layer(rng, 6, 5),
    ]
    return NetSpec(14, tuple(layer.spec for layer in layers)), layers


def serialise(spec: NetSpec, layers: list[Layer]) -> bytes:
    """The bytes ``dlib::serialize`` writes for this network under a ``loss_metric``."""
    out = w_int(1) + w_str("loss_metric_2") + w_real(0.04) + w_real(0.6)
    for i in range(len(layers) - 1, -1, -1):
        out += w_int(3 if i == 0 else 2 if layers[i].spec.is_layer else 1)
    out += w_str("input_rgb_image_sized") + b"".join(w_real(m) for m in MEAN) + w_int(spec.input_size) * 2
    for i, layer in enumerate(layers):
        if not layer.spec.is_layer:
            continue
        out += layer.details + w_bool(True) + w_bool(False) + w_bool(False) + EMPTY + EMPTY + EMPTY
        if i == 0:
            out += w_int(1)
    return out


# numpy forward pass with dlib's semantics


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, spec: LayerSpec) -> np.ndarray:
    (py, px), (sy, sx) = spec.padding, spec.stride
    xp = np.pad(x, ((0, 0), (py, py), (px, px)))
    win = np.lib.stride_tricks.sliding_window_view(xp, spec.window, axis=(1, 2))[:, ::sy, ::sx]
    return np.einsum("chwij,ocij->ohw", win, w) + b[:, None, None]


def pool(x: np.ndarray, spec: LayerSpec) -> np.ndarray:
    if spec.window == (0, 0):
        return x.mean(axis=(1, 2), keepdims=True)
    win = np.lib.stride_tricks.sliding_window_view(x, spec.window, axis=(1, 2))[:, :: spec.stride[0], :: spec.stride[1]]
    return win.max(axis=(3, 4)) if spec.kind is LayerKind.MAX_POOL else win.mean(axis=(3, 4))


def add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(tuple(max(s, t) for s, t in zip(a.shape, b.shape)))
    out[: a.shape[0], : a.shape[1], : a.shape[2]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out


def reference(layers: list[Layer], chip: np.ndarray) -> np.ndarray:
    x = ((chip.astype(np.float64) - np.array(MEAN)) / 256.0).transpose(2, 0, 1)
    tags: dict[int, np.ndarray] = {}
    for layer in layers:
        kind = layer.spec.kind
        if kind is LayerKind.CON:
            assert layer.w is not None and layer.b is not None
            x = conv(x, layer.w, layer.b, layer.spec)
        elif kind is LayerKind.AFFINE:
            assert layer.w is not None and layer.b is not None
            g, b = layer.w[:, None, None], layer.b[:, None, None]
            if layer.bn is not None:
                m, v, eps = (t[:, None, None] if isinstance(t, np.ndarray) else t for t in layer.bn)
                x = g * (x - m) / np.sqrt(v + eps) + b
            else:
                x = g * x + b
        elif kind is LayerKind.RELU:
            x = np.maximum(x, 0)
        elif kind in (LayerKind.MAX_POOL, LayerKind.AVG_POOL):
            x = pool(x, layer.spec)
        elif kind is LayerKind.TAG:
            tags[layer.spec.tag] = x
        elif kind is LayerKind.SKIP:
            x = tags[layer.spec.tag]
        elif kind is LayerKind.ADD_PREV:
            x = add_padded(x, tags[layer.spec.tag])
        else:
            assert layer.w is not None and layer.b is not None
            x = x.reshape(-1) @ layer.w + layer.b
    return x


def run(model_bytes: bytes, chips: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {d.INPUT_NAME: chips})[0])


@pytest.fixture(scope="module")
def net() -> tuple[NetSpec, list[Layer], bytes]:
    spec, layers = small_net()
    return spec, layers, serialise(spec, layers)


# ----------------------------------------------------------------------------
# primitives


@pytest.mark.parametrize("value", [0, 1, -1, 255, 256, -70000, 2**40, -(2**62)])
def test_integers_round_trip(value: int) -> None:
    r = d._Reader(w_int(value))
    assert r.integer("x") == value and r.pos == len(w_int(value))


@pytest.mark.parametrize("value", [0.0, 1.0, -2.5, 122.782, 1e-5, 3.4e38, math.inf, -math.inf])
def test_reals_round_trip(value: float) -> None:
    assert d._Reader(w_real(value)).real("x") == value
    assert math.isnan(d._Reader(w_real(math.nan)).real("x"))


def test_float32_mean_is_read_exactly() -> None:
    """dlib stores the input layer's mean colour as float32 values."""
    v = float(np.float32(122.782))
    m, e = math.frexp(v)
    raw = w_int(int(m * (1 << 24))) + w_int(e - 24)
    assert d._Reader(raw).real("x") == v


def test_tensor_and_string() -> None:
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    r = d._Reader(w_tensor(a) + w_str("con_5") + w_bool(True))
    np.testing.assert_array_equal(r.tensor("t"), a)
    assert r.string("s") == "con_5" and r.boolean("b") is True


@pytest.mark.parametrize(
    ("raw", "method", "words"),
    [
        (b"\x00", "integer", "not an integer"),
        (b"\x09" + bytes(9), "integer", "not an integer"),
        (b"\x02\x01", "integer", "file ends"),
        (b"x", "boolean", "expected a bool"),
        (w_int(1000) + b"abc", "string", "at most"),
        (w_int(2) + b"\xff\xfe", "string", "not ASCII"),
        (w_int(3) + w_int(1) * 4, "tensor", "format version 3"),
        (w_int(2) + w_int(10) + w_int(1) * 3 + bytes(8), "tensor", "file ends"),
    ],
)
def test_bad_primitives(raw: bytes, method: str, words: str) -> None:
    with pytest.raises(DlibFormatError, match=words) as info:
        getattr(d._Reader(raw), method)("field")
    assert info.value.code is ErrorCode.MODEL_UNUSABLE


# ----------------------------------------------------------------------------
# the network


def test_small_net_matches_numpy_reference(net: tuple[NetSpec, list[Layer], bytes]) -> None:
    spec, layers, raw = net
    parsed = d.parse_dlib_net(raw, spec)
    assert parsed.mean_rgb == tuple(float(np.float64(m)) for m in MEAN)
    model = d.build_onnx(parsed)
    assert {n.op_type for n in model.graph.node} >= {"Conv", "Pad", "MaxPool", "AveragePool", "GlobalAveragePool"}
    rng = np.random.default_rng(1)
    chips = rng.integers(0, 256, (3, 14, 14, 3), dtype=np.uint8)
    got = run(model.SerializeToString(), chips)
    want = np.stack([reference(layers, c) for c in chips])
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_affine_after_con_is_folded(net: tuple[NetSpec, list[Layer], bytes]) -> None:
    spec, _, raw = net
    model = d.build_onnx(d.parse_dlib_net(raw, spec))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Conv") == 3 and "Mul" in ops  # the input scaling; no affine is left as Mul
    assert ops.count("Mul") == 1


def test_face_spec_shapes() -> None:
    spec = d.face_resnet_spec()
    shapes = d.check_spec(spec)
    assert spec.input_size == 150 and len(spec.layers) == 130
    assert shapes[1] == (32, 72, 72) and shapes[4] == (32, 35, 35)
    assert shapes[-3] == (256, 2, 2) and shapes[-2] == (256, 1, 1) and shapes[-1] == (128, 1, 1)
    assert sum(layer.kind is LayerKind.CON for layer in spec.layers) == 29


# ----------------------------------------------------------------------------
# what is not the network


@pytest.mark.parametrize("cut", [0, 1, 5, 40, 200, -500, -1])
def test_truncated_file(net: tuple[NetSpec, list[Layer], bytes], cut: int) -> None:
    spec, _, raw = net
    with pytest.raises(DlibFormatError):
        d.parse_dlib_net(raw[:cut], spec)


def test_trailing_bytes(net: tuple[NetSpec, list[Layer], bytes]) -> None:
    spec, _, raw = net
    with pytest.raises(DlibFormatError, match="bytes left"):
        d.parse_dlib_net(raw + b"\x00", spec)


def test_wrong_network_type(net: tuple[NetSpec, list[Layer], bytes]) -> None:
    spec, layers, raw = net
    more_filters = list(spec.layers)
    more_filters[0] = d.con(5, 3, 3, 1, 1)
    with pytest.raises(DlibFormatError, match="4 filters, expected 5"):
        d.parse_dlib_net(raw, NetSpec(14, tuple(more_filters)))
    with pytest.raises(DlibFormatError, match="input of 14x14, expected 16x16"):
        d.parse_dlib_net(raw, NetSpec(16, spec.layers))
    with pytest.raises(DlibFormatError):
        d.parse_dlib_net(raw, d.face_resnet_spec())
    swapped = list(spec.layers)
    swapped[2], swapped[3] = swapped[3], swapped[2]  # relu and max_pool exchanged
    with pytest.raises(DlibFormatError, match="max_pool"):
        d.parse_dlib_net(raw, NetSpec(14, tuple(swapped)))


def test_not_a_dlib_file(tmp_path: Path) -> None:
    junk = tmp_path / "model.dat"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DlibFormatError, match="model.dat: not a dlib face descriptor network") as info:
        d.read_dlib_net(junk)
    assert info.value.code is ErrorCode.MODEL_UNUSABLE and info.value.offset >= 0
    assert "模型文件已损坏" in info.value.message_in("zh")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        d.convert(tmp_path / "absent.dat")
    assert info.value.code is ErrorCode.MODEL_MISSING


def test_unbuildable_specs() -> None:
    c = d.con(2, 3, 3, 1, 1)
    with pytest.raises(ValueError, match="no tag1"):
        d.check_spec(NetSpec(8, (c, d.skip(1), d.fc(2))))
    with pytest.raises(ValueError, match="next to the input"):
        d.check_spec(NetSpec(8, (d.relu(), d.fc(2))))
    with pytest.raises(ValueError, match="empty output"):
        d.check_spec(NetSpec(8, (d.con(2, 9, 9, 2, 2), d.fc(2))))
