"""Spoken-digit recognition for the read-digits (读数认证) check.

Anything with a ``recognise(samples, sample_rate, n_digits) -> str`` method is
a :class:`DigitRecogniser`.  livecert ships :class:`PocketSphinxDigitRecogniser`
(English digit words, model inside the ``pocketsphinx`` wheel, nothing
downloaded) and, as the default, :class:`EnglishDigitRecogniser`, which
sends telephone-band audio to Moonshine (:mod:`livecert.asr_moonshine`)
first.

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

from livecert.audio import as_samples, fft_length, resample, to_pcm16
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

#: PocketSphinx settings for narrowband audio unless ``decoder_options``
#: overrides them: ``topn`` (Gaussians scored per mixture) 8 instead of 4
#: (chosen on the FSDD tuning strings).  Wideband audio keeps the model's
#: default: on GRID digit words 8 scored the same (27/30) and took 40 ms per
#: 3 s clip against 33 ms.
NARROWBAND_DECODER_OPTIONS: dict[str, Any] = {"topn": 8}

MAX_DIGITS = 16


def is_narrowband(samples: np.ndarray, sample_rate: int) -> bool:
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


def check_n_digits(n_digits: Any) -> None:
    if isinstance(n_digits, bool) or not isinstance(n_digits, (int, np.integer)) or not 1 <= n_digits <= MAX_DIGITS:
        raise InputError(f"n_digits must be an integer in [1, {MAX_DIGITS}], got {n_digits!r}", code="BAD_ARGUMENT")


def digit_grammar(n_digits: int, words: dict[str, str] = DIGIT_WORDS) -> str:
    """JSGF grammar accepting exactly ``n_digits`` digit words."""
    alternatives = " | ".join(words)
    body = " ".join(["<digit>"] * n_digits)
    return f"#JSGF V1.0;\ngrammar digits;\n<digit> = {alternatives};\npublic <digits> = {body};\n"


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
    decoder_options : dict, optional
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

    Notes
    -----
    Measured on real recordings (see ``tests/realdata/test_audio_real.py``):
    single GRID digits cut from continuous 16 kHz speech are recognised well
    (27/30); 8 kHz telephone-band audio (FSDD) much less so, because the
    acoustic model expects energy up to 6.8 kHz.  On four-digit FSDD strings
    the defaults were chosen on speakers george and jackson, takes 0-2 (60
    strings): 0.22 strings / 0.65 digits with the earlier settings ("oh" in
    the grammar, ``noise_rms`` 1e-3, no extra pronunciations, ``topn`` 4),
    0.57 / 0.86 with these.  The test's strings (40 per group, each
    recording decoded from a fresh front end): tuning 0.38 / 0.79; held out,
    their takes 3-4 0.35 / 0.72 and speaker theo 0.95 / 0.99.  With 40-60
    strings a figure moves by about 0.1 with the random draw of digits and
    dither.  The remaining errors
    are mostly "six" heard as "eight" and "three"/"eight" swaps.  Tried and
    not kept (no gain on the tuning strings): filling 4-8 kHz by shifting or
    mirroring the 2-4 kHz band or with shaped noise, wider beams, ``lw``,
    ``wip``, ``silprob``, ``bestpath``, and (through a modified copy of the
    model's ``feat.params``) ``cmn live``, ``remove_noise no``, lower
    ``upperf``.  Without the dither, exact digital silence in the padding
    makes the grammar search fail more often (empty results).
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
        decoder_options: dict[str, Any] | None = None,
        words: dict[str, str] | None = None,
        narrowband_pronunciations: dict[str, tuple[str, ...]] | None = None,
        narrowband: bool | None = None,
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

    def _decoder(self, n_digits: int, narrowband: bool) -> Any:
        dec = self._decoders.get((n_digits, narrowband))
        if dec is not None:
            return dec
        try:
            from pocketsphinx import Decoder, get_model_path
        except ImportError as exc:
            raise ModelError(
                f"pocketsphinx is not installed or does not load ({exc}); pip install pocketsphinx"
            ) from None
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
            dec.add_jsgf_string("digits", digit_grammar(n_digits, self.words))
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

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self._seed)
        pad = np.zeros(int(self.pad_s * 16000), dtype=np.float32)
        x = np.concatenate([pad, x, pad])
        if self.noise_rms > 0:
            x = x + rng.normal(0.0, self.noise_rms, x.size).astype(np.float32)
        return x

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int, *, narrowband: bool | None = None) -> str:
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
            or ``samples`` is not mono audio (:func:`livecert.audio.as_samples`).
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


class EnglishDigitRecogniser:
    """livecert's default recogniser: PocketSphinx, with Moonshine for telephone-band audio.

    Wideband speech (energy above 4 kHz) goes to :class:`PocketSphinxDigitRecogniser`.
    Narrowband speech (:func:`is_narrowband`: telephone audio, 8 kHz
    recordings), for which PocketSphinx's bundled 16 kHz model is weak, goes
    first to :class:`livecert.asr_moonshine.MoonshineDigitRecogniser`; its
    answer is taken when it heard at least ``n_digits`` digits (the first
    ``n_digits``), otherwise PocketSphinx's fixed-count grammar decides.
    Without ``moonshine-cpp`` (it has wheels for Linux x86_64 only)
    PocketSphinx does everything.

    Parameters
    ----------
    pocketsphinx : PocketSphinxDigitRecogniser, optional
    moonshine : DigitRecogniser or None, optional
        Default: a :class:`~livecert.asr_moonshine.MoonshineDigitRecogniser`
        when ``moonshine-cpp`` can be imported, else None (not used).

    Notes
    -----
    Four-digit FSDD strings (tests/realdata/test_audio_real.py; 40 strings
    per group; strings / digits): PocketSphinx alone 0.38 / 0.79 tuning,
    0.35 / 0.72 held-out takes, 0.95 / 0.99 held-out speaker; Moonshine
    alone 0.88 / 0.89, 0.85 / 0.87, 0.78 / 0.83; this combination 0.93 /
    0.98, 0.88 / 0.95, 0.98 / 0.98.  Moonshine costs about 0.5 s per 4 s
    recording, 0.3-0.7 s and about 0.5 GB of memory to load, paid only once
    narrowband audio arrives.
    """

    def __init__(self, *, pocketsphinx: PocketSphinxDigitRecogniser | None = None, moonshine: Any = "default") -> None:
        self.pocketsphinx = pocketsphinx or PocketSphinxDigitRecogniser()
        self._moonshine = moonshine

    @property
    def moonshine(self) -> Any:
        """The narrowband recogniser, or None; ``moonshine-cpp`` is imported on first use."""
        if isinstance(self._moonshine, str) and self._moonshine == "default":
            from livecert.asr_moonshine import MoonshineDigitRecogniser, moonshine_available

            self._moonshine = MoonshineDigitRecogniser() if moonshine_available() else None
            if self._moonshine is None:
                log.warning("moonshine-cpp is not available: telephone-band audio is recognised by PocketSphinx alone")
        return self._moonshine

    def load(self, n_digits: int) -> None:
        """Load PocketSphinx's decoder for ``n_digits`` now (Moonshine loads on first narrowband use)."""
        self.pocketsphinx.load(n_digits)

    def recognise(self, samples: np.ndarray, sample_rate: int, n_digits: int) -> str:
        """Recognise ``n_digits`` digits (see :meth:`DigitRecogniser.recognise`).

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` for a bad ``n_digits``, ``sample_rate`` or ``samples``.
        ModelError
            When a model cannot be loaded.
        """
        check_n_digits(n_digits)
        x = as_samples(samples)
        if sample_rate != 16000:
            x = resample(x, sample_rate, 16000)
        narrowband = is_narrowband(x, 16000)
        moonshine = self.moonshine if x.size >= 1600 and narrowband else None
        if moonshine is not None:
            heard = moonshine.recognise(x, 16000, n_digits)
            if len(heard) == n_digits:
                return heard
            log.debug("Moonshine heard %r for %d digits; PocketSphinx decides", heard, n_digits)
        forced = self.pocketsphinx.narrowband is not None  # the PocketSphinx instance's own setting wins
        return self.pocketsphinx.recognise(x, 16000, n_digits, narrowband=None if forced else narrowband)
