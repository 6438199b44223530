"""PocketSphinx digit recogniser: a fixed-count grammar of English digit words, with the
acoustic model inside the ``pocketsphinx`` wheel."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from livecert.arrays import FloatArray
from livecert.errors import ModelError, not_loaded
from livecert.io.audio import as_samples, resample, to_pcm16
from livecert.speech.recogniser import (
    DEFAULT_WORDS,
    EXTRA_PRONUNCIATIONS,
    GARBAGE_PHONES,
    NARROWBAND_DECODER_OPTIONS,
    PRONUNCIATIONS,
    DecoderOption,
    check_n_digits,
    digit_grammar,
    garbage_word,
    is_narrowband,
)

log = logging.getLogger(__name__)


class PocketSphinxDigitRecogniser:
    """English digit recogniser on PocketSphinx 5 with a fixed-count grammar.

    The grammar accepts exactly ``n_digits`` words from ``words`` (optional
    silences between them), so the decoder can neither insert nor drop
    digits; it returns the best digit string of that length.  One
    decoder per ``n_digits`` (and band) is created on first use and kept on
    the instance (about 20 ms to create with the built-in pronunciations).
    Not thread-safe: use one instance per thread.

    Parameters
    ----------
    pad_s : float
        Low noise added before and after the samples so that the decoder sees
        silence at both ends of the utterance.
    noise_rms : float
        RMS of the Gaussian noise added to the padding and to the whole
        signal (after peak normalisation to ``target_peak``).  Digital
        silence (exact zeros) derails PocketSphinx's feature normalisation,
        and this noise also fills the empty 4-8 kHz band of telephone-band
        audio.
    target_peak : float
        The signal is scaled so that its largest sample has this magnitude.
    hmm, dictionary : str or None
        Acoustic model folder and pronunciation dictionary; default: the US
        English model inside the pocketsphinx wheel and
        :data:`PRONUNCIATIONS` (the wheel's dictionary is read only for words
        not in it, or with another ``hmm``).
    seed : int
        Seed of the dither noise, so results are reproducible.
    decoder_options : mapping of str to str, int, float or bool, optional
        PocketSphinx configuration (e.g. ``{"beam": 1e-60}``); for
        narrowband audio on top of :data:`NARROWBAND_DECODER_OPTIONS`.  Front-end settings listed in the
        model's ``feat.params`` (``upperf``, ``remove_noise``, ``cmn``, ...)
        are overridden by that file.
    words : dict, optional
        Digit words accepted and the digit each stands for; default
        :data:`DEFAULT_WORDS` (no "oh": read 0 as "zero").  Every word must
        be in the dictionary.
    narrowband_pronunciations : dict, optional
        Extra pronunciations per word (space-separated phones of the model)
        used for narrowband audio, added as ``word(2)``, ``word(3)``, ...;
        default :data:`EXTRA_PRONUNCIATIONS`, ``{}`` for none.
    narrowband : bool or None
        Treat every recording as narrowband (True) or wideband (False);
        None (default) decides per recording with :func:`is_narrowband`.
    garbage_phones : tuple of str, optional
        Phones of the model allowed, one before and one after the digit, as
        words that stand for no digit when a single wideband digit is
        recognised (``n_digits=1``: an answer to a ``one_by_one`` prompt);
        default :data:`~livecert.speech.recogniser.GARBAGE_PHONES`, ``()``
        for none.  They absorb the breath, "uh" or hiss around a word said
        on its own, which the one-word grammar would otherwise stretch the
        digit over.  Not used for narrowband audio, where they took the
        faint /s/ and /th/ of digits (FSDD tuning answers heard right
        99/150 with them, 122/150 without).

    Notes
    -----
    Measured on real recordings (see ``tests/realdata/test_audio_real.py``):
    single GRID digits cut from continuous 16 kHz speech are recognised well
    (27/30); digits read one by one, each answer recognised on its own
    (``tests/realdata/test_readings_real.py``), 51 of 60 held-out answers;
    8 kHz telephone-band audio (FSDD) much less so, because the
    acoustic model expects energy up to 6.8 kHz.  The defaults were chosen
    on four-digit FSDD strings of speakers george and jackson, takes 0-2;
    the test's strings (40 per group, strings / digits): tuning 0.38 / 0.79;
    held out, their takes 3-4 0.35 / 0.72 and speaker theo 0.95 / 0.99.
    How the settings were chosen: ``benchmarks/notes/speech.md``.
    """

    def __init__(
        self,
        *,
        pad_s: float = 0.3,
        noise_rms: float = 3e-3,
        target_peak: float = 0.5,
        hmm: str | None = None,
        dictionary: str | None = None,
        seed: int = 0,
        decoder_options: Mapping[str, DecoderOption] | None = None,
        words: dict[str, str] | None = None,
        narrowband_pronunciations: dict[str, tuple[str, ...]] | None = None,
        narrowband: bool | None = None,
        garbage_phones: tuple[str, ...] | None = None,
    ) -> None:
        self.pad_s = pad_s
        self.noise_rms = noise_rms
        self.target_peak = target_peak
        self._hmm = hmm
        self._dict = dictionary
        self._seed = seed
        self._decoders: dict[tuple[int, bool], Any] = {}
        self._options = dict(decoder_options or {})
        self.words = dict(words or DEFAULT_WORDS)
        self.narrowband_pronunciations = dict(
            EXTRA_PRONUNCIATIONS if narrowband_pronunciations is None else narrowband_pronunciations
        )
        self.narrowband = narrowband
        self.garbage_phones = tuple(GARBAGE_PHONES if garbage_phones is None else garbage_phones)

    def _decoder(self, n_digits: int, narrowband: bool) -> Any:
        dec = self._decoders.get((n_digits, narrowband))
        if dec is not None:
            return dec
        try:
            from pocketsphinx import Decoder, get_model_path
        except ImportError as exc:
            raise ModelError(not_loaded("pocketsphinx", exc, "pip install pocketsphinx")) from None
        hmm = self._hmm or get_model_path("en-us/en-us")
        built_in = self._dict is None and self._hmm is None and all(w in PRONUNCIATIONS for w in self.words)
        dictionary = self._dict or (os.devnull if built_in else get_model_path("en-us/cmudict-en-us.dict"))
        options = {**NARROWBAND_DECODER_OPTIONS, **self._options} if narrowband else self._options
        try:
            dec = Decoder(
                hmm=hmm, dict=dictionary, lm=None, samprate=16000, logfn=os.devnull, loglevel="FATAL", **options
            )
            if built_in:
                self._add_pronunciations(dec, {w: PRONUNCIATIONS[w] for w in self.words})
            if narrowband:
                self._add_pronunciations(dec, self.narrowband_pronunciations)
            garbage = self.garbage_phones if n_digits == 1 and not narrowband else ()
            for phone in garbage:
                dec.add_word(garbage_word(phone), phone, False)
            dec.add_jsgf_string("digits", digit_grammar(n_digits, self.words, garbage))
            dec.activate_search("digits")
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"PocketSphinx could not load its model from {hmm} ({exc})") from None
        self._decoders[(n_digits, narrowband)] = dec
        return dec

    def _add_pronunciations(self, dec: Any, pronunciations: dict[str, tuple[str, ...]]) -> None:
        """Add each word's phones as ``word``, then ``word(2)``, ``word(3)``, ... (whichever is free)."""
        for word, variants in pronunciations.items():
            if word not in self.words:
                continue
            for phones in variants:
                name, i = word, 2
                while dec.lookup_word(name) is not None:
                    name, i = f"{word}({i})", i + 1
                dec.add_word(name, phones, False)

    def load(self, n_digits: int, narrowband: bool = False) -> None:
        """Create the decoder for ``n_digits`` now rather than on first use.

        Raises
        ------
        ModelError
            When pocketsphinx or its model cannot be loaded.
        """
        self._decoder(int(n_digits), bool(narrowband))

    def _prepare(self, x: FloatArray) -> FloatArray:
        rng = np.random.default_rng(self._seed)
        pad = np.zeros(int(self.pad_s * 16000), dtype=np.float32)
        x = np.concatenate([pad, x, pad])
        if self.noise_rms > 0:
            x = x + rng.normal(0.0, self.noise_rms, x.size).astype(np.float32)
        return x

    def recognise(self, samples: FloatArray, sample_rate: int, n_digits: int, *, narrowband: bool | None = None) -> str:
        """Recognise exactly ``n_digits`` digits (see :meth:`DigitRecogniser.recognise`).

        The samples are resampled to 16 kHz if needed, checked for a 4 kHz
        band limit (:func:`is_narrowband`, unless ``narrowband`` or the
        instance's ``narrowband`` says), scaled to ``target_peak``, padded
        with ``pad_s`` of silence at both ends and dithered.  Returns exactly ``n_digits`` digits, or ``""`` for input
        shorter than 0.1 s, silent or non-finite input, and when the search
        ends without a complete path through the grammar (PocketSphinx then
        offers a partial one, which is discarded).

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` when ``n_digits`` is not an integer in
            ``[1, MAX_DIGITS]``, ``sample_rate`` is not in [8000, 192000],
            or ``samples`` is not mono audio (:func:`livecert.io.audio.as_samples`).
        ModelError
            When pocketsphinx or its model cannot be loaded.
        """
        check_n_digits(n_digits)
        x = as_samples(samples)
        if sample_rate != 16000:
            x = resample(x, sample_rate, 16000)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if x.size < 1600 or not np.isfinite(peak) or peak < 1e-5:
            return ""
        if narrowband is None:
            narrowband = is_narrowband(x, 16000) if self.narrowband is None else self.narrowband
        x = self._prepare(x * (self.target_peak / peak))
        dec = self._decoder(int(n_digits), narrowband)
        dec.reinit_feat()  # fresh noise and cepstral-mean estimates: no memory of earlier recordings
        dec.start_utt()
        dec.process_raw(to_pcm16(x), full_utt=True)
        dec.end_utt()
        hyp = dec.hyp()
        digits = "" if hyp is None else "".join(self.words.get(w.split("(")[0], "") for w in hyp.hypstr.split())
        if len(digits) != n_digits:  # the search ended outside the grammar's final state
            log.debug("PocketSphinx found no complete %d-digit path (partial %r)", n_digits, digits)
            return ""
        return digits
