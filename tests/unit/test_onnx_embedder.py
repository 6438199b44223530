"""OnnxEmbedder: the packaged dlib model converted, cached and run on ONNX Runtime."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from livecert.errors import ErrorCode, InputError, ModelError
from livecert.identity import onnx_embedder as oe
from livecert.identity.dlib_onnx import DlibFormatError
from livecert.identity.embedding import DLIB_RESNET_FILE, DlibEmbedder, Embedder, dlib_model_file
from livecert.identity.onnx_embedder import OnnxEmbedder

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def chip() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (150, 150, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def first(cache: Path, chip: np.ndarray) -> tuple[OnnxEmbedder, np.ndarray]:
    emb = OnnxEmbedder(cache_dir=cache)
    return emb, emb.embed(chip)


def files(cache: Path) -> tuple[Path, Path]:
    (model,) = (cache / "models").glob("*.onnx")
    return model, model.with_suffix(".json")


def test_same_descriptor_as_dlib(first: tuple[OnnxEmbedder, np.ndarray], chip: np.ndarray) -> None:
    emb, vec = first
    assert isinstance(emb, Embedder) and emb.model_id == DlibEmbedder.model_id
    assert vec.dtype == np.float32 and vec.shape == (128,)
    assert float(np.abs(vec - DlibEmbedder().embed(chip)).max()) < 1e-5


def test_first_load_converts_and_records(first: tuple[OnnxEmbedder, np.ndarray], cache: Path) -> None:
    emb, _ = first
    assert emb.converted is not None and not emb.converted.from_cache
    model, record = files(cache)
    assert emb.converted.path == model
    meta = json.loads(record.read_text())
    assert meta["source_sha256"] == oe.DLIB_RESNET_SHA256 == emb.converted.source_sha256
    assert meta["onnx_sha256"] == oe.sha256_file(model) == emb.converted.onnx_sha256


def test_second_load_uses_the_cache(first: tuple[OnnxEmbedder, np.ndarray], cache: Path, chip: np.ndarray) -> None:
    emb = OnnxEmbedder(cache_dir=cache)
    np.testing.assert_array_equal(emb.embed(chip), first[1])
    assert emb.converted is not None and emb.converted.from_cache


@pytest.mark.parametrize("damage", ["model", "record", "source"])
def test_damaged_cache_is_rebuilt(
    first: tuple[OnnxEmbedder, np.ndarray],
    cache: Path,
    chip: np.ndarray,
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model, record = files(cache)
    if damage == "model":
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
    elif damage == "record":
        record.write_text("{not json")
    else:
        meta = json.loads(record.read_text())
        record.write_text(json.dumps({**meta, "source_sha256": "0" * 64}))
    with caplog.at_level(logging.WARNING, logger=oe.__name__):
        emb = OnnxEmbedder(cache_dir=cache)
        np.testing.assert_array_equal(emb.embed(chip), first[1])
    assert emb.converted is not None and not emb.converted.from_cache
    assert caplog.records
    assert json.loads(record.read_text())["onnx_sha256"] == oe.sha256_file(model)


def test_no_cache(tmp_path: Path, chip: np.ndarray, first: tuple[OnnxEmbedder, np.ndarray]) -> None:
    emb = OnnxEmbedder(cache_dir=tmp_path, use_cache=False)
    np.testing.assert_array_equal(emb.embed(chip), first[1])
    assert emb.converted is not None and emb.converted.path is None
    assert list(tmp_path.iterdir()) == []


def test_unwritable_cache_converts_in_memory(tmp_path: Path, chip: np.ndarray) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    emb = OnnxEmbedder(cache_dir=blocker)
    assert emb.embed(chip).shape == (128,)
    assert emb.converted is not None and emb.converted.path is None


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIVECERT_CACHE", str(tmp_path / "lc"))
    assert oe.default_cache_dir() == tmp_path / "lc"
    monkeypatch.delenv("LIVECERT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert oe.default_cache_dir() == tmp_path / "xdg" / "livecert"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert oe.default_cache_dir() == Path.home() / ".cache" / "livecert"


def test_source_with_another_hash_is_refused() -> None:
    with pytest.raises(ModelError) as info:
        oe.converted_model(dlib_model_file(DLIB_RESNET_FILE), cache_dir=None, expected_sha256="0" * 64)
    assert info.value.code is ErrorCode.MODEL_UNUSABLE


def test_bad_model_files(tmp_path: Path, chip: np.ndarray) -> None:
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x01\x01" + bytes(64))
    with pytest.raises(DlibFormatError) as info:
        OnnxEmbedder(junk, use_cache=False).embed(chip)
    assert info.value.code is ErrorCode.MODEL_UNUSABLE
    with pytest.raises(ModelError) as missing:
        OnnxEmbedder(tmp_path / "absent.dat").embed(chip)
    assert missing.value.code is ErrorCode.MODEL_MISSING


@pytest.mark.parametrize("threads", [0, -1, True, 1.5])
def test_bad_thread_count(threads: object) -> None:
    with pytest.raises(InputError) as info:
        OnnxEmbedder(threads=threads)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.BAD_ARGUMENT


def test_bad_chip(first: tuple[OnnxEmbedder, np.ndarray]) -> None:
    with pytest.raises(InputError) as info:
        first[0].embed(np.zeros((150, 150), np.uint8))
    assert info.value.code is ErrorCode.BAD_FRAME


def test_one_default_embedder_per_process_serves_threads(chip: np.ndarray, cache: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    oe._DEFAULT = OnnxEmbedder(cache_dir=cache)  # the default, in this test's cache folder
    try:
        first = oe.default_embedder()
        assert oe.default_embedder() is first
        chips = [np.roll(chip, k, axis=1) for k in range(6)]
        alone = [OnnxEmbedder(cache_dir=cache).embed(c) for c in chips]
        with ThreadPoolExecutor(3) as pool:
            together = list(pool.map(first.embed, chips))
        assert all(np.array_equal(a, b) for a, b in zip(alone, together))
    finally:
        oe._DEFAULT = None
