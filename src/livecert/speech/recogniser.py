"""Spoken-digit recognition for the read-digits (读数认证) check.

Anything with a ``recognise(samples, sample_rate, n_digits) -> str`` method is
a :class:`DigitRecogniser`.  livecert ships :class:`PocketSphinxDigitRecogniser`
(English digit words, model inside the ``pocketsphinx`` wheel, nothing
downloaded) and, as the default, :class:`EnglishDigitRecogniser`, which
sends telephone-band audio to Moonshine (:mod:`livecert.speech.moonshine`)
first.

Mandarin, or any other language, plugs in through the same Protocol; no
livecert code needs to change.  For example with Vosk and a model folder the
user downloaded themselves (livecert downloads nothing)::

    import json, vosk
    from livecert.io.audio import to_pcm16

    class VoskDigitRecogniser:
        DIGITS = {"零": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
                  "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}

        def __init__(self, model_dir):
            self.model = vosk.Model(model_dir)          # e.g. vosk-model-small-cn-0.22

        def recognise(self, samples, sample_rate, n_digits):
            grammar = json.dumps(list(self.DIGITS) + ["[unk]"], ensure_ascii=False)
            rec = vosk.KaldiRecognizer(self.model, sample_rate, grammar)
            rec.AcceptWaveform(to_pcm16(samples))
            text = json.loads(rec.FinalResult())["text"]
            return "".join(self.DIGITS[c] for c in text if c in self.DIGITS)

and pass ``VoskDigitRecogniser("/path/to/model")`` wherever a recogniser is
accepted.  The returned string holds only the characters ``0-9``; the caller
compares it with the challenge (it may be shorter or longer than
``n_digits`` for recognisers that cannot force the count).
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, Union, runtime_checkable

import numpy as np

from livecert.arrays import FloatArray
from livecert.errors import ErrorCode, InputError
from livecert.io.audio import fft_length

#: English digit words and the digit each stands for ("oh" is a spoken zero).
DIGIT_WORDS: dict[str, str] = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}

#: The words :class:`PocketSphinxDigitRecogniser` listens for by default:
#: :data:`DIGIT_WORDS` without "oh", which took "two" and "four" on FSDD
#: (tuning digits 0.74 without it, 0.65 with it).  Pass
#: ``words=DIGIT_WORDS`` to accept "oh" for zero.
DEFAULT_WORDS: dict[str, str] = {w: d for w, d in DIGIT_WORDS.items() if w != "oh"}

#: Pronunciations of the digit words (ARPABET phones of the bundled US
#: English model), as in the CMU dictionary inside the pocketsphinx wheel.
#: A decoder built from these loads in about 20 ms; with the whole
#: 134,000-word dictionary it takes about 120 ms.
PRONUNCIATIONS: dict[str, tuple[str, ...]] = {
    "zero": ("Z IH R OW", "Z IY R OW"),
    "oh": ("OW",),
    "one": ("W AH N",),
    "two": ("T UW",),
    "three": ("TH R IY",),
    "four": ("F AO R",),
    "five": ("F AY V",),
    "six": ("S IH K S",),
    "seven": ("S EH V AH N",),
    "eight": ("EY T",),
    "nine": ("N AY N",),
}

#: Extra pronunciations used for narrowband (telephone, 8 kHz) audio only,
#: see :func:`is_narrowband`.  There the /s/ of "six" keeps little energy
#: where the 16 kHz model expects it, and "six" was heard as "eight"; these
#: variants let it match without one or both /s/.  On wideband speech they
#: cost a GRID digit (27/30 -> 26/30), so they are not used there.
EXTRA_PRONUNCIATIONS: dict[str, tuple[str, ...]] = {"six": ("IH K S", "S IH K", "IH K", "HH IH K S")}

#: :func:`is_narrowband`: energy in 4.3-7.5 kHz over energy in 3.0-3.8 kHz
#: below this means the audio stops at 4 kHz.  Measured: GRID digit words
#: (16 kHz speech) 0.11 or more (median 2.0); the 150 FSDD recordings
#: (8 kHz, resampled) 0.022 or less (median 0.0007).
NARROWBAND_RATIO = 0.05

#: A PocketSphinx configuration value (``pocketsphinx.Config`` takes strings,
#: numbers and flags).
DecoderOption: TypeAlias = Union[str, int, float, bool]

#: PocketSphinx settings for narrowband audio unless ``decoder_options``
#: overrides them: ``topn`` (Gaussians scored per mixture) 8 instead of 4
#: (chosen on the FSDD tuning strings).  Wideband audio keeps the model's
#: default: on GRID digit words 8 scored the same (27/30) and took 40 ms per
#: 3 s clip against 33 ms.
NARROWBAND_DECODER_OPTIONS: dict[str, DecoderOption] = {"topn": 8}

MAX_DIGITS = 16


def is_narrowband(samples: FloatArray, sample_rate: int) -> bool:
    """Whether audio carries nothing above 4 kHz (telephone band, or 8 kHz resampled).

    Parameters
    ----------
    samples : ndarray of float, shape (M,)
    sample_rate : int

    Returns
    -------
    bool
        True when ``sample_rate`` is below 16 kHz, or when the energy in
        4.3-7.5 kHz is less than :data:`NARROWBAND_RATIO` times that in
        3.0-3.8 kHz (a steep cliff at 4 kHz, which speech recorded at 16 kHz
        or more does not have).
    """
    if sample_rate < 16000:
        return True
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    n_fft = fft_length(len(x))
    power = np.abs(np.fft.rfft(x, n_fft)) ** 2
    freq = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    high = float(power[(freq >= 4300) & (freq < 7500)].sum())
    edge = float(power[(freq >= 3000) & (freq < 3800)].sum())
    return edge > 0 and high < NARROWBAND_RATIO * edge


@runtime_checkable
class DigitRecogniser(Protocol):
    """Turns a recording of spoken digits into a digit string."""

    def recognise(self, samples: FloatArray, sample_rate: int, n_digits: int) -> str:
        """Recognise the digits spoken in ``samples``.

        Parameters
        ----------
        samples : ndarray of float32, shape (M,)
            Mono audio in [-1, 1].
        sample_rate : int
            Samples per second of ``samples``.
        n_digits : int
            Digits the speaker was asked to read.

        Returns
        -------
        str
            Only the characters ``0-9``, e.g. ``"4729"``; ``""`` when nothing
            was recognised.
        """
        ...


def check_n_digits(n_digits: object) -> None:
    """Raise ``InputError`` (``BAD_ARGUMENT``) unless ``n_digits`` is an integer in 1-:data:`MAX_DIGITS`."""
    if isinstance(n_digits, bool) or not isinstance(n_digits, (int, np.integer)) or not 1 <= n_digits <= MAX_DIGITS:
        raise InputError(
            f"n_digits must be an integer in [1, {MAX_DIGITS}], got {n_digits!r}", code=ErrorCode.BAD_ARGUMENT
        )


def digit_grammar(n_digits: int, words: dict[str, str] = DIGIT_WORDS) -> str:
    """JSGF grammar accepting exactly ``n_digits`` digit words."""
    alternatives = " | ".join(words)
    body = " ".join(["<digit>"] * n_digits)
    return f"#JSGF V1.0;\ngrammar digits;\n<digit> = {alternatives};\npublic <digits> = {body};\n"
