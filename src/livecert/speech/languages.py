"""The digit recogniser for the language a pensioner reads in."""

from __future__ import annotations

import logging
import os

from livecert.config import Language
from livecert.speech.english import EnglishDigitRecogniser
from livecert.speech.recogniser import DigitRecogniser
from livecert.speech.vosk_model import VoskDigitRecogniser

log = logging.getLogger(__name__)


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


def content_check(
    language: Language | str, model_dir: str | os.PathLike[str] | None = None
) -> tuple[DigitRecogniser | None, bool]:
    """Who hears the digits read in ``language``, and whether they are checked at all.

    The rule of ``livecert verify``, ``batch`` and ``demo`` in digits mode:
    English without ``model_dir`` keeps the session's default recogniser;
    otherwise :func:`recogniser_for` decides, and a language with no
    recogniser (Mandarin without a model) is judged on when and how the
    digits were read only (a warning is logged).

    Parameters
    ----------
    language : Language or str
        The language the digits are read in.
    model_dir : str or PathLike, optional
        A speech model folder the deployer supplies (``--speech-model DIR``).

    Returns
    -------
    recogniser : DigitRecogniser or None
        For ``ChallengeOptions(recogniser=...)``; None: the session's English
        default, or none.
    check_content : bool
        For ``ChallengeOptions(check_content=...)``: False when no recogniser
        hears ``language``.

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` for an unknown ``language``.
    ModelError
        A missing or incomplete ``model_dir``.
    """
    lang = Language.parse(language)
    if lang is Language.EN and model_dir is None:
        return None, True
    recogniser = recogniser_for(lang, model_dir)
    if recogniser is None:
        log.warning(
            "no recogniser for %s readings (--speech-model DIR): which digits were said is not checked, "
            "only when and how they were read",
            lang.value,
        )
    return recogniser, recogniser is not None
