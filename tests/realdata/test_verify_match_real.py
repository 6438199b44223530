"""verify() with an enrolled photo: identity and liveness decided together."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import livecert
from livecert.app.cli import main


@pytest.fixture(scope="module")
def zju(data_dir: Path) -> dict[str, Path]:
    root = data_dir / "videos" / "zju_eyeblink"
    stills = data_dir / "photos" / "same_person" / "derived_frames"
    return {
        "clip": next(root.glob("*/000003M_FBN.avi")),
        "own": next(stills.glob("zju_000003M_*.png")),
        "other": next(stills.glob("zju_000007M_*.png")),
    }


def test_genuine_pair_passes(zju: dict[str, Path]) -> None:
    result = livecert.verify(zju["clip"], enrolled=zju["own"])
    assert result.passed, result.reason_codes
    assert result.match is not None and result.match.passed and result.match.frames_used >= 3
    assert result.timings.match is not None and result.timings.match > 0


def test_impostor_fails_with_face_mismatch_even_when_live(zju: dict[str, Path]) -> None:
    result = livecert.verify(zju["clip"], enrolled=zju["other"])
    assert not result.passed
    assert result.reason_codes == ("FACE_MISMATCH",)  # the blink check itself passed
    assert result.match.distance > result.match.threshold


def test_cli_enroll_then_verify_json(zju: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    npz = tmp_path / "pensioner.npz"
    assert main(["enroll", str(zju["own"]), "--out", str(npz)]) == 0
    capsys.readouterr()
    assert main(["verify", str(zju["clip"]), "--enrolled", str(npz), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["match"]) == {"passed", "distance", "threshold", "policy", "frames_used"}
    assert data["match"]["policy"] == "default"
    assert data["match"]["passed"] is True and "match" in data["timings_ms"]


def test_cli_enroll_refuses_two_faces(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["enroll", str(data_dir / "photos" / "impostors" / "two_people.jpg"), "--out", str(tmp_path / "x.npz")])
        == 2
    )
    err = capsys.readouterr().err
    assert "more than one face" in err.lower() and "Traceback" not in err


def test_cli_enroll_from_a_video(zju: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The subject's frontal clip (the one the still was taken from) enrolls them; their
    black-glasses clip then passes, and another subject's still does not match the template."""
    fnn = next(zju["clip"].parent.parent.glob("*/000003M_FNN.avi"))
    npz = tmp_path / "from_video.npz"
    assert main(["enroll", str(fnn), "--out", str(npz)]) == 0
    e = livecert.Enrollment.load(npz)
    assert 3 <= e.n_photos <= livecert.MatchConfig().enroll_max_photos
    assert main(["verify", str(zju["clip"]), "--enrolled", str(npz), "--json"]) == 0
    other = livecert.enroll(zju["other"])
    assert np.linalg.norm(other.embedding - e.embedding) > livecert.MatchConfig().threshold
    capsys.readouterr()
    assert main(["enroll", str(fnn), str(zju["own"]), "--out", str(npz)]) == 2
    assert "one video or from photos" in capsys.readouterr().err
