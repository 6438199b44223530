"""dlib's ResNet face descriptor on ONNX Runtime.

:class:`OnnxEmbedder` runs the network of
``dlib_face_recognition_resnet_model_v1.dat`` (from the
``face_recognition_models`` package) converted to ONNX by
:mod:`livecert.identity.dlib_onnx`, on the same 150x150 chips as
:class:`~livecert.identity.embedding.DlibEmbedder`.  Its descriptors equal
dlib's to within 1e-6 per component (the real-data tests allow 1e-4), so it
shares dlib's ``model_id``: enrollments made with either backend compare
with the other's descriptors.

**Model cache.**  Nothing is downloaded and no converted model ships with
livecert: the ``.dat`` file is converted on first use (well under a second) and the
result kept in a cache folder, by default

1. ``$LIVECERT_CACHE`` when set, else
2. ``$XDG_CACHE_HOME/livecert`` when set, else
3. ``~/.cache/livecert``,

in its ``models`` subfolder, as ``<name>-<sha256 of the .dat, 16 hex>-c<converter
version>.onnx`` beside a ``.json`` record of the source file's SHA-256, the
converted file's SHA-256 and the converter version.  A cached model is used
only when its bytes hash to the recorded SHA-256 and the record names the
same source file and converter version; otherwise it is converted again and
replaced (files are written whole and renamed into place, so concurrent
processes never see half a file).  When the folder cannot be written the
model is converted in memory, at every load.  The packaged ``.dat`` must
have the SHA-256 listed in ``models/README.md``
(:data:`DLIB_RESNET_SHA256`); a file given explicitly is only checked for
its structure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from livecert.arrays import FloatArray, Image
from livecert.errors import ErrorCode, InputError, ModelError, not_loaded
from livecert.identity.dlib_onnx import CONVERTER_VERSION, INPUT_NAME, OUTPUT_NAME, convert
from livecert.identity.embedding import DLIB_RESNET_FILE, EMBEDDING_DIM, DlibEmbedder, _check_chip, dlib_model_file

log = logging.getLogger(__name__)

#: SHA-256 of ``dlib_face_recognition_resnet_model_v1.dat`` in face_recognition_models 0.3.0.
DLIB_RESNET_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"

#: Environment variable naming the cache folder.
CACHE_ENV = "LIVECERT_CACHE"


def default_cache_dir() -> Path:
    """The cache folder: ``$LIVECERT_CACHE``, else ``$XDG_CACHE_HOME/livecert``, else ``~/.cache/livecert``.

    Returns
    -------
    Path
        Not created here.
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "livecert"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's contents."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ConvertedModel:
    """An ONNX model converted from a dlib file.

    Attributes
    ----------
    data : bytes
        The serialised ONNX model.
    source_sha256 : str
        SHA-256 of the dlib file it was made from.
    onnx_sha256 : str
        SHA-256 of ``data``.
    path : Path or None
        Where it is cached; None when it was not written.
    from_cache : bool
        Read from the cache (True) or converted by this call (False).
    """

    data: bytes
    source_sha256: str
    onnx_sha256: str
    path: Path | None
    from_cache: bool


