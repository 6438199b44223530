"""Spoken-digit recognition for the read-digits (读数认证) check.

Anything with a ``recognise(samples, sample_rate, n_digits) -> str`` method is
a :class:`DigitRecogniser`.  livecert ships :class:`PocketSphinxDigitRecogniser`
(English digit words, model inside the ``pocketsphinx`` wheel, nothing
downloaded) and, as the default, :class:`EnglishDigitRecogniser`, which
sends telephone-band audio to Moonshine (:mod:`livecert.speech.moonshine`)
first.

Mandarin (``Language.ZH``) has a vocabulary here (:data:`MANDARIN_DIGITS`,
:data:`MANDARIN_PINYIN`, :func:`transcript_digits`) but no model that ships
in a package: :class:`livecert.speech.vosk_model.VoskDigitRecogniser` loads a
Vosk model folder the deployer downloaded (livecert downloads nothing), and
:func:`livecert.speech.languages.recogniser_for` picks the recogniser for a
language.  Any other recogniser plugs in through the same Protocol
(``ChallengeOptions(recogniser=...)``); no livecert code needs to change.
The returned string holds only the characters ``0-9``; the caller
compares it with the challenge (it may be shorter or longer than
``n_digits`` for recognisers that cannot force the count).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Protocol, TypeAlias, Union, runtime_checkable

import numpy as np

from livecert.arrays import FloatArray
from livecert.config import Language
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

#: Mandarin digits as a reader says them, in the characters a Mandarin
#: recogniser writes, and the digit each stands for.  Besides 零 一 二 三 四
#: 五 六 七 八 九: 〇 (a written zero), 幺 (yāo, how 1 is read aloud in
#: telephone and room numbers), 两 and 兩 (liǎng, "two of", which many say
#: for 2).
MANDARIN_DIGITS: dict[str, str] = {
    "零": "0",
    "〇": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "兩": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}

#: Hanyu Pinyin, with its tone mark, of each character of :data:`MANDARIN_DIGITS`.
MANDARIN_PINYIN: dict[str, str] = {
    "零": "líng",
    "〇": "líng",
    "一": "yī",
    "幺": "yāo",
    "二": "èr",
    "两": "liǎng",
    "兩": "liǎng",
    "三": "sān",
    "四": "sì",
    "五": "wǔ",
    "六": "liù",
    "七": "qī",
    "八": "bā",
    "九": "jiǔ",
}

#: Toneless pinyin of the Mandarin digit syllables and the digit each stands
#: for, for recognisers that write pinyin (with tone marks, tone numbers or
#: neither: :func:`transcript_digits` strips them).
PINYIN_DIGITS: dict[str, str] = {
    unicodedata.normalize("NFD", py).encode("ascii", "ignore").decode(): MANDARIN_DIGITS[ch]
    for ch, py in MANDARIN_PINYIN.items()
}

#: The digit vocabulary of each language: what a recogniser for it listens
#: for (a grammar's words) and what :func:`transcript_digits` reads.
DIGIT_VOCABULARY: Mapping[Language, Mapping[str, str]] = {Language.EN: DIGIT_WORDS, Language.ZH: MANDARIN_DIGITS}

_EN_TOKENS = re.compile(r"[a-z]+|[0-9]")
# A pinyin syllable (letters and combining tone marks, an optional tone
# number, which is not a digit read aloud), an ASCII digit, or one other
# character (a Chinese character is a word of its own).
_ZH_TOKENS = re.compile(r"[a-z\u00fc\u0300-\u036f]+[1-5]?|[0-9]|\S")


def transcript_digits(text: str, language: Language | str = Language.ZH) -> str:
    """The digits read in a recogniser's transcript, in order.

    Parameters
    ----------
    text : str
        What a recogniser wrote.  Mandarin: characters of
        :data:`MANDARIN_DIGITS`, pinyin of :data:`PINYIN_DIGITS` (tone marks
        and tone numbers are ignored) and the digits 0-9, full-width ones
        too; English: the words of :data:`DIGIT_WORDS` and the digits 0-9.
        Anything else (other words, punctuation, ``[unk]``) is skipped.
    language : Language or str

    Returns
    -------
    str
        Only the characters ``0-9``: ``"四 七 两 jiu3"`` -> ``"4729"``.

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` for an unknown ``language``.
    """
    lang = Language.parse(language)
    folded = unicodedata.normalize("NFKC", text).lower()  # full-width digits and letters become ASCII
    if lang is Language.EN:
        return "".join(t if t.isdigit() else DIGIT_WORDS.get(t, "") for t in _EN_TOKENS.findall(folded))
    out = []
    for token in _ZH_TOKENS.findall(unicodedata.normalize("NFD", folded)):
        if token in MANDARIN_DIGITS:
            out.append(MANDARIN_DIGITS[token])
        elif token.isascii() and token.isdigit():
            out.append(token)
        else:
            out.append(_pinyin_digits(token.rstrip("12345").encode("ascii", "ignore").decode()))  # tones go
    return "".join(out)


def _pinyin_digits(letters: str) -> str:
    """Toneless pinyin, its syllables maybe run together (``"wuyaoqi"``), as digits;
    ``""`` unless it splits wholly into syllables of :data:`PINYIN_DIGITS`."""
    # best[i]: the digits of letters[:i], or None where no split reaches i
    best: list[str | None] = [""] + [None] * len(letters)
    for end in range(1, len(letters) + 1):
        for syllable, digit in PINYIN_DIGITS.items():
            start = end - len(syllable)
            head = best[start] if start >= 0 else None
            if head is not None and letters[start:end] == syllable:
                best[end] = head + digit
                break
    return best[-1] or ""


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
    """Turns a recording of spoken digits into a digit string.

    The words it listens for are its language's :data:`DIGIT_VOCABULARY`:
    for Mandarin 零/〇, 一/幺, 二/两, 三 ... 九 (:data:`MANDARIN_DIGITS`,
    pinyin in :data:`MANDARIN_PINYIN`); a plug-in that gets a transcript
    turns it into digits with :func:`transcript_digits`.
    """

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


#: Phones of the one-phone "garbage" words :class:`PocketSphinxDigitRecogniser`
#: allows before and after a digit answered on its own (wideband audio): a
#: schwa ("uh"), a nasal ("mm", "n"), a hiss and a breath.  A word said on its
#: own comes with such sounds, and a digit cut from running speech with the
#: edges of its neighbours; without them the one-word grammar must stretch a
#: digit over them (a GRID "eight" said before "now" was heard as "nine").
GARBAGE_PHONES: tuple[str, ...] = ("AH", "N", "S", "HH")

#: Grammar weight of taking a garbage word before or after the digit (1 for
#: taking none).  The phones and this weight were tried on tuning readings
#: of the even-indexed GRID s1 clips (``benchmarks/notes/speech.md``); the
#: weight was not swept.
GARBAGE_WEIGHT = 0.01


def garbage_word(phone: str) -> str:
    """The dictionary word that stands for one garbage ``phone`` (it maps to no digit)."""
    return f"garbage-{phone.lower()}"


def digit_grammar(
    n_digits: int,
    words: dict[str, str] = DIGIT_WORDS,
    garbage: tuple[str, ...] = (),
    garbage_weight: float = GARBAGE_WEIGHT,
) -> str:
    """JSGF grammar accepting exactly ``n_digits`` digit words.

    With ``garbage`` phones, one optional :func:`garbage_word` may come
    before the digits and one after them, taken with weight ``garbage_weight``.
    """
    alternatives = " | ".join(words)
    body = " ".join(["<digit>"] * n_digits)
    rules = f"<digit> = {alternatives};\n"
    if garbage:
        rules += f"<garbage> = {' | '.join(garbage_word(p) for p in garbage)};\n"
        edge = f"( /{garbage_weight:g}/ <garbage> | /1/ <NULL> )"
        body = f"{edge} {body} {edge}"
    return f"#JSGF V1.0;\ngrammar digits;\n{rules}public <digits> = {body};\n"
