"""The digit recogniser for the language a pensioner reads in."""

from __future__ import annotations

import os

from livecert.config import Language
from livecert.speech.english import EnglishDigitRecogniser
from livecert.speech.recogniser import DigitRecogniser
from livecert.speech.vosk_model import VoskDigitRecogniser


def recogniser_for(language: Language | str, model_dir: str | os.PathLike[str] | None = None) -> DigitRecogniser | None:
    """The recogniser that hears digits read in ``language``, or None when there is none.

    Parameters
    ----------
    language : Language or str
        ``"en"`` or ``"zh"`` (Mandarin).
    model_dir : str or PathLike, optional
        A Vosk model folder the deployer supplies
        (:class:`~livecert.speech.vosk_model.VoskDigitRecogniser`, checked
        now, loaded on first use).  Without one: English has the bundled
        :class:`~livecert.speech.english.EnglishDigitRecogniser`; Mandarin
        has none (no Mandarin model ships in a package livecert can use),
        so None, and the digits read are not checked: pass
        ``ChallengeOptions(..., check_content=False)``.

    Returns
    -------
    DigitRecogniser or None

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` for an unknown ``language``.
    ModelError
        ``MODEL_MISSING`` or ``MODEL_UNUSABLE`` for a missing or incomplete
        ``model_dir``.
    """
    lang = Language.parse(language)
    if model_dir is not None:
        return VoskDigitRecogniser(model_dir, language=lang)
    return EnglishDigitRecogniser() if lang is Language.EN else None
