"""Which recogniser hears the digits, and whether they are checked: one rule
(:func:`livecert.speech.languages.content_check`) for ``livecert verify``,
``batch`` and ``demo``; and ``livecert batch --policy``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from livecert.app import batch_cli, demo
from livecert.app.cli import main
from livecert.batch import runner
from livecert.batch.manifest import parse_manifest
from livecert.batch.runner import Lang, RowOptions, verify_row
from livecert.config import Language, MatchPolicy, SpoofConfig, VerifyConfig
from livecert.errors import ErrorCode, InputError
from livecert.liveness.digits import ChallengeOptions
from livecert.speech.languages import content_check
from livecert.speech.vosk_model import VoskDigitRecogniser


def fake_model(folder: Path) -> Path:
    """A folder with the files a Vosk model folder is checked for (not a usable model)."""
    for name in ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf", "graph/HCLG.fst"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"placeholder")
    return folder


def test_content_check_rule(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert content_check("en") == (None, True)  # the session's bundled English recogniser
    with caplog.at_level(logging.WARNING):
        assert content_check(Language.ZH) == (None, False)
    assert "not checked" in caplog.text
    model = fake_model(tmp_path / "model")
    for lang in Language:
        recogniser, checked = content_check(lang, model)
        assert isinstance(recogniser, VoskDigitRecogniser) and checked
        assert recogniser.language is lang and recogniser.model_dir == model


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every ``verify`` a batch row makes (the call itself stops there)."""
    calls: list[dict[str, Any]] = []

    def fake_verify(source: object, **kwargs: Any) -> None:
        calls.append(kwargs)
        raise InputError("stop here", code=ErrorCode.BAD_INPUT)

    monkeypatch.setattr(runner, "verify", fake_verify)
    monkeypatch.setattr(runner, "_CONTENT", {})
    return calls


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_batch_rows_follow_the_rule_of_verify(lang: str, tmp_path: Path, seen: list[dict[str, Any]]) -> None:
    (tmp_path / "v.mp4").write_bytes(b"not looked at")
    manifest = parse_manifest("id,video,mode,expect_digits\nd,v.mp4,digits,4729\nb,v.mp4,blink,\n", base=tmp_path)
    model = fake_model(tmp_path / "model")
    for options in (RowOptions(lang=Lang(lang)), RowOptions(lang=Lang(lang), speech_model=model)):
        rows = [verify_row(row, options) for row in manifest]
        assert [r["error"]["code"] for r in rows] == ["BAD_INPUT", "BAD_INPUT"]
    digits, blink, digits_model, blink_model = (call["challenge"] for call in seen)
    assert blink is None and blink_model is None
    assert isinstance(digits, ChallengeOptions) and digits.challenge.digits == "4729"
    assert digits.recogniser is None and digits.check_content is (lang == "en")
    assert isinstance(digits_model.recogniser, VoskDigitRecogniser) and digits_model.check_content
    assert digits_model.recogniser.language is Language(lang)


def test_batch_policy_sets_the_match_threshold(tmp_path: Path, seen: list[dict[str, Any]]) -> None:
    (tmp_path / "v.mp4").write_bytes(b"not looked at")
    (row,) = parse_manifest("video\nv.mp4\n", base=tmp_path)
    no_spoof = VerifyConfig(spoof=SpoofConfig(enabled=False))
    verify_row(row, RowOptions())
    for policy in MatchPolicy:
        verify_row(row, RowOptions(policy=policy))
        verify_row(row, RowOptions(config=no_spoof, policy=policy))
    assert seen[0]["config"] is None
    for policy, (plain, kept) in zip(MatchPolicy, zip(seen[1::2], seen[2::2])):
        assert plain["config"].match.threshold == kept["config"].match.threshold == policy.threshold
        assert kept["config"].spoof.enabled is False  # the rest of the configuration is kept
    assert MatchPolicy.STRICT.threshold != MatchPolicy.LENIENT.threshold


def test_cli_batch_policy_lang_and_speech_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    given: list[RowOptions] = []

    def fake_run_batch(manifest: object, out: Path, *, options: RowOptions, **kw: Any) -> None:
        given.append(options)
        raise InputError("stop here", code=ErrorCode.BAD_INPUT)

    monkeypatch.setattr(batch_cli, "run_batch", fake_run_batch)
    monkeypatch.setattr(runner, "_CONTENT", {})
    (tmp_path / "photo.jpg").write_bytes(b"not looked at")
    (tmp_path / "plain.csv").write_text("video,mode,expect_digits\nv.mp4,digits,4729\n")
    (tmp_path / "enrolled.csv").write_text("video,enrolled\nv.mp4,photo.jpg\n")
    out = str(tmp_path / "r.jsonl")

    def run(manifest: str, *extra: str) -> dict[str, str]:
        assert main(["batch", str(tmp_path / manifest), "--out", out, "--json", *extra]) == 2
        return json.loads(capsys.readouterr().out)["error"]

    error = run("plain.csv", "--policy", "strict")  # no row has a face to match
    assert error["code"] == "BAD_ARGUMENT" and "--policy" in error["message"] and not given
    error = run("enrolled.csv", "--speech-model", str(fake_model(tmp_path / "model")))  # no digits row
    assert error["code"] == "BAD_ARGUMENT" and "--speech-model" in error["message"] and not given
    error = run("plain.csv", "--lang", "zh", "--speech-model", str(tmp_path / "missing"))
    assert error["code"] == "MODEL_MISSING" and not given  # refused before any row runs
    assert run("enrolled.csv", "--policy", "lenient")["code"] == "BAD_INPUT"
    assert run("plain.csv", "--lang", "zh")["code"] == "BAD_INPUT"
    assert run("plain.csv")["code"] == "BAD_INPUT"
    lenient, zh, en = given
    assert lenient.policy is MatchPolicy.LENIENT and zh.policy is None
    assert (zh.lang, zh.speech_model, en.lang) == (Lang.ZH, None, Lang.EN)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_demo_follows_the_rule_of_verify(lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[ChallengeOptions] = []

    def record(*args: Any, **kwargs: Any) -> ChallengeOptions:
        made.append(ChallengeOptions(*args, **kwargs))
        return made[-1]

    def stop(*args: Any, **kwargs: Any) -> None:
        raise InputError("stop here", code=ErrorCode.BAD_INPUT)

    monkeypatch.setattr(demo, "ChallengeOptions", record)
    monkeypatch.setattr(demo, "Overlay", stop)  # made right after the challenge, before any video is opened
    model = fake_model(tmp_path / "model")
    for digits in ("4729", None):
        for speech_model in (None, model):
            with pytest.raises(InputError, match="stop here"):
                demo.run_demo(
                    video="unused.mp4",
                    mode="digits",
                    lang=lang,
                    headless=True,
                    expect_digits=digits,
                    speech_model=speech_model,
                )
    assert len(made) == 4
    for options, speech_model in zip(made, (None, model) * 2):
        if speech_model is None:
            assert options.recogniser is None and options.check_content is (lang == "en")
        else:
            assert isinstance(options.recogniser, VoskDigitRecogniser) and options.check_content


def test_cli_demo_speech_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing"
    argv = [
        "demo",
        "--video",
        str(tmp_path / "unused.mp4"),
        "--headless",
        "--lang",
        "en",
        "--speech-model",
        str(missing),
    ]
    assert main([*argv, "--mode", "digits"]) == 2
    assert str(missing) in capsys.readouterr().err  # the model folder is checked before the video is opened
    assert main(argv) == 2
    assert "digits mode" in capsys.readouterr().err
