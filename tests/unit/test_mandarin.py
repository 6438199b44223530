"""Mandarin read-digits: the language choice, the digit vocabulary, and the command line."""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from livecert.app import cli
from livecert.app.cli import main
from livecert.config import Language
from livecert.errors import ErrorCode, InputError, ModelError
from livecert.liveness.challenge import Challenge, load_key
from livecert.liveness.digits import ChallengeOptions
from livecert.speech.english import EnglishDigitRecogniser
from livecert.speech.languages import recogniser_for
from livecert.speech.recogniser import MANDARIN_DIGITS, MANDARIN_PINYIN, transcript_digits
from livecert.speech.vosk_model import VoskDigitRecogniser

from .paths import SAMPLE

#: Tone number of each tone mark (the mark is a combining character after NFD).
_TONE_NUMBER = {"\u0304": "1", "\u0301": "2", "\u030c": "3", "\u0300": "4"}


def _spellings(digit: str) -> list[str]:
    """Every way the vocabulary writes ``digit``: its characters and their pinyin."""
    return [ch for ch, d in MANDARIN_DIGITS.items() if d == digit]


def _tone_numbered(pinyin: str) -> str:
    decomposed = unicodedata.normalize("NFD", pinyin)
    tone = next((_TONE_NUMBER[c] for c in decomposed if c in _TONE_NUMBER), "5")
    return "".join(c for c in decomposed if c not in _TONE_NUMBER) + tone


def test_every_digit_has_characters_and_pinyin() -> None:
    for digit in "0123456789":
        chars = _spellings(digit)
        assert chars, digit
        assert all(MANDARIN_PINYIN[ch] for ch in chars)


@pytest.mark.parametrize("style", ["characters", "pinyin", "tone_numbers", "mixed"])
def test_transcripts_read_back_as_the_digits_written(style: str) -> None:
    rng = random.Random(style)
    for _ in range(200):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 8)))
        words = []
        for d in digits:
            ch = rng.choice(_spellings(d))
            form = rng.choice(["characters", "pinyin", "tone_numbers"]) if style == "mixed" else style
            words.append(
                {"characters": ch, "pinyin": MANDARIN_PINYIN[ch], "tone_numbers": _tone_numbered(MANDARIN_PINYIN[ch])}[
                    form
                ]
            )
        text = rng.choice([" ", "", "，"]).join(words)
        assert transcript_digits(text, Language.ZH) == digits, text


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("[unk] 你好 四 十 七", "47"),  # other words, and 十 (ten) is no digit of a digit string
        ("si4 qi1 er4", "472"),  # tone numbers are not digits read aloud
        ("４７ 二九", "4729"),  # full-width digits
        ("SÌ QĪ", "47"),
        ("yao1 liang3 ling2", "120"),
        ("", ""),
    ],
)
def test_transcript_digits_mandarin(text: str, digits: str) -> None:
    assert transcript_digits(text, "zh") == digits


def test_transcript_digits_english_and_bad_language() -> None:
    assert transcript_digits("Four, 7 eight oh", Language.EN) == "4780"
    assert transcript_digits("四 七", Language.EN) == ""
    with pytest.raises(InputError) as err:
        transcript_digits("four", "fr")
    assert err.value.code is ErrorCode.BAD_ARGUMENT and "en, zh" in err.value.message


def test_language_parse() -> None:
    assert Language.parse("zh") is Language.ZH and Language.parse(Language.EN) is Language.EN
    with pytest.raises(InputError, match="choose one of en, zh"):
        Language.parse("cmn")


def test_recogniser_for_each_language(tmp_path: Path) -> None:
    assert isinstance(recogniser_for("en"), EnglishDigitRecogniser)
    assert recogniser_for(Language.ZH) is None  # nothing ships for Mandarin: the content is not checked
    with pytest.raises(ModelError) as err:
        recogniser_for("zh", tmp_path / "vosk-model-small-cn-0.22")
    assert err.value.code is ErrorCode.MODEL_MISSING


def test_cli_challenge_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key"
    argv = ["challenge", "--key-file", str(key), "--schedule", "one_by_one", "--digits", "5", "--lang", "zh"]
    assert main(argv) == 0
    token, text = capsys.readouterr().out.splitlines()
    challenge = Challenge.from_token(token, load_key(key))
    assert text.startswith("每个数字出现时请大声读出：")
    for step in challenge.schedule:
        assert f"{step.show_at_s:.2f} 秒 {step.text}" in text
    assert main(["challenge", "--key-file", str(key), "--lang", "zh"]) == 0
    token, text = capsys.readouterr().out.splitlines()
    assert text == f"请读出这些数字：{Challenge.from_token(token, load_key(key)).digits}"


def test_cli_speech_model_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-model"
    argv = ["verify", str(SAMPLE), "--json", "--lang", "zh", "--mode", "digits", "--expect-digits", "4729"]
    assert main([*argv, "--speech-model", str(missing)]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "MODEL_MISSING" and str(missing) in error["message"]
    assert main(["verify", str(SAMPLE), "--json", "--speech-model", str(missing)]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "BAD_ARGUMENT" and "--mode digits" in error["message"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cli_picks_the_recogniser_for_the_language(
    lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[ChallengeOptions] = []

    def fake_verify(source: object, **kwargs: Any) -> None:
        seen.append(kwargs["challenge"])
        raise InputError("stop here", code=ErrorCode.BAD_INPUT)

    monkeypatch.setattr(cli, "verify", fake_verify)
    model = tmp_path / "model"
    for name in ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf", "graph/HCLG.fst"):
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_bytes(b"placeholder")
    argv = ["verify", str(SAMPLE), "--lang", lang, "--mode", "digits", "--expect-digits", "4729"]
    assert main(argv) == 2 and main([*argv, "--speech-model", str(model)]) == 2
    without, with_model = seen
    if lang == "zh":  # nothing hears Mandarin without a model: the words are not checked
        assert without.recogniser is None and without.check_content is False
    else:  # the session's bundled English recogniser
        assert without.recogniser is None and without.check_content is True
    assert isinstance(with_model.recogniser, VoskDigitRecogniser) and with_model.check_content is True
    assert with_model.recogniser.language is Language(lang) and with_model.recogniser.model_dir == model
