"""Digits heard by a Vosk (Kaldi) model that the deployer supplies by path.

No Mandarin speech model ships inside a package livecert can depend on, so a
deployment that checks the digits read in Mandarin brings its own: a Vosk
model folder, downloaded and unpacked once by the deployer (for example
``vosk-model-small-cn-0.22``, about 42 MB, Apache 2.0; an English one works
with ``language="en"``).  livecert downloads nothing: the folder is given by
path, and :func:`check_model_dir` refuses a missing or incomplete one before
anything loads.  The ``vosk`` package is optional (``pip install
'livecert[mandarin]'``) and imported on first use.

Layouts accepted (those Vosk itself reads): ``am/final.mdl``,
``conf/mfcc.conf`` and ``conf/model.conf`` with a decoding graph in
``graph/`` (``HCLG.fst``, or ``HCLr.fst`` + ``Gr.fst`` + ``disambig_tid.int``);
or the older flat layout with ``final.mdl``, ``mfcc.conf`` and the graph files
in the folder itself.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from livecert.arrays import FloatArray
from livecert.config import Language
from livecert.errors import ErrorCode, ModelError, not_loaded
from livecert.io.audio import as_samples, resample, to_pcm16
from livecert.io.files import as_path
from livecert.speech.recogniser import DIGIT_VOCABULARY, check_n_digits, transcript_digits

log = logging.getLogger(__name__)

#: Sample rate the audio is given to the model at (Vosk resamples to the
#: model's own rate, 16 kHz for its Mandarin and English models).
SAMPLE_RATE = 16000

#: Audio is given to the model in pieces this long, seconds, and the text of
#: each utterance Vosk ends at a pause is kept.
CHUNK_S = 0.25

#: Files of the two layouts: (acoustic model, feature settings, other
#: required files), relative to the model folder.
_LAYOUTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("am/final.mdl", "conf/mfcc.conf", ("conf/model.conf",)),
    ("final.mdl", "mfcc.conf", ()),
)

_INSTALL_HELP = "pip install 'livecert[mandarin]' (Linux, macOS or Windows)"


def check_model_dir(model_dir: str | os.PathLike[str]) -> Path:
    """Check that ``model_dir`` is a complete Vosk model folder, before loading it.

    Parameters
    ----------
    model_dir : str or PathLike
        The unpacked model folder (the one holding ``am/`` and ``conf/``).

    Returns
    -------
    Path
        ``model_dir``, absolute.

    Raises
    ------
    ModelError
        ``MODEL_MISSING`` when nothing is at ``model_dir``;
        ``MODEL_UNUSABLE`` when it is a file (an archive not unpacked) or a
        folder without a model's files (naming the first one missing, and
        the model folder inside it when it was given its parent).
    InputError
        ``BAD_ARGUMENT`` when ``model_dir`` is not a str or path.
    """
    path = as_path(model_dir, "the speech model folder").expanduser().absolute()
    if not path.exists():
        raise ModelError(
            f"no speech model at {path}: give the folder of a Vosk model you downloaded and unpacked "
            "(for Mandarin e.g. vosk-model-small-cn-0.22); livecert downloads nothing",
            code=ErrorCode.MODEL_MISSING,
        )
    if not path.is_dir():
        raise ModelError(
            f"the speech model {path} is a file, not a folder: unpack the model archive and give the folder",
            code=ErrorCode.MODEL_UNUSABLE,
        )
    for acoustic, features, others in _LAYOUTS:
        if (path / acoustic).is_file():
            graph = path / ("graph" if acoustic.startswith("am/") else "")
            missing = [name for name in (features, *others) if not (path / name).is_file()]
            has_graph = (graph / "HCLG.fst").is_file() or all(
                (graph / name).is_file() for name in ("HCLr.fst", "Gr.fst", "disambig_tid.int")
            )
            if not has_graph:
                missing.append(f"{graph.relative_to(path) / 'HCLG.fst'} (or HCLr.fst, Gr.fst and disambig_tid.int)")
            if missing:
                raise ModelError(
                    f"the speech model folder {path} is incomplete: {missing[0]} is missing; "
                    "unpack the whole model archive again",
                    code=ErrorCode.MODEL_UNUSABLE,
                )
            return path
    inner = sorted(p.parent.parent for p in path.glob("*/am/final.mdl"))
    hint = f"; did you mean {inner[0]}?" if inner else ": give the folder that holds am/final.mdl"
    raise ModelError(
        f"{path} is not a Vosk model folder (no am/final.mdl or final.mdl){hint}", code=ErrorCode.MODEL_UNUSABLE
    )


def vosk_available() -> bool:
    """Whether the optional ``vosk`` package can be imported (its library loads)."""
    try:
        import vosk  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


class VoskDigitRecogniser:
    """Digits read aloud, heard by a Vosk model from a folder the deployer supplies.

    The model listens with a grammar of the language's digit words
    (:data:`livecert.speech.recogniser.DIGIT_VOCABULARY`: for Mandarin 零 〇
    一 幺 二 两 三 四 五 六 七 八 九) when it supports one (Vosk's small
    models do), and otherwise transcribes freely; either way the digits are
    read from its transcript with
    :func:`livecert.speech.recogniser.transcript_digits`.  It cannot force
    the number of digits, so the result may be shorter or longer than
    asked.

    Parameters
    ----------
    model_dir : str or PathLike
        The unpacked Vosk model folder; checked now (:func:`check_model_dir`),
        loaded on first use (or :meth:`load`) and kept on the instance.
    language : Language or str
        The language the digits are read in, and of the model.  The
        grammar holds the words of its
        :data:`~livecert.speech.recogniser.DIGIT_VOCABULARY` that the model
        knows.

    Raises
    ------
    ModelError
        ``MODEL_MISSING`` or ``MODEL_UNUSABLE`` for a missing or
        incomplete model folder (:func:`check_model_dir`).
    InputError
        ``BAD_ARGUMENT`` for an unknown ``language``.

    Notes
    -----
    The ``vosk`` package's ``Model`` can also download models by name; this
    class only ever passes it a folder.  Not thread-safe: use one instance
    per thread.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        language: Language | str = Language.ZH,
    ) -> None:
        self.language = Language.parse(language)
        self.model_dir = check_model_dir(model_dir)
        self.words = dict(DIGIT_VOCABULARY[self.language])
        self._model: Any = None
        self._vosk: Any = None
        self._grammar: str | None = None

    @property
    def model_id(self) -> str:
        """The model folder's name (e.g. ``vosk-model-small-cn-0.22``), recorded in the audit fields."""
        return self.model_dir.name

    def load(self) -> None:
        """Load the model now rather than on first use.

        Raises
        ------
        ModelError
            ``MODEL_UNAVAILABLE`` when the ``vosk`` package is not installed
            or does not load; ``MODEL_UNUSABLE`` when Vosk cannot read the
            model (damaged files, or another kind of model) or the model
            knows none of the digit words (a model of another language).
        """
        if self._model is not None:
            return
        try:
            import vosk
        except (ImportError, OSError) as exc:
            raise ModelError(not_loaded("vosk", exc, _INSTALL_HELP), code=ErrorCode.MODEL_UNAVAILABLE) from None
        vosk.SetLogLevel(-1)  # Kaldi's progress lines; failures still reach stderr
        try:
            model = vosk.Model(str(self.model_dir))
        except Exception as exc:  # noqa: BLE001 - vosk raises a bare Exception
            raise ModelError(
                f"Vosk could not load the speech model in {self.model_dir} ({exc}): its files are damaged or "
                "it is not a Vosk model; download and unpack it again",
                code=ErrorCode.MODEL_UNUSABLE,
            ) from None
        known = [w for w in self.words if model.vosk_model_find_word(w) >= 0]
        if not known:
            raise ModelError(
                f"the speech model in {self.model_dir} knows none of the {self.language.value} digit words "
                f"({' '.join(self.words)}): is it a model of that language?",
                code=ErrorCode.MODEL_UNUSABLE,
            )
        if len(known) < len(self.words):
            log.info("the model does not know %s; they are left out", ", ".join(sorted(set(self.words) - set(known))))
        self._grammar = json.dumps([*known, "[unk]"], ensure_ascii=False)
        self._vosk, self._model = vosk, model

    def transcribe(self, samples: FloatArray, sample_rate: int) -> str:
        """The model's transcript of ``samples`` (``""`` for empty or non-finite audio).

        Parameters
        ----------
        samples : ndarray of float, shape (M,)
            Mono audio in [-1, 1].
        sample_rate : int

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` when ``samples`` is not mono audio or
            ``sample_rate`` is out of range.
        ModelError
            As :meth:`load`, and ``MODEL_UNUSABLE`` when Vosk fails on the audio.
        """
        x = as_samples(samples)
        if sample_rate != SAMPLE_RATE:
            x = resample(x, sample_rate, SAMPLE_RATE)
        if x.size == 0 or not np.all(np.isfinite(x)):
            return ""
        self.load()
        pcm = to_pcm16(x)
        step = 2 * int(CHUNK_S * SAMPLE_RATE)
        parts: list[str] = []
        try:
            recogniser = self._vosk.KaldiRecognizer(self._model, float(SAMPLE_RATE), self._grammar)
            for start in range(0, len(pcm), step):
                if recogniser.AcceptWaveform(pcm[start : start + step]):  # a pause ended an utterance
                    parts.append(json.loads(recogniser.Result()).get("text", ""))
            parts.append(json.loads(recogniser.FinalResult()).get("text", ""))
        except Exception as exc:  # noqa: BLE001 - vosk raises a bare Exception
            raise ModelError(
                f"Vosk failed to recognise speech with the model in {self.model_dir} ({exc})",
                code=ErrorCode.MODEL_UNUSABLE,
            ) from None
        return " ".join(part for part in parts if part)

    def recognise(self, samples: FloatArray, sample_rate: int, n_digits: int) -> str:
        """The digits heard, in order (see :meth:`livecert.speech.recogniser.DigitRecogniser.recognise`).

        Unlike a fixed-count grammar the result may be shorter or longer
        than ``n_digits``; the caller compares it with the challenge.

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` for a bad ``n_digits``, ``sample_rate`` or ``samples``.
        ModelError
            As :meth:`load`.
        """
        check_n_digits(n_digits)
        text = self.transcribe(samples, sample_rate)
        heard = transcript_digits(text, self.language)
        log.debug("Vosk wrote %r: digits %r", text, heard)
        return heard
