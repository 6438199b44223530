"""What a worker process runs: :func:`livecert.verify` on an upload, enrollment of a photo.

Jobs and outcomes are frozen dataclasses of plain values, pickled to and from the process
pool (:mod:`livecert.serve.pool`).  A worker never raises for a bad recording: a
:class:`~livecert.errors.LivecertError` comes back as :class:`JobError`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from livecert.config import LimitsConfig, Mode, VerifyConfig
from livecert.errors import LivecertError
from livecert.identity.enrollment import Enrollment, enroll
from livecert.ledger.certify import attempt_from_result
from livecert.ledger.nonces import DatabaseNonceStore
from livecert.ledger.records import AttemptInput
from livecert.liveness.digits import ChallengeOptions
from livecert.memory import release_free_memory
from livecert.session.verify import verify


@dataclass(frozen=True)
class JobError:
    """A :class:`~livecert.errors.LivecertError` raised in the worker.

    Attributes
    ----------
    code : str
        Its ``ErrorCode`` value.
    message_en, message_zh : str
    """

    code: str
    message_en: str
    message_zh: str

    @classmethod
    def of(cls, exc: LivecertError) -> JobError:
        return cls(exc.code.value, exc.message_in("en"), exc.message_in("zh"))


@dataclass(frozen=True)
class VerifyJob:
    """One recording to check.

    Attributes
    ----------
    data : bytes
        The uploaded recording.
    mode : Mode
    lang : str
        Language of the result's messages (``"en"`` or ``"zh"``).
    challenge_token : str or None
        The session's signed challenge (None: blink mode without prompts).
    key : bytes
        The key that signed it.
    db : str
        The ledger database (SQLite file or ``postgresql://`` URL) whose ``used_nonces`` table
        spends the challenge (:class:`~livecert.ledger.nonces.DatabaseNonceStore`, one per
        worker process and database).
    enrollment : Enrollment or None
        The person's enrolled face.
    limits : LimitsConfig
    attempt : bool
        Also build the ledger attempt (the session is bound to a person).
    keep_frame : bool
        Keep the best face frame in that attempt.
    """

    data: bytes
    mode: Mode
    lang: str
    challenge_token: str | None
    key: bytes
    db: str
    enrollment: Enrollment | None
    limits: LimitsConfig
    attempt: bool = False
    keep_frame: bool = False


@dataclass(frozen=True)
class VerifyOutcome:
    """What :func:`run_verify` returns: the result JSON text (exactly ``livecert verify --json``'s
    object) and, for a person's session, the ledger attempt; or the error.

    Attributes
    ----------
    result_json : str or None
    passed : bool
    attempt : AttemptInput or None
    error : JobError or None
    pid : int
        The worker process that ran it.
    """

    result_json: str | None
    passed: bool
    attempt: AttemptInput | None
    error: JobError | None
    pid: int


@dataclass(frozen=True)
class EnrollJob:
    """A photo to enroll (JPEG or PNG bytes)."""

    photo: bytes
    suffix: str


@dataclass(frozen=True)
class EnrollOutcome:
    """The enrollment, or the photo's problem (``NO_FACE``, ``BLURRY``, ...)."""

    enrollment: Enrollment | None
    error: JobError | None


#: This worker process's single-use stores, by database (opened once: an engine and its pool).
_NONCE_STORES: dict[str, DatabaseNonceStore] = {}


def _nonce_store(db: str) -> DatabaseNonceStore:
    store = _NONCE_STORES.get(db)
    if store is None:
        store = _NONCE_STORES[db] = DatabaseNonceStore(db)
    return store


def run_verify(job: VerifyJob) -> VerifyOutcome:
    """Check one upload with :func:`livecert.verify` (in a worker process).

    What the check freed is given back to the system afterwards, failed or not
    (:func:`~livecert.memory.release_free_memory`).
    """
    try:
        return _verify(job)
    finally:
        release_free_memory()


def _verify(job: VerifyJob) -> VerifyOutcome:
    try:
        options = None
        if job.challenge_token is not None:
            options = ChallengeOptions(job.challenge_token, key=job.key, nonce_store=_nonce_store(job.db))
        result = verify(
            job.data,
            mode=job.mode,
            enrolled=job.enrollment,
            config=VerifyConfig(limits=job.limits),
            challenge=options,
        )
        attempt = attempt_from_result(result, job.data, keep_frame=job.keep_frame) if job.attempt else None
    except LivecertError as exc:
        return VerifyOutcome(None, False, None, JobError.of(exc), os.getpid())
    text = json.dumps(result.to_dict(lang=job.lang), ensure_ascii=False)
    return VerifyOutcome(text, result.passed, attempt, None, os.getpid())


def run_enroll(job: EnrollJob) -> EnrollOutcome:
    """Enroll the face of one photo (in a worker process)."""
    with tempfile.TemporaryDirectory(prefix="livecert-enroll-") as folder:
        path = Path(folder) / f"photo{job.suffix}"
        path.write_bytes(job.photo)
        try:
            return EnrollOutcome(enroll(path), None)
        except LivecertError as exc:
            return EnrollOutcome(None, JobError.of(exc))
