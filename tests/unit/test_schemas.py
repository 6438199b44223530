"""The challenge as a documented protocol: real outputs validate against the shipped JSON Schemas."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator, ValidationError

import livecert
from livecert.app.cli import main
from livecert.liveness.challenge import Challenge
from livecert.schemas import SchemaName, app_message, load_schema

from .paths import SAMPLE


def _validate(name: SchemaName, instance: Any) -> None:
    Draft202012Validator(load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER).validate(instance)


def _payload(token: str) -> Any:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_schemas_are_valid_draft_2020_12() -> None:
    for name in SchemaName:
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)
    with pytest.raises(livecert.InputError):
        load_schema("nope")


def test_token_payloads_follow_the_schema() -> None:
    key = livecert.generate_key()
    challenges = [
        livecert.new_challenge(4),
        livecert.new_challenge(8, schedule="one_by_one"),
        livecert.new_challenge(1, ttl_s=5),
        Challenge.for_known_digits("0427"),
        livecert.new_blink_challenge(3),
    ]
    for challenge in challenges:
        payload = _payload(challenge.to_token(key))
        _validate(SchemaName.CHALLENGE_TOKEN, payload)
        assert payload["d"] == challenge.digits and payload["n"] == challenge.nonce
    bad = dict(_payload(challenges[0].to_token(key)), x=1)
    with pytest.raises(ValidationError):
        _validate(SchemaName.CHALLENGE_TOKEN, bad)


def test_cli_challenge_json_gives_the_show_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "key"
    assert main(["challenge", "--key-file", str(key_file), "--schedule", "one_by_one", "--digits", "5", "--json"]) == 0
    message = json.loads(capsys.readouterr().out)
    _validate(SchemaName.APP_CHALLENGE, message)
    assert message["mode"] == "digits" and message["schedule_kind"] == "one_by_one"
    schedule = message["schedule"]
    assert "".join(s["digits"] for s in schedule) == message["digits"] and len(schedule) == 5
    assert schedule[0]["show_at_s"] == 0.0
    for prev, nxt in zip(schedule, schedule[1:]):
        assert prev["hide_at_s"] == nxt["show_at_s"] and 2.0 <= nxt["show_at_s"] - prev["show_at_s"] <= 4.5
    challenge = Challenge.from_token(message["token"], livecert.load_key(key_file))
    assert [[s.text, s.show_at_s, s.hide_at_s] for s in challenge.schedule] == [
        [s["digits"], s["show_at_s"], s["hide_at_s"]] for s in schedule
    ]
    assert message["expires_at"] == challenge.expires_at and message["expires_at_utc"].endswith("Z")


def test_app_message_for_blink_and_misuse() -> None:
    _validate(SchemaName.APP_CHALLENGE, app_message())
    with pytest.raises(ValidationError):
        _validate(SchemaName.APP_CHALLENGE, {"version": 1, "mode": "digits"})
    with pytest.raises(livecert.InputError):
        app_message(livecert.new_challenge(4))


def test_cli_blink_challenge_gives_the_prompt_windows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "key"
    args = ["challenge", "--key-file", str(key_file), "--mode", "blink", "--prompts", "3", "--mouth-prompts", "2"]
    assert main([*args, "--json"]) == 0
    message = json.loads(capsys.readouterr().out)
    _validate(SchemaName.APP_CHALLENGE, message)
    assert message["mode"] == "blink" and message["schedule_kind"] == "blink" and "digits" not in message
    challenge = Challenge.from_token(message["token"], livecert.load_key(key_file))
    for action, n in (("blink", 3), ("open_mouth", 2)):
        windows = [(s["show_at_s"], s["hide_at_s"]) for s in message["schedule"] if s["action"] == action]
        assert challenge.windows(livecert.PromptAction(action)) == tuple(windows) and len(windows) == n
    assert challenge.windows() == tuple((s["show_at_s"], s["hide_at_s"]) for s in message["schedule"])
    assert all(s["digits"] == "" for s in message["schedule"])
    assert main(args) == 0  # by hand: when to blink and when to open the mouth
    text = capsys.readouterr().out
    assert "blink when asked" in text and "open your mouth when asked" in text


def test_results_and_errors_follow_their_schemas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(SAMPLE), "--json", "--lang", "zh"]) == 0
    result = json.loads(capsys.readouterr().out)
    _validate(SchemaName.RESULT, result)
    # each blink says how far the eyes closed, below the open baseline (the audit's evidence)
    assert result["blinks"] and all(0.0 <= b["min_ratio"] < 0.7 for b in result["blinks"]), result["blinks"]
    key = livecert.generate_key()
    frames = ((np.full((120, 160, 3), 90, np.uint8), i / 20) for i in range(30))
    options = livecert.ChallengeOptions(livecert.new_challenge(4).to_token(key), key=key)
    _validate(SchemaName.RESULT, livecert.verify(frames, mode="digits", challenge=options).to_dict())
    assert main(["verify", str(tmp_path / "missing.mp4"), "--json"]) == 2
    _validate(SchemaName.ERROR, json.loads(capsys.readouterr().out))
