"""Spoken-digit recognition for the read-digits (读数认证) check.

Anything with a ``recognise(samples, sample_rate, n_digits) -> str`` method is
a :class:`DigitRecogniser`.  livecert ships :class:`PocketSphinxDigitRecogniser`
(English digit words, model inside the ``pocketsphinx`` wheel, nothing
downloaded).

Mandarin, or any other language, plugs in through the same Protocol; no
livecert code needs to change.  For example with Vosk and a model folder the
user downloaded themselves (livecert downloads nothing)::

    import json, vosk
    from livecert.audio import to_pcm16

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

import logging
import os
from typing import Any, Protocol, runtime_checkable

import numpy as np

from livecert.audio import resample, to_pcm16
from livecert.errors import InputError, ModelError

log = logging.getLogger(__name__)

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

MAX_DIGITS = 16


# ----------------------------------------------------------------------------
# digit recognition


@runtime_checkable
class DigitRecogniser(Protocol):
    """Turns a recording of spoken digits into a digit string."""

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
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


def digit_grammar(n_digits: int, words: dict[str, str] = DIGIT_WORDS) -> str:
    """JSGF grammar accepting exactly ``n_digits`` digit words."""
    alternatives = " | ".join(words)
    body = " ".join(["<digit>"] * n_digits)
    return f"#JSGF V1.0;\ngrammar digits;\n<digit> = {alternatives};\npublic <digits> = {body};\n"


class PocketSphinxDigitRecogniser:
    """English digit recogniser on PocketSphinx 5 with a fixed-count grammar.

    The grammar accepts exactly ``n_digits`` words from :data:`DIGIT_WORDS`
    (optional silences between them), so the decoder can neither insert nor
    drop digits; it returns the best digit string of that length.  One
    decoder per ``n_digits`` is created on first use and kept on the
    instance (about 0.1 s to create).  Not thread-safe: use one instance per
    thread.

    Parameters
    ----------
    pad_s : float
        Low noise added before and after the samples so that the decoder sees
        silence at both ends of the utterance.
    noise_rms : float
        RMS of the Gaussian noise added to the padding and to the whole
        signal (after peak normalisation to ``target_peak``).  Digital
        silence (exact zeros) derails PocketSphinx's feature normalisation.
    target_peak : float
        The signal is scaled so that its largest sample has this magnitude.
    hmm, dictionary : str or None
        Acoustic model folder and pronunciation dictionary; default: the US
        English ones inside the pocketsphinx wheel.
    seed : int
        Seed of the dither noise, so results are reproducible.
    decoder_options : dict, optional
        Extra PocketSphinx configuration (e.g. ``{"beam": 1e-60}``).  Front-end
        settings listed in the model's ``feat.params`` (``upperf``,
        ``remove_noise``, ...) are overridden by that file.
    words : dict, optional
        Digit words accepted and the digit each stands for; default
        :data:`DIGIT_WORDS`.  Every word must be in the dictionary.

    Notes
    -----
    Measured on real recordings (see ``tests/realdata/test_audio_real.py``):
    single GRID digits cut from continuous 16 kHz speech are recognised well;
    8 kHz telephone-band audio (FSDD) much less so, because the acoustic
    model expects energy up to 6.8 kHz (``six``/``eight``, ``three``/``eight``
    confusions).  Without the dither, exact digital silence in the padding
    makes the grammar search fail more often (empty results).
    """

    def __init__(
        self,
        *,
        pad_s: float = 0.3,
        noise_rms: float = 1e-3,
        target_peak: float = 0.5,
        hmm: str | None = None,
        dictionary: str | None = None,
        seed: int = 0,
        decoder_options: dict[str, Any] | None = None,
        words: dict[str, str] | None = None,
    ) -> None:
        self.pad_s = pad_s
        self.noise_rms = noise_rms
        self.target_peak = target_peak
        self._hmm = hmm
        self._dict = dictionary
        self._seed = seed
        self._decoders: dict[int, Any] = {}
        self._options = dict(decoder_options or {})
        self.words = dict(words or DIGIT_WORDS)

    def _decoder(self, n_digits: int) -> Any:
        dec = self._decoders.get(n_digits)
        if dec is not None:
            return dec
        try:
            from pocketsphinx import Decoder, get_model_path
        except ImportError as exc:
            raise ModelError(
                f"pocketsphinx is not installed or does not load ({exc}); pip install pocketsphinx"
            ) from None
        hmm = self._hmm or get_model_path("en-us/en-us")
        dictionary = self._dict or get_model_path("en-us/cmudict-en-us.dict")
        try:
            dec = Decoder(
                hmm=hmm, dict=dictionary, lm=None, samprate=16000, logfn=os.devnull, loglevel="FATAL", **self._options
            )
            dec.add_jsgf_string("digits", digit_grammar(n_digits, self.words))
            dec.activate_search("digits")
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"PocketSphinx could not load its model from {hmm} ({exc})") from None
        self._decoders[n_digits] = dec
        return dec

    def load(self, n_digits: int) -> None:
        """Create the decoder for ``n_digits`` now rather than on first use.

        Safe to call from a background thread while the video is processed
        (the instance must not be used by two threads at once).

        Raises
        ------
        ModelError
            When pocketsphinx or its model cannot be loaded.
        """
        self._decoder(int(n_digits))

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self._seed)
        pad = np.zeros(int(self.pad_s * 16000), dtype=np.float32)
        x = np.concatenate([pad, x, pad])
        if self.noise_rms > 0:
            x = x + rng.normal(0.0, self.noise_rms, x.size).astype(np.float32)
        return x

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
        """Recognise exactly ``n_digits`` digits (see :meth:`DigitRecogniser.recognise`).

        The samples are resampled to 16 kHz if needed, scaled to
        ``target_peak``, padded with ``pad_s`` of silence at both ends and
        dithered.  Returns exactly ``n_digits`` digits, or ``""`` for input
        shorter than 0.1 s, silent or non-finite input, and when the search
        ends without a complete path through the grammar (PocketSphinx then
        offers a partial one, which is discarded).

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` when ``n_digits`` is not an integer in
            ``[1, MAX_DIGITS]`` or ``sample_rate`` is not in [8000, 192000].
        ModelError
            When pocketsphinx or its model cannot be loaded.
        """
        if isinstance(n_digits, bool) or not isinstance(n_digits, (int, np.integer)) or not 1 <= n_digits <= MAX_DIGITS:
            raise InputError(f"n_digits must be an integer in [1, {MAX_DIGITS}], got {n_digits!r}", code="BAD_ARGUMENT")
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if sample_rate != 16000:
            x = resample(x, sample_rate, 16000)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if x.size < 1600 or not np.isfinite(peak) or peak < 1e-5:
            return ""
        x = self._prepare(x * (self.target_peak / peak))
        dec = self._decoder(int(n_digits))
        dec.start_utt()
        dec.process_raw(to_pcm16(x), full_utt=True)
        dec.end_utt()
        hyp = dec.hyp()
        digits = "" if hyp is None else "".join(self.words.get(w.split("(")[0], "") for w in hyp.hypstr.split())
        if len(digits) != n_digits:  # the search ended outside the grammar's final state
            log.debug("PocketSphinx found no complete %d-digit path (partial %r)", n_digits, digits)
            return ""
        return digits
