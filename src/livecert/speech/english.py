"""The default recogniser: PocketSphinx, with Moonshine first for telephone-band audio."""

from __future__ import annotations

import logging
from typing import Literal

from livecert.arrays import FloatArray
from livecert.io.audio import as_samples, resample
from livecert.speech.moonshine import MoonshineDigitRecogniser, moonshine_unusable
from livecert.speech.recogniser import DigitRecogniser, check_n_digits, is_narrowband
from livecert.speech.sphinx import PocketSphinxDigitRecogniser

log = logging.getLogger(__name__)


class EnglishDigitRecogniser:
    """livecert's default recogniser: PocketSphinx, with Moonshine for telephone-band audio.

    Wideband speech (energy above 4 kHz) goes to :class:`PocketSphinxDigitRecogniser`.
    Narrowband speech (:func:`is_narrowband`: telephone audio, 8 kHz
    recordings), for which PocketSphinx's bundled 16 kHz model is weak, goes
    first to :class:`livecert.speech.moonshine.MoonshineDigitRecogniser`; its
    answer is taken when it heard at least ``n_digits`` digits (the first
    ``n_digits``), otherwise PocketSphinx's fixed-count grammar decides.
    Without ``moonshine-cpp`` (it has wheels for Linux x86_64 only), or on
    a CPU without AVX-512, PocketSphinx does everything.

    Parameters
    ----------
    pocketsphinx : PocketSphinxDigitRecogniser, optional
    moonshine : DigitRecogniser, "default" or None, optional
        ``"default"`` (the default): a :class:`~livecert.speech.moonshine.MoonshineDigitRecogniser`
        when Moonshine can run here (:func:`~livecert.speech.moonshine.moonshine_unusable`:
        ``moonshine-cpp`` imports and the CPU has AVX-512), else None (not used).

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

    def __init__(
        self,
        *,
        pocketsphinx: PocketSphinxDigitRecogniser | None = None,
        moonshine: DigitRecogniser | Literal["default"] | None = "default",
    ) -> None:
        self.pocketsphinx = pocketsphinx or PocketSphinxDigitRecogniser()
        self._moonshine = moonshine

    @property
    def moonshine(self) -> DigitRecogniser | None:
        """The narrowband recogniser, or None; ``moonshine-cpp`` is imported on first use."""
        if isinstance(self._moonshine, str) and self._moonshine == "default":
            reason = moonshine_unusable()
            if reason is None:
                self._moonshine = MoonshineDigitRecogniser()
            else:
                log.warning("%s: telephone-band audio is recognised by PocketSphinx alone", reason)
                self._moonshine = None
        return self._moonshine

    def load(self, n_digits: int) -> None:
        """Load PocketSphinx's decoder for ``n_digits`` now (Moonshine loads on first narrowband use)."""
        self.pocketsphinx.load(n_digits)

    def recognise(self, samples: FloatArray, sample_rate: int, n_digits: int) -> str:
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
