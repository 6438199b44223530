"""Moonshine (English, base) as a digit recogniser for telephone-band audio.

The ``moonshine-cpp`` wheel (MIT licence, Linux x86_64) carries the English
Moonshine base model (about 60 MB) and its own ONNX Runtime; nothing is
downloaded.  It is a general transcriber, not a digit grammar: it hears
8 kHz speech far better than PocketSphinx's 16 kHz model, but may merge
repeated digits ("7752" as "seven five two") or run on after the last one.
:class:`livecert.speech.english.EnglishDigitRecogniser` therefore uses it only for
narrowband audio and only when it heard at least the digits asked for.

The wheel's ``libmoonshine.so`` (moonshine-cpp 0.1.4) was built for CPUs
with AVX-512: loading its model runs AVX-512 instructions, and on a CPU
without them (an AMD EPYC with AVX2 only, for one) the whole process dies
of an illegal instruction, which no ``try`` can catch.  So Moonshine counts
as available only where the CPU reports :data:`REQUIRED_CPU_FLAGS`
(:func:`moonshine_unusable`); elsewhere PocketSphinx hears everything.
"""

from __future__ import annotations

import ctypes
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from livecert.arrays import FloatArray
from livecert.errors import ErrorCode, ModelError, not_loaded
from livecert.io.audio import AudioTrack, as_samples, resample
from livecert.speech.recogniser import DIGIT_WORDS, check_n_digits
from livecert.speech.vad import voice_activity

log = logging.getLogger(__name__)

#: What installs moonshine-cpp, for the message when it does not import.
_INSTALL = "pip install moonshine-cpp (Linux x86_64 only)"


#: Words Moonshine writes for digits (it also writes the digits themselves):
#: the digit words, and homophones ("to", "for", "ate"), since only digits
#: are being read.
WORD_DIGITS: dict[str, str] = {**DIGIT_WORDS, "o": "0", "to": "2", "too": "2", "for": "4", "ate": "8"}


def transcript_digits(text: str) -> str:
    """The digits in a transcript, in order: ``"8, 0, four. Nine"`` -> ``"8049"``."""
    tokens = re.findall(r"[a-z]+|\d", text.lower())
    return "".join(t if t.isdigit() else WORD_DIGITS.get(t, "") for t in tokens)


#: CPU features (``/proc/cpuinfo`` flags) that ``libmoonshine.so`` of moonshine-cpp 0.1.4 needs:
#: its model loader runs AVX-512 (EVEX) instructions (``vpbroadcastq`` from a general register,
#: ``vpermt2q``, ``vmovdqu64`` on 128/256-bit registers), found by disassembling it after it
#: died of SIGILL on a CPU with AVX2 but no AVX-512.
REQUIRED_CPU_FLAGS: tuple[str, ...] = ("avx512f", "avx512vl")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The CPU's feature flags from ``cpuinfo`` (its first ``flags`` line), None where unreadable."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        return None
    return None


def _cpu_unfit() -> str | None:
    """Why this CPU cannot run ``libmoonshine.so``, or None.  Where its flags cannot be read
    it counts as unfit: a wrong guess would kill the process."""
    flags = cpu_flags()
    if flags is None:
        return "the CPU's features cannot be read (/proc/cpuinfo), and moonshine-cpp's library needs AVX-512"
    missing = [flag for flag in REQUIRED_CPU_FLAGS if flag not in flags]
    if missing:
        return f"this CPU lacks {', '.join(missing)} (AVX-512), which moonshine-cpp's library needs"
    return None


def moonshine_unusable() -> str | None:
    """Why Moonshine cannot run here (a sentence), or None when it can: the CPU lacks
    :data:`REQUIRED_CPU_FLAGS` (or they cannot be read), or ``moonshine-cpp`` does not import."""
    unfit = _cpu_unfit()
    if unfit is not None:
        return unfit
    try:
        import moonshine_cpp  # noqa: F401
    except (ImportError, OSError) as exc:
        return not_loaded("moonshine-cpp", exc, _INSTALL)
    return None


def moonshine_available() -> bool:
    """Whether Moonshine can run here: ``moonshine-cpp`` imports and the CPU has :data:`REQUIRED_CPU_FLAGS`."""
    return moonshine_unusable() is None


class MoonshineDigitRecogniser:
    """Digits heard by Moonshine base (English) in a recording.

    Parameters
    ----------
    margin_s : float
        Kept before the first and after the last voiced segment: the
        recording is trimmed to its speech first, since Moonshine returns
        nothing for some recordings that start with a long quiet stretch.

    Notes
    -----
    The model loads on first use (about 0.7 s) and is kept on the instance.
    About 0.5 s per 4 s recording on two cores.  Not thread-safe.
    """

    def __init__(self, *, margin_s: float = 0.2) -> None:
        self.margin_s = margin_s
        self._model: Any = None
        self._lib: Any = None

    def load(self) -> None:
        """Load the model now.

        Raises
        ------
        ModelError
            ``MODEL_UNUSABLE`` when the CPU lacks the AVX-512 its library
            needs (:func:`moonshine_unusable`; loading it would kill the
            process), otherwise when ``moonshine-cpp`` is not installed or its
            model does not load.
        """
        if self._model is not None:
            return
        unfit = _cpu_unfit()
        if unfit is not None:
            raise ModelError(f"Moonshine cannot run here: {unfit}", code=ErrorCode.MODEL_UNUSABLE)
        try:
            import moonshine_cpp.moonshine_cpp as mc
        except (ImportError, OSError) as exc:
            raise ModelError(not_loaded("moonshine-cpp", exc, _INSTALL)) from None
        try:
            self._model = mc.MoonshineModel(language="en", suppress_copyright_notice=True)
        except Exception as exc:  # noqa: BLE001 - the wrapper raises bare Exception
            raise ModelError(f"the Moonshine model inside moonshine-cpp did not load ({exc})") from None
        self._lib = mc.moonshine_lib

    def transcribe(self, samples: FloatArray, sample_rate: int) -> str:
        """Moonshine's transcript of the voiced part of ``samples`` ("" when none)."""
        x = as_samples(samples)
        if sample_rate != 16000:
            x = resample(x, sample_rate, 16000)
        if x.size < 1600 or not np.all(np.isfinite(x)):
            return ""
        track = AudioTrack(x, 16000)
        speech = voice_activity(track)
        if not speech:
            return ""
        x = np.ascontiguousarray(
            track.between(max(0.0, speech[0][0] - self.margin_s), speech[-1][1] + self.margin_s), dtype=np.float32
        )
        self.load()
        buffer = (ctypes.c_float * len(x)).from_buffer(x.data)
        text = ctypes.c_char_p(0)
        error = self._lib.moonshine_transcribe(self._model.model_handle, buffer, len(x), ctypes.byref(text))
        if error != 0:
            raise ModelError(f"Moonshine failed to transcribe (error {error})")
        out = (text.value or b"").decode("utf-8", errors="replace")
        self._lib.moonshine_free_text(text)
        return out

    def recognise(self, samples: FloatArray, sample_rate: int, n_digits: int) -> str:
        """The first ``n_digits`` digits heard, or all of them when fewer were heard.

        See :meth:`livecert.speech.recogniser.DigitRecogniser.recognise`; unlike a
        fixed-count grammar the result may be shorter than ``n_digits``.

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` when ``n_digits`` is not an integer in 1-16
            (:data:`livecert.speech.recogniser.MAX_DIGITS`).
        """
        check_n_digits(n_digits)
        heard = transcript_digits(self.transcribe(samples, sample_rate))
        log.debug("Moonshine heard %r", heard)
        return heard[:n_digits]
