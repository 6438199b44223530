"""Audit-ready results: the split verdict, the ``meta`` record, and the time limit of a camera."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np

import livecert
from livecert.config import Mode, SessionConfig, VerifyConfig
from livecert.identity.embedding import DLIB_RESNET_FILE, dlib_model_file
from livecert.io.frames import Frame, FrameSource, SourceInfo, SourceKind
from livecert.results import MatchResult, Reason, ReasonCode, Timings, VerificationResult
from livecert.session import audit
from livecert.session.steps import Guidance, StepMachine
from livecert.speech.vosk_model import VoskDigitRecogniser

from .paths import SAMPLE


def _result(codes: tuple[ReasonCode, ...], match: MatchResult | None) -> VerificationResult:
    return VerificationResult(
        passed=not codes,
        mode=Mode.BLINK,
        reasons=tuple(Reason(c) for c in codes),
        blinks=(),
        frames_total=10,
        frames_with_face=10,
        duration_s=1.0,
        timings=Timings(),
        match=match,
    )


def test_liveness_and_identity_verdicts_are_split() -> None:
    good, bad = MatchResult(True, 0.2, 0.365, 3), MatchResult(False, 0.5, 0.365, 3)
    cases = [
        ((), None, True, None),
        ((ReasonCode.NO_BLINK,), None, False, None),
        ((), good, True, True),
        ((ReasonCode.FACE_MISMATCH,), bad, True, False),
        ((ReasonCode.NO_BLINK, ReasonCode.FACE_MISMATCH), bad, False, False),
        ((ReasonCode.TOO_DARK,), good, False, True),
    ]
    for codes, match, live, identity in cases:
        r = _result(codes, match)
        assert (r.liveness_passed, r.identity_passed) == (live, identity), codes
        d = r.to_dict()
        assert (d["liveness_passed"], d["identity_passed"]) == (live, identity)
        assert r.passed == (live and identity is not False)


def test_verify_fills_the_audit_record() -> None:
    result = livecert.verify(SAMPLE)
    meta = result.meta
    assert meta is not None and meta.livecert_version == livecert.__version__
    assert meta.input_sha256 == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert meta.challenge_nonce is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", meta.checked_at)
    checked = datetime.fromisoformat(meta.checked_at.replace("Z", "+00:00"))
    assert abs(checked.timestamp() - datetime.now().timestamp()) < 120
    ids = [m.id for m in meta.models]
    assert ids == ["face_landmark_with_attention", "face_detection_short_range"]
    assert all(m.sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", m.sha256) for m in meta.models)
    assert all(m.package.startswith("mediapipe==") for m in meta.models)
    assert result.to_dict()["meta"]["input_sha256"] == meta.input_sha256
    assert audit.face_models() is audit.face_models()  # hashed once per process


def test_descriptor_model_hash() -> None:
    info = audit.descriptor_model()
    assert info.id == "dlib_face_recognition_resnet_model_v1"
    assert info.package.startswith("face_recognition_models==") and " on onnxruntime==" in info.package
    assert info.sha256 == hashlib.sha256(dlib_model_file(DLIB_RESNET_FILE).read_bytes()).hexdigest()


def blank_frames(n: int = 30) -> Iterator[tuple[np.ndarray, float]]:
    return ((np.full((120, 160, 3), 90, np.uint8), i / 20) for i in range(n))


def test_digits_meta_has_the_nonce_and_frames_no_hash() -> None:
    key = livecert.generate_key()
    challenge = livecert.new_challenge(4)
    options = livecert.ChallengeOptions(challenge.to_token(key), key=key)
    result = livecert.verify(blank_frames(), mode="digits", challenge=options)
    assert result.meta is not None
    assert result.meta.challenge_nonce == challenge.nonce
    assert result.meta.input_sha256 is None  # frames, not a file
    assert result.meta.models[-1].id == "recogniser:EnglishDigitRecogniser"
    assert audit.challenge_nonce(livecert.ChallengeOptions("garbled.token", key=key)) is None


def test_meta_names_the_recogniser_that_checked_the_digits(tmp_path: Path) -> None:
    """No recogniser is listed when the content is not checked; a Vosk model is named by its folder."""
    key = livecert.generate_key()
    token = livecert.new_challenge(4).to_token(key)
    unchecked = livecert.ChallengeOptions(token, key=key, check_content=False)
    meta = audit.result_meta(
        checked_at="2026-01-01T00:00:00.000Z", mode=Mode.DIGITS, enrolled=False, challenge=unchecked, input_sha256=None
    )
    assert not any(m.id.startswith("recogniser:") for m in meta.models)

    model = tmp_path / "vosk-model-small-cn-0.22"
    for rel in ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf", "graph/HCLG.fst"):
        (model / rel).parent.mkdir(parents=True, exist_ok=True)
        (model / rel).write_bytes(b"x")
    vosk = VoskDigitRecogniser(model)
    checked = livecert.ChallengeOptions(token, key=key, recogniser=vosk)
    meta = audit.result_meta(
        checked_at="2026-01-01T00:00:00.000Z", mode=Mode.DIGITS, enrolled=False, challenge=checked, input_sha256=None
    )
    assert meta.models[-1].id == "recogniser:VoskDigitRecogniser:vosk-model-small-cn-0.22"
    assert meta.models[-1].package.startswith("vosk")


class FakeCamera(FrameSource):
    """A camera that never stops: grey frames at 20 fps on its own clock."""

    def __init__(self) -> None:
        super().__init__(SourceInfo(name="camera:fake", kind=SourceKind.CAMERA))
        self.read = 0

    def _frames(self) -> Iterator[Frame]:
        i = 0
        while True:
            self.read += 1
            yield Frame(np.full((120, 160, 3), 90, np.uint8), 5.0 + i / 20, i)
            i += 1


def test_verify_on_a_camera_stops_at_the_time_limit() -> None:
    camera = FakeCamera()
    config = VerifyConfig(session=SessionConfig(camera_limit_s=2.0))
    result = livecert.verify(camera, config=config)
    assert result.frames_total == camera.read == 41  # 0 to 2.0 s of camera time
    assert result.passed is False and "NO_FACE" in result.reason_codes
    assert result.meta is not None and result.meta.input_sha256 is None
    assert SessionConfig().camera_limit_s == 30.0


def test_progress_never_goes_back() -> None:
    """A retry used to drop the bar from 0.70 to 0.30."""
    cfg = SessionConfig(face_ok_s=0.0, blink_step_s=1.0, action_retries=2, progress_every_s=0.1)
    machine = StepMachine(Mode.BLINK, cfg, live=True, action_limit_s=1.0, prompt=lambda _elapsed: "")
    progress, codes = [], []
    t = 0.0
    while not machine.finished:
        flags = 1 if 1.2 < t < 1.5 else 0  # a face lost for a moment changes nothing either
        update = machine.advance(t, flags, lambda _t, _start: (False, 0.0))
        progress.append(update.progress)
        codes.append(update.guidance)
        t += 0.05
    assert Guidance.TRY_AGAIN in codes and codes[-1] is Guidance.TIMEOUT
    assert all(b >= a for a, b in zip(progress, progress[1:])), progress
    assert math.isclose(max(progress[:-1]), 0.9, abs_tol=0.05)


def test_no_blink_message_fits_too_few_blinks() -> None:
    en = ReasonCode.NO_BLINK.message_en
    assert "No blink" not in en and "blink" in en
    assert "请" in ReasonCode.NO_BLINK.message_zh
    fm = ReasonCode.FACE_MISMATCH
    assert "try again" in fm.message_en and "enrollment photo" in fm.message_en and "重新" in fm.message_zh