def _read_cached(model: Path, record: Path, source_sha256: str) -> bytes | None:
    """The cached model's bytes when they and their record are sound, else None."""
    if not model.is_file() or not record.is_file():
        return None
    try:
        meta = json.loads(record.read_text(encoding="utf-8"))
        data = model.read_bytes()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable cached model %s (%s)", model, exc)
        return None
    if not isinstance(meta, dict):
        log.warning("ignoring cached model %s: its record %s is not a JSON object", model, record)
        return None
    sound = (
        meta.get("source_sha256") == source_sha256
        and meta.get("converter_version") == CONVERTER_VERSION
        and meta.get("onnx_sha256") == hashlib.sha256(data).hexdigest()
    )
    if not sound:
        log.warning("cached model %s does not match its record %s: converting again", model, record)
        return None
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def converted_model(source: Path, *, cache_dir: Path | None, expected_sha256: str | None = None) -> ConvertedModel:
    """The ONNX form of a dlib face descriptor file, from the cache or converted now.

    Parameters
    ----------
    source : Path
        The dlib ``.dat`` file.
    cache_dir : Path or None
        Folder of the cache (its ``models`` subfolder is used); None: convert
        in memory and write nothing.
    expected_sha256 : str, optional
        Refuse a source file with another SHA-256.

    Returns
    -------
    ConvertedModel

    Raises
    ------
    ModelError
        ``MODEL_MISSING``: the source cannot be read; ``MODEL_UNUSABLE``: it
        has the wrong SHA-256 or is not the dlib network
        (:class:`~livecert.identity.dlib_onnx.DlibFormatError`).
    """
    try:
        source_sha256 = sha256_file(source)
    except OSError as exc:
        raise ModelError(
            f"{source}: cannot read the face descriptor model ({exc.strerror})", code=ErrorCode.MODEL_MISSING
        ) from None
    if expected_sha256 is not None and source_sha256 != expected_sha256:
        raise ModelError(
            f"{source}: SHA-256 {source_sha256}, expected {expected_sha256}; reinstall face_recognition_models==0.3.0",
            code=ErrorCode.MODEL_UNUSABLE,
        )
    stem = f"{source.stem}-{source_sha256[:16]}-c{CONVERTER_VERSION}"
    folder = cache_dir / "models" if cache_dir is not None else None
    model_path = folder / f"{stem}.onnx" if folder is not None else None
    record_path = folder / f"{stem}.json" if folder is not None else None
    if model_path is not None and record_path is not None:
        cached = _read_cached(model_path, record_path, source_sha256)
        if cached is not None:
            return ConvertedModel(cached, source_sha256, hashlib.sha256(cached).hexdigest(), model_path, True)
    data = convert(source).SerializeToString()
    onnx_sha256 = hashlib.sha256(data).hexdigest()
    if folder is None or model_path is None or record_path is None:
        return ConvertedModel(data, source_sha256, onnx_sha256, None, False)
    record = {
        "source": source.name,
        "source_sha256": source_sha256,
        "onnx_sha256": onnx_sha256,
        "converter_version": CONVERTER_VERSION,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(model_path, data)
        _write_atomic(record_path, (json.dumps(record, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        log.warning("cannot cache the converted model in %s (%s); it is converted at every load", folder, exc)
        return ConvertedModel(data, source_sha256, onnx_sha256, None, False)
    log.info("converted %s to %s", source, model_path)
    return ConvertedModel(data, source_sha256, onnx_sha256, model_path, False)


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(
            not_loaded("onnxruntime", exc, "pip install onnxruntime"), code=ErrorCode.MISSING_DEPENDENCY
        ) from None
    return onnxruntime


class OnnxEmbedder:
    """dlib's ResNet face descriptor, converted to ONNX, on ONNX Runtime's CPU provider.

    Same descriptors (and ``model_id``) as
    :class:`~livecert.identity.embedding.DlibEmbedder`, several times faster.
    The model is converted or read from the cache (see the module's
    docstring) on the first call to :meth:`embed`; keep one instance per
    process or session.

    Parameters
    ----------
    model_path : str or Path, optional
        dlib model file; default: the copy in ``face_recognition_models``
        (checked against :data:`DLIB_RESNET_SHA256`).
    threads : int
        ONNX Runtime intra-op threads (default 1: one core per face).
    cache_dir : str or Path, optional
        Cache folder; default :func:`default_cache_dir`.
    use_cache : bool
        False: convert in memory at every load and write nothing.

    Attributes
    ----------
    converted : ConvertedModel or None
        The model in use (None until the first :meth:`embed`).

    Raises
    ------
    InputError
        ``BAD_ARGUMENT``: ``threads`` is not a whole number of at least 1.
    """

    model_id = DlibEmbedder.model_id

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        threads: int = 1,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
    ) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InputError(
                f"threads must be a whole number of at least 1, got {threads!r}", code=ErrorCode.BAD_ARGUMENT
            )
        self._model_path = Path(model_path) if model_path is not None else None
        self._threads = threads
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._use_cache = use_cache
        self._session: Any = None
        self._lock = threading.Lock()
        self.converted: ConvertedModel | None = None

    def _load(self) -> Any:
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> Any:
        if self._session is None:
            ort = _import_onnxruntime()
            source = self._model_path or dlib_model_file(DLIB_RESNET_FILE)
            if not source.is_file():
                raise ModelError(f"{source}: face descriptor model not found", code=ErrorCode.MODEL_MISSING)
            cache = (self._cache_dir or default_cache_dir()) if self._use_cache else None
            expected = DLIB_RESNET_SHA256 if self._model_path is None else None
            model = converted_model(source, cache_dir=cache, expected_sha256=expected)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            try:
                self._session = ort.InferenceSession(model.data, options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own exception types
                raise ModelError(
                    f"{source}: ONNX Runtime cannot load the converted model ({exc})", code=ErrorCode.MODEL_UNUSABLE
                ) from None
            self.converted = model
            log.debug("loaded %s (%s)", source, "cached" if model.from_cache else "converted")
        return self._session

    def embed(self, aligned_face: Image) -> FloatArray:
        """See :meth:`~livecert.identity.embedding.Embedder.embed`."""
        chip = _check_chip(aligned_face)
        out = self._load().run([OUTPUT_NAME], {INPUT_NAME: chip[None]})[0]
        return np.asarray(out, dtype=np.float32).reshape(EMBEDDING_DIM)


_DEFAULT: OnnxEmbedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> OnnxEmbedder:
    """The face descriptor used when none is given: :class:`OnnxEmbedder`, whose descriptors
    equal dlib's to within 1e-6 at about a twentieth of the cost.

    One instance per process, so its model is converted or read from the cache
    and opened once, not at every :func:`livecert.verify` (about 0.25 s each);
    ONNX Runtime's ``run`` may be called from several threads at once.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = OnnxEmbedder()
        return _DEFAULT
