"""``livecert ledger`` on the command line: a clerk's day on a SQLite ledger, real verify() runs
on the synthetic sample clip (passes) and a tiny synthetic video without a face (fails)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from livecert.app import ledger_cli
from livecert.app.cli import main as livecert_main
from livecert.ledger.nonces import DatabaseNonceStore
from livecert.liveness.challenge import generate_key, load_key, new_blink_challenge, save_key

from .paths import SAMPLE
from .videos import write_video

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


def run(capsys: pytest.CaptureFixture[str], *argv: str, at: datetime = NOW) -> tuple[int, str, str]:
    code = ledger_cli.main(list(argv), clock=lambda: at)
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str, at: datetime = NOW) -> tuple[int, dict[str, object]]:
    code, out, _ = run(capsys, *argv, "--json", at=at)
    return code, json.loads(out)


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "ledger.sqlite")
    code, out, err = run(capsys, "init", "--db", path, "--lang", "zh")
    assert code == 0 and "已创建台账" in out, err
    return path


@pytest.fixture(scope="module")
def astronaut_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


def test_a_clerks_day(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], astronaut_photo: Path) -> None:
    common = ("--db", db, "--clerk", "clerk01")
    code, out, _ = run(
        capsys, "add-person", "P001", "--name", "王芳", "--benefit", "enterprise", "--region", "330100",
        "--registered", "2025-02-20", *common, "--lang", "zh",
    )  # fmt: skip
    assert code == 0 and "王芳" in out and "已逾期" in out  # due 2025-02-20 + 12 months
    code, info = run_json(capsys, "enroll", "P001", "--photo", str(astronaut_photo), *common)
    assert code == 0 and info["photo_sha256"] == hashlib.sha256(astronaut_photo.read_bytes()).hexdigest()

    # a recording without a face: a recorded, rejected attempt (exit 1), the person unchanged
    blank = write_video(tmp_path / "blank.mp4", [i / 15 for i in range(30)])
    code, rec = run_json(capsys, "certify", str(blank), "--person", "P001", *common)
    attempt = rec["attempt"]
    assert code == 1 and isinstance(attempt, dict) and attempt["decision"] == "rejected"
    assert "NO_FACE" in attempt["reason_codes"] and attempt["status_after"] == "overdue"

    code, counts = run_json(capsys, "suspend-overdue", "--on", "2026-03-01", *common)
    assert code == 0 and counts["suspended"] == [{"person_id": "P001", "suspended_from": "2026-03-01"}]

    # the sample clip, checked against the enrolled photo: certified, payments resume next month
    code, rec = run_json(capsys, "certify", str(SAMPLE), "--person", "P001", *common)
    attempt, result = rec["attempt"], rec["result"]
    assert code == 0 and isinstance(attempt, dict) and isinstance(result, dict)
    assert attempt["decision"] == "accepted" and attempt["status_before"] == "suspended"
    assert attempt["resumed_from"] == "2026-04-01" and attempt["back_pay_months"] == 1
    assert attempt["recording_sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert attempt["frame_sha256"] is not None and result["identity_passed"] is True

    code, out, _ = run(capsys, "status", "P001", *common, "--lang", "zh")
    assert code == 0 and "已认证" in out and "2027-03-01" in out and "恢复发放月" in out
    code, out, _ = run(capsys, "due", "--on", "2027-02-15", *common)
    assert code == 0 and "P001" in out and "due" in out
    code, out, _ = run(capsys, "audit", *common)
    assert code == 0 and "intact" in out
    code, out, _ = run(capsys, "export", "--csv", *common)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["person_id"] == "P001" and rows[0]["status"] == "certified"
    code, out, _ = run(capsys, "export", "--csv", "--what", "attempts", *common)
    assert [r["decision"] for r in csv.DictReader(io.StringIO(out))] == ["rejected", "accepted"]


def test_errors_are_clear_and_json_with_json(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "status", "NOBODY", "--db", db)
    assert code == 2 and out["error"]["code"] == "UNKNOWN_PERSON"  # type: ignore[index]
    code, out = run_json(capsys, "due", "--on", "01/03/2026", "--db", db)
    assert code == 2 and out["error"]["code"] == "BAD_DATE"  # type: ignore[index]
    code, _, err = run(capsys, "due", "--on", "2026-03-01")
    assert code == 2 and "--db" in err
    code, _, err = run(capsys, "record-offline", "NOBODY", "--channel", "bureau", "--db", db, "--lang", "zh")
    assert code == 2 and "--clerk" in err and "错误" in err
    code, _, err = run(capsys, "certify", str(SAMPLE), "--person", "NOBODY", "--db", db)
    assert code == 2 and "UNKNOWN_PERSON" not in err and "no person 'NOBODY'" in err
    bad = tmp_path / "policies.json"
    bad.write_text(
        json.dumps(
            {
                "format": "livecert-ledger-policies",
                "policies": [{"benefit_type": "enterprise", "cycle": "rolling", "period_months": -12}],
            }
        )
    )
    code, out = run_json(capsys, "init", "--db", str(tmp_path / "new.sqlite"), "--policies", str(bad))
    assert code == 2 and out["error"]["code"] == "BAD_POLICY"  # type: ignore[index]
    assert not (tmp_path / "new.sqlite").exists()  # nothing half-made
    code, out = run_json(capsys, "add-person", "P1", "--name", "x", "--benefit", "alien", "--region", "1", "--db", db)
    assert code == 2 and out["error"]["code"] == "BAD_ARGUMENT"  # type: ignore[index]


def test_offline_record_and_registration_through_livecert_main(
    db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        livecert_main(
            ["ledger", "add-person", "D1", "--name", "赵六", "--benefit", "dependant", "--region", "1", "--db", db]
        )
        == 0
    )
    capsys.readouterr()
    day = datetime.now(timezone.utc).date().isoformat()
    assert (
        livecert_main(["ledger", "record-offline", "D1", "--channel", "home_visit", "--clerk", "c7", "--db", db]) == 0
    )
    assert day[:4] in capsys.readouterr().out
    assert livecert_main(["ledger", "status", "--db", db, "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert sum(counts.values()) == 1
    key = tmp_path / "data.key"
    enc_db = str(tmp_path / "enc.sqlite")
    assert livecert_main(["ledger", "init", "--db", enc_db, "--encrypt", "--data-key", str(key)]) == 0
    assert key.stat().st_mode & 0o777 == 0o600


def test_a_challenge_is_spent_in_the_ledgers_own_table(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], astronaut_photo: Path
) -> None:
    """Without --nonce-db a challenge token is spent in the ledger database (the table
    ``livecert serve`` spends its challenges in): a second certification with it is a
    rejected attempt with CHALLENGE_REUSED."""
    common = ("--db", db, "--clerk", "clerk01")
    code, _, err = run(
        capsys,
        "add-person",
        "P002",
        "--name",
        "李明",
        "--registered",
        "2025-02-20",
        "--benefit",
        "enterprise",
        "--region",
        "330100",
        *common,
    )
    assert code == 0, err
    code, _, err = run(capsys, "enroll", "P002", "--photo", str(astronaut_photo), *common)
    assert code == 0, err
    key_file = tmp_path / "challenge.key"
    key = generate_key()
    save_key(key_file, key)
    challenge = new_blink_challenge()
    token = ("--challenge", challenge.to_token(key), "--challenge-key", str(key_file))
    blank = write_video(tmp_path / "blank.mp4", [i / 15 for i in range(30)])
    code, rec = run_json(capsys, "certify", str(blank), "--person", "P002", *token, *common)
    first = rec["attempt"]
    assert code == 1 and isinstance(first, dict) and "CHALLENGE_REUSED" not in first["reason_codes"]
    code, rec = run_json(capsys, "certify", str(blank), "--person", "P002", *token, *common)
    second = rec["attempt"]
    assert code == 1 and isinstance(second, dict) and "CHALLENGE_REUSED" in second["reason_codes"]
    with DatabaseNonceStore(db) as store:
        assert challenge.nonce in store.spent()


def test_verify_spends_a_challenge_in_a_ledger_database_url(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``livecert verify --nonce-db URL`` spends the challenge in the ledger database's table:
    the same token a second time is refused with CHALLENGE_REUSED."""
    key_file = tmp_path / "challenge.key"
    save_key(key_file, generate_key())
    token = new_blink_challenge().to_token(load_key(key_file))
    blank = write_video(tmp_path / "blank.mp4", [i / 15 for i in range(30)])
    argv = ["verify", str(blank), "--challenge", token, "--key-file", str(key_file), "--nonce-db", f"sqlite:///{db}"]
    assert livecert_main([*argv, "--json"]) == 1
    first = json.loads(capsys.readouterr().out)
    assert "CHALLENGE_REUSED" not in [r["code"] for r in first["reasons"]]
    assert livecert_main([*argv, "--json"]) == 1
    second = json.loads(capsys.readouterr().out)
    assert "CHALLENGE_REUSED" in [r["code"] for r in second["reasons"]]
    with DatabaseNonceStore(db) as store:
        assert first["meta"]["challenge_nonce"] in store.spent()
