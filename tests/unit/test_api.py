"""Public API, results, config and the command line, without real recordings."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import numpy as np
import pytest

import livecert
from livecert.app.cli import main
from livecert.app.demo import run_demo
from livecert.errors import ErrorCode, InputError, ModelError, import_extra

from .paths import SAMPLE


def test_import_is_light() -> None:
    code = "import sys, livecert; print(sorted(m for m in ('mediapipe','cv2','dlib','av') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        livecert.does_not_exist  # noqa: B018


def test_config_is_frozen_and_validated() -> None:
    cfg = livecert.VerifyConfig()
    with pytest.raises(FrozenInstanceError):
        cfg.blink.min_blinks = 3  # type: ignore[misc]
    assert replace(cfg.blink, min_blinks=2).min_blinks == 2
    with pytest.raises(InputError):
        livecert.BlinkConfig(close_ratio=0.9, open_ratio=0.8)
    with pytest.raises(InputError):
        livecert.QualityConfig(min_brightness=-1)
    from livecert.config import DigitsConfig

    assert DigitsConfig(sync_lag_prior_s=(0.1, 0.25)).sync_lag_prior_s == (0.1, 0.25)
    for bad in ((0.2, 0.1), [0.0, 0.1], (0.0,), ("a", "b"), (-3.0, 0.0)):
        with pytest.raises(InputError) as err:
            DigitsConfig(sync_lag_prior_s=bad)  # type: ignore[arg-type]
        assert err.value.code == "BAD_CONFIG"


def test_reason_messages_are_bilingual() -> None:
    for code in livecert.ReasonCode:
        assert code.message_en and code.message_zh and code.message_en != code.message_zh
    with pytest.raises(ValueError):
        livecert.ReasonCode.NO_FACE.message("fr")


def blank_frames(n: int = 40):
    return ((np.full((120, 160, 3), 90, np.uint8), i / 20) for i in range(n))


def test_verify_without_face_is_a_result_not_an_exception() -> None:
    result = livecert.verify(blank_frames())
    assert result.passed is False
    assert "NO_FACE" in result.reason_codes and "NO_BLINK" in result.reason_codes
    d = result.to_dict()
    assert set(d) >= {"passed", "mode", "reasons", "blinks", "frames", "duration_s", "timings_ms"}
    assert d["frames"]["total"] == 40 and d["frames"]["with_face"] == 0
    assert set(d["timings_ms"]) >= {"decode", "landmarks", "blink", "total"}
    assert all(set(r) >= {"code", "message"} for r in d["reasons"])
    json.dumps(d)


def test_too_short() -> None:
    result = livecert.verify(blank_frames(5))
    assert "TOO_SHORT" in result.reason_codes


def test_bad_mode_and_config() -> None:
    with pytest.raises(InputError):
        livecert.verify(blank_frames(), mode="wink")
    with pytest.raises(InputError):
        livecert.verify(blank_frames(), config={"blink": 1})  # type: ignore[arg-type]


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(tmp_path / "missing.mp4")]) == 2
    captured = capsys.readouterr()
    assert "missing.mp4" in captured.err and "no such file" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    assert main(["verify", str(empty), "--json"]) == 2
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]  # exactly one JSON object on stdout
    assert error["code"] == "EMPTY_FILE" and "empty.avi" in error["message"]


def test_cli_json_errors_are_one_object_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(tmp_path / "missing.mp4"), "--json", "--lang", "zh"]) == 2
    out = capsys.readouterr().out
    error = json.loads(out)["error"]
    assert error["code"] == "FILE_NOT_FOUND"
    assert error["message"].startswith("找不到文件") and "missing.mp4" in error["message"]
    for argv in (["verify", "--json"], ["verify", "x.mp4", "--json", "--mode", "wink"], ["trace", "x.mp4", "--json"]):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        assert json.loads(captured.out)["error"]["code"] == "BAD_ARGUMENT", argv
    assert main(["verify", "x.mp4", "--json", "--mode", "digits"]) == 2
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert "--challenge" in message and "--expect-digits" in message


def test_cli_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: livecert verify") and "required: video" in err
    assert main(["trace", "x.mp4"]) == 2
    assert "--out FILE.csv" in capsys.readouterr().err
    assert main(["verify", "--lang", "zh"]) == 2
    assert "调用参数有误" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--turn-prompts", "7", "--turn-prompts"),
        ("--mouth-prompts", "7", "--mouth-prompts"),
        ("--prompts", "0", "--prompts"),
        ("--ttl", "0", "ttl"),
    ],
)
def test_cli_challenge_bad_option_writes_no_key_file(
    option: str, value: str, named: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A bad count used to be found after a new key file was written, leaving it behind."""
    key_file = tmp_path / "new.key"
    assert main(["challenge", "--mode", "blink", option, value, "--key-file", str(key_file)]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err, err
    assert not key_file.exists()


def test_cli_nonce_db_without_a_challenge_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """It used to be ignored in blink mode, even with a folder that does not exist (issue 19)."""
    assert main(["verify", str(SAMPLE), "--nonce-db", str(tmp_path / "no" / "used.sqlite")]) == 2
    assert "--nonce-db" in capsys.readouterr().err
    assert main(["verify", str(SAMPLE), "--mode", "digits", "--expect-digits", "12", "--nonce-db", "u.sqlite"]) == 2


def test_cli_human_output_follows_lang(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(SAMPLE), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("认证通过") and "眨眼 3 次" in out and "frames" not in out and "PASSED" not in out


def test_every_error_code_has_a_chinese_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from livecert.errors import _GENERIC_ZH, _MESSAGES_ZH, ErrorCode, LivecertError

    assert set(_MESSAGES_ZH) == set(ErrorCode), set(ErrorCode) - set(_MESSAGES_ZH)
    for code, text in _MESSAGES_ZH.items():
        assert text.endswith("。") and "请" in text, code  # says what to do
    err = InputError("clip.mp4: the file is empty (0 bytes); record again", code=ErrorCode.EMPTY_FILE)
    assert err.message_in("en") == err.message == str(err)
    expected = "文件是空的。请重新录制或重新上传。（详细信息：clip.mp4: the file is empty (0 bytes); record again）"
    assert err.message_in("zh") == expected
    monkeypatch.delitem(_MESSAGES_ZH, ErrorCode.LIVECERT_ERROR)  # a code added without its Chinese text
    assert LivecertError("x").message_in("zh") == _GENERIC_ZH + "（详细信息：x）"
    with pytest.raises(ValueError):
        err.message_in("fr")


def test_config_wrong_types_are_bad_config() -> None:
    from livecert.config import MatchConfig, SessionConfig, SpoofConfig, VerifyConfig

    for make in (
        lambda: MatchConfig(threshold="0.4"),  # type: ignore[arg-type]
        lambda: MatchConfig(threshold=None),  # type: ignore[arg-type]
        lambda: MatchConfig(max_frames=2.5),  # type: ignore[arg-type]
        lambda: livecert.BlinkConfig(min_blinks=True),
        lambda: SessionConfig(camera_limit_s=float("nan")),
        lambda: SpoofConfig(enabled="no"),  # type: ignore[arg-type]
        lambda: VerifyConfig(blink={"min_blinks": 2}),  # type: ignore[arg-type]
    ):
        with pytest.raises(InputError) as err:
            make()
        assert err.value.code == "BAD_CONFIG"
    assert MatchConfig(threshold=np.float64(0.3), max_frames=np.int64(3)).max_frames == 3


def test_enrollment_repr_is_short() -> None:
    from livecert.face.quality import FrameQuality
    from livecert.identity.enrollment import Enrollment
    from livecert.results import QualityFlag

    q = FrameQuality(180.0, 120.0, 300.0, 3.0, -5.0, QualityFlag(0))
    e = Enrollment(np.ones(128, np.float32), np.zeros((478, 3), np.float32), q, "dlib_face_recognition_resnet_model_v1")
    text = repr(e)
    assert len(text) < 200 and "dlib_face_recognition_resnet_model_v1" in text and "128" in text
    assert str(e) == text


def test_cli_json_for_a_failed_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .videos import write_video

    clip = write_video(tmp_path / "noface.mp4", [i / 25 for i in range(50)])
    assert main(["verify", str(clip), "--json"]) == 1
    out = capsys.readouterr().out
    data = json.loads(out)  # exactly one JSON object
    assert data["passed"] is False and data["mode"] == "blink"
    assert data["reasons"][0]["code"] == "NO_FACE"


def test_cli_trace_writes_csv_and_png(tmp_path: Path) -> None:
    from .videos import write_video

    clip = write_video(tmp_path / "noface.mp4", [i / 25 for i in range(30)])
    csv_path, png_path = tmp_path / "t.csv", tmp_path / "t.png"
    assert main(["trace", str(clip), "--out", str(csv_path), "--plot", str(png_path)]) == 0
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("t_s,faces,left_eye,right_eye,eye_width_ratio,inner_lip_gap,outer_lip_height")
    assert len(lines) == 31 and "NO_FACE" in lines[1]
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_trace_csv_gives_the_eye_width_ratio_of_frames_with_a_face(tmp_path: Path) -> None:
    """The CSV lacked FrameTrace's eye_width_ratio column, what undoes the eyes' foreshortening."""
    csv_path = tmp_path / "t.csv"
    assert main(["trace", str(SAMPLE), "--out", str(csv_path)]) == 0
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with_face = [row for row in rows if row["left_eye"]]
    assert len(with_face) > len(rows) // 2
    assert all(math.isfinite(float(row["eye_width_ratio"])) for row in with_face)


def test_cli_trace_digits_plots_mouth_voice_and_prompts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .videos import write_video

    clip = write_video(tmp_path / "noface.mp4", [i / 25 for i in range(30)])
    png = tmp_path / "d.png"
    assert main(["trace", str(clip), "--mode", "digits", "--expect-digits", "4729", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["trace", str(clip), "--plot", str(tmp_path / "no" / "dir.png")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "dir.png" in err and "Traceback" not in err


def test_demo_without_display_or_camera_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["demo", "--camera", "0"]) == 2
    assert "--headless" in capsys.readouterr().err
    assert main(["demo", "--camera", "97", "--headless"]) == 2
    err = capsys.readouterr().err
    assert "camera 97" in err and "Traceback" not in err


def test_demo_blink_prompts_are_checked_before_the_camera_opens(capsys: pytest.CaptureFixture[str]) -> None:
    """Out of range, or in digits mode: exit 2 naming the problem, and no camera is touched
    (camera 97 does not exist, so reaching it would say so instead)."""
    assert main(["demo", "--camera", "97", "--headless", "--blink-prompts", "6"]) == 2
    err = capsys.readouterr().err
    assert "blink prompts must be 0 to 5, not 6" in err and "camera 97" not in err and "Traceback" not in err
    assert main(["demo", "--camera", "97", "--headless", "--mode", "digits", "--blink-prompts", "1"]) == 2
    err = capsys.readouterr().err
    assert "blink prompts are for blink mode" in err and "camera 97" not in err
    assert main(["demo", "--camera", "97", "--headless", "--mouth-prompts", "4"]) == 2
    err = capsys.readouterr().err
    assert "mouth prompts must be 0 to 3, not 4" in err and "camera 97" not in err and "Traceback" not in err
    assert main(["demo", "--camera", "97", "--headless", "--mode", "digits", "--mouth-prompts", "1"]) == 2
    assert "blink prompts are for blink mode" in capsys.readouterr().err
    assert main(["demo", "--camera", "97", "--headless", "--turn-prompts", "-1"]) == 2
    err = capsys.readouterr().err
    assert "turn prompts must be 0 to 3, not -1" in err and "camera 97" not in err and "Traceback" not in err
    assert main(["demo", "--camera", "97", "--headless", "--mode", "digits", "--turn-prompts", "1"]) == 2
    assert "blink prompts are for blink mode" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["2", 2.0, True])
def test_demo_prompt_counts_must_be_whole_numbers(bad: object) -> None:
    """From Python, a count that is not an int is refused like one out of range (a string used
    to raise a TypeError from the comparison), before any camera is opened."""
    with pytest.raises(InputError, match="blink prompts must be 0 to 5"):
        run_demo(camera=97, headless=True, blink_prompts=bad)  # type: ignore[arg-type]


def test_import_extra_names_the_missing_package_and_the_extra() -> None:
    """A command whose extra is not installed fails with MISSING_DEPENDENCY and the pip line;
    any other missing module is a bug and stays a ModuleNotFoundError."""
    missing = "livecert_test_package_that_is_not_installed"
    with pytest.raises(ModelError) as info:
        import_extra(missing, extra="serve", needs=frozenset({missing}), what="livecert serve")
    assert info.value.code is ErrorCode.MISSING_DEPENDENCY
    assert missing in str(info.value) and "'livecert[serve]'" in str(info.value)
    with pytest.raises(ModuleNotFoundError):
        import_extra(missing, extra="serve", needs=frozenset({"fastapi"}), what="livecert serve")
