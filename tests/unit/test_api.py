"""Public API, results, config and the command line, without real recordings."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import numpy as np
import pytest

import livecert
from livecert.app.cli import main
from livecert.errors import InputError


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
    assert d["frames"] == {"total": 40, "with_face": 0}
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
    err = capsys.readouterr().err
    assert "missing.mp4" in err and "no such file" in err and "Traceback" not in err
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    assert main(["verify", str(empty), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "empty" in captured.err


def test_cli_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["trace", "x.mp4"])
    assert exc.value.code == 2


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
    assert lines[0].startswith("t_s,faces,left_eye,right_eye,inner_lip_gap,outer_lip_height")
    assert len(lines) == 31 and "NO_FACE" in lines[1]
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
