"""The audit record of a check (:class:`~livecert.results.ResultMeta`): livecert's
version, the models used with the SHA-256 of their files, the time of the
check, the challenge nonce and the input's hash.

Model files are hashed once per process (about 0.1 s for dlib's 22 MB
descriptor) and cached; they are located without importing mediapipe or dlib.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
from datetime import datetime, timezone
from pathlib import Path

from livecert import __version__
from livecert.config import Mode
from livecert.errors import ChallengeError, LivecertError
from livecert.identity.dlib_onnx import CONVERTER_VERSION
from livecert.identity.embedding import DLIB_RESNET_FILE, DlibEmbedder, dlib_model_file
from livecert.liveness.challenge import Challenge
from livecert.liveness.digits import ChallengeOptions
from livecert.results import ModelInfo, ResultMeta
from livecert.speech.recogniser import DigitRecogniser
from livecert.speech.vosk_model import VoskDigitRecogniser

#: The mediapipe face mesh with irises (``refine_landmarks=True``) and the
#: short-range face detector that finds and counts faces, inside the wheel.
MEDIAPIPE_FILES = (
    "modules/face_landmark/face_landmark_with_attention.tflite",
    "modules/face_detection/face_detection_short_range.tflite",
)

_CHUNK = 1 << 20


def utc_now_iso() -> str:
    """The current time, UTC, ISO 8601 with milliseconds and ``Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _package(name: str) -> str:
    try:
        return f"{name}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return name


def recogniser_id(recogniser: DigitRecogniser) -> str:
    """``"recogniser:<class>"``, with ``":<model_id>"`` when the recogniser names its model
    (a ``model_id`` string attribute, e.g. the Vosk model folder's name)."""
    name = f"recogniser:{type(recogniser).__qualname__}"
    model = getattr(recogniser, "model_id", None)
    return f"{name}:{model}" if isinstance(model, str) and model else name


def _recogniser_package(recogniser: DigitRecogniser) -> str:
    """The package a recogniser runs on, with its version, when livecert knows it."""
    return _package("vosk") if isinstance(recogniser, VoskDigitRecogniser) else ""


@functools.cache
def face_models() -> tuple[ModelInfo, ...]:
    """The mediapipe models every check uses, hashed once per process."""
    spec = importlib.util.find_spec("mediapipe")  # finds the package without importing it
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec is not None else []
    out = []
    for rel in MEDIAPIPE_FILES:
        path = next((root / rel for root in roots if (root / rel).is_file()), None)
        out.append(ModelInfo(Path(rel).stem, _package("mediapipe"), sha256_file(path) if path else None))
    return tuple(out)


@functools.cache
def descriptor_model() -> ModelInfo:
    """dlib's ResNet face descriptor (used with an enrollment), hashed once per process.

    The hash is of dlib's model file; ``package`` also names the runtime that
    computed the descriptor (ONNX Runtime, on the graph livecert's converter
    builds from that file, by default).
    """
    try:
        digest: str | None = sha256_file(dlib_model_file(DLIB_RESNET_FILE))
    except (LivecertError, OSError):  # the check itself reports a missing model
        digest = None
    runtime = f"{_package('onnxruntime')} (livecert.identity.dlib_onnx v{CONVERTER_VERSION})"
    return ModelInfo(DlibEmbedder.model_id, f"{_package('face_recognition_models')} on {runtime}", digest)


def challenge_nonce(options: ChallengeOptions | None) -> str | None:
    """The nonce of the challenge, None without one or when the token cannot be read."""
    if options is None:
        return None
    if isinstance(options.challenge, Challenge):
        return options.challenge.nonce
    if options.key is None:
        return None
    try:
        return Challenge.from_token(options.challenge, options.key).nonce
    except ChallengeError:
        return None


def result_meta(
    *,
    checked_at: str,
    mode: Mode,
    enrolled: bool,
    challenge: ChallengeOptions | None,
    input_sha256: str | None,
) -> ResultMeta:
    """The audit record of one check.

    Parameters
    ----------
    checked_at : str
        When the check started (:func:`utc_now_iso`).
    mode : Mode
    enrolled : bool
        An enrollment was compared (the descriptor model is listed).
    challenge : ChallengeOptions or None
        The challenge (for its nonce) and the recogniser (none listed when
        the content is not checked: ``check_content=False``).
    input_sha256 : str or None
    """
    models = list(face_models())
    if enrolled:
        models.append(descriptor_model())
    if mode is Mode.DIGITS and challenge is not None and challenge.check_content:
        if challenge.recogniser is None:
            models.append(ModelInfo("recogniser:EnglishDigitRecogniser", _package("pocketsphinx")))
        else:
            models.append(ModelInfo(recogniser_id(challenge.recogniser), _recogniser_package(challenge.recogniser)))
    return ResultMeta(__version__, checked_at, tuple(models), challenge_nonce(challenge), input_sha256)
