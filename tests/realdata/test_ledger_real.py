"""The ledger certifies a real recording: a ZJU subject's clip against a photo of them."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from pathlib import Path

import livecert
from livecert.ledger.policy import BenefitType, Decision, Status, default_policies
from livecert.ledger.records import NewPerson
from livecert.ledger.store import Ledger


def test_certify_a_zju_clip_against_its_enrolment_photo(data_dir: Path, tmp_path: Path) -> None:
    clip = next((data_dir / "videos" / "zju_eyeblink").glob("*/000003M_FBN.avi"))
    own = next((data_dir / "photos" / "same_person" / "derived_frames").glob("zju_000003M_*.png"))
    other = next((data_dir / "photos" / "same_person" / "derived_frames").glob("zju_000007M_*.png"))
    now = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    with Ledger.create(tmp_path / "ledger.sqlite", policies=default_policies(), clock=lambda: now) as ledger:
        ledger.add_persons(
            [
                NewPerson("Z03", "ZJU 3", BenefitType.ENTERPRISE, "330100", date(2025, 1, 10)),
                NewPerson("Z07", "ZJU 7", BenefitType.ENTERPRISE, "330100", date(2025, 1, 10)),
            ]
        )
        ledger.enroll("Z03", livecert.enroll(own), photo_sha256=hashlib.sha256(own.read_bytes()).hexdigest())
        ledger.enroll("Z07", livecert.enroll(other))
        ledger.suspend_overdue(date(2026, 3, 1))

        genuine = ledger.certify("Z03", clip)
        assert genuine.decision is Decision.ACCEPTED, genuine.reason_codes
        assert (genuine.status_before, genuine.status_after) == (Status.SUSPENDED, Status.CERTIFIED)
        assert genuine.resumed_from == date(2026, 4, 1) and genuine.back_pay_months == 2  # February and March
        assert genuine.recording_sha256 == hashlib.sha256(clip.read_bytes()).hexdigest()
        assert genuine.frame_sha256 is not None and ledger.frame(genuine.id) is not None

        impostor = ledger.certify("Z07", clip)  # someone else's recording: a rejected attempt
        assert impostor.decision is Decision.REJECTED and impostor.reason_codes == ("FACE_MISMATCH",)
        assert ledger.person("Z07").status_on(date(2026, 3, 1)) is Status.SUSPENDED
        assert ledger.audit().intact
