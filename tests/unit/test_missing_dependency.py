"""The message and error for a package that is missing or does not import."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from livecert.errors import ErrorCode, ModelError, not_loaded
from livecert.face import landmarks
from livecert.identity import onnx_embedder
from livecert.identity.dlib_onnx import import_onnx
from livecert.identity.embedding import DLIB_RESNET_FILE, dlib_model_file, import_dlib
from livecert.io.audio import AudioTrack
from livecert.speech import moonshine as moonshine_module
from livecert.speech.moonshine import MoonshineDigitRecogniser, moonshine_unusable
from livecert.speech.sphinx import PocketSphinxDigitRecogniser
from livecert.speech.vad import voice_activity
from livecert.speech.vosk_model import VoskDigitRecogniser

#: What ``import x`` says when ``sys.modules["x"]`` is None.
HALTED = "None in sys.modules"


def test_message_names_the_package_the_import_error_and_the_pip_command() -> None:
    message = not_loaded("onnxruntime", ImportError("libfoo.so: cannot open shared object"), "pip install onnxruntime")
    assert message == (
        "onnxruntime is not installed or does not load (libfoo.so: cannot open shared object); "
        "install it with: pip install onnxruntime"
    )


def test_message_without_an_import_error_says_only_not_installed() -> None:
    message = not_loaded("face_recognition_models", None, "pip install face_recognition_models==0.3.0")
    assert (
        message
        == "face_recognition_models is not installed; install it with: pip install face_recognition_models==0.3.0"
    )


def _vosk_model_dir(root: Path) -> Path:
    """A model folder that passes the layout check (made without vosk)."""
    for name in ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"placeholder\n")
    (root / "graph/disambig_tid.int").write_bytes(b"placeholder\n")
    return root


#: (modules made unimportable, what imports them, the package named, the code, the pip command)
CALL_SITES: list[tuple[tuple[str, ...], str, str, ErrorCode, str]] = [
    (("pocketsphinx",), "voice_activity", "pocketsphinx", ErrorCode.MODEL_UNAVAILABLE, "pip install pocketsphinx"),
    (("pocketsphinx",), "sphinx", "pocketsphinx", ErrorCode.MODEL_UNAVAILABLE, "pip install pocketsphinx"),
    (("onnx",), "onnx", "onnx", ErrorCode.MISSING_DEPENDENCY, "pip install onnx"),
    (("onnxruntime",), "onnxruntime", "onnxruntime", ErrorCode.MISSING_DEPENDENCY, "pip install onnxruntime"),
    (("dlib",), "dlib", "dlib", ErrorCode.MODEL_MISSING, "pip install dlib-bin"),
    (
        ("mediapipe",),
        "mediapipe",
        "mediapipe",
        ErrorCode.MODEL_UNAVAILABLE,
        "pip install livecert (with Python 3.9-3.12)",
    ),
    (
        ("moonshine_cpp", "moonshine_cpp.moonshine_cpp"),
        "moonshine",
        "moonshine-cpp",
        ErrorCode.MODEL_UNAVAILABLE,
        "pip install moonshine-cpp (Linux x86_64 only)",
    ),
    (
        ("vosk",),
        "vosk",
        "vosk",
        ErrorCode.MODEL_UNAVAILABLE,
        "pip install 'livecert[mandarin]' (Linux, macOS or Windows)",
    ),
]


@pytest.mark.parametrize(("modules", "site", "package", "code", "pip"), CALL_SITES, ids=[c[1] for c in CALL_SITES])
def test_call_site_raises_its_code_with_the_message(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    modules: tuple[str, ...],
    site: str,
    package: str,
    code: ErrorCode,
    pip: str,
) -> None:
    monkeypatch.setattr(moonshine_module, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512vl"}))
    calls: dict[str, Callable[[], object]] = {
        "voice_activity": lambda: voice_activity(AudioTrack(np.zeros(16000, np.float32), 16000)),
        "sphinx": lambda: PocketSphinxDigitRecogniser().load(4),
        "onnx": import_onnx,
        "onnxruntime": onnx_embedder._import_onnxruntime,
        "dlib": import_dlib,
        "mediapipe": landmarks._import_mediapipe,
        "moonshine": lambda: MoonshineDigitRecogniser().load(),
        "vosk": lambda: VoskDigitRecogniser(_vosk_model_dir(tmp_path)).load(),
    }
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(ModelError) as info:
        calls[site]()
    assert type(info.value) is ModelError and info.value.code is code
    message = info.value.message
    assert message.startswith(f"{package} is not installed or does not load (")
    assert HALTED in message and message.endswith(f"); install it with: {pip}")


def test_moonshine_unusable_gives_the_same_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moonshine_module, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512vl"}))
    monkeypatch.setitem(sys.modules, "moonshine_cpp", None)
    reason = moonshine_unusable() or ""
    assert reason.startswith("moonshine-cpp is not installed or does not load (") and HALTED in reason
    assert reason.endswith("; install it with: pip install moonshine-cpp (Linux x86_64 only)")


def test_missing_face_models_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "face_recognition_models" else real(name, *a)
    )
    with pytest.raises(ModelError) as info:
        dlib_model_file(DLIB_RESNET_FILE)
    assert info.value.code is ErrorCode.MODEL_MISSING
    assert info.value.message == (
        "face_recognition_models is not installed; "
        "install it with: pip install face_recognition_models==0.3.0 (about 100 MB)"
    )
