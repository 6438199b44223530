"""What the ledger takes and gives back: plain frozen dataclasses, no database types."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from livecert.config import Mode
from livecert.ledger.policy import BenefitType, Channel, Decision, Status
from livecert.ledger.rules import PersonState, status_on


@dataclass(frozen=True)
class LedgerSettings:
    """A ledger's settings, fixed when it is created (``settings`` table).

    Attributes
    ----------
    time_zone : str
        IANA zone in which times become certification dates (default ``"Asia/Shanghai"``).
    keep_frames : bool
        Store the best face frame of each online attempt (as JPEG) for a clerk to look at.
    frame_retention_days : int
        ``purge-frames`` deletes stored frames older than this (the attempt keeps the frame's
        SHA-256).
    key_id : str or None
        The id of the key templates and frames are encrypted with; None: stored unencrypted.
    """

    time_zone: str = "Asia/Shanghai"
    keep_frames: bool = True
    frame_retention_days: int = 730
    key_id: str | None = None


@dataclass(frozen=True)
class NewPerson:
    """A person to register (:meth:`~livecert.ledger.store.Ledger.add_person`).

    Attributes
    ----------
    id : str
        The pension account number or another stable id (1 to 64 characters, no spaces).
    name : str
    benefit_type : BenefitType
    region : str
        Region code; selects the region's own policy when there is one.
    registered_on : date
        When the benefit was granted in person: counts as the first certification.
    """

    id: str
    name: str
    benefit_type: BenefitType
    region: str
    registered_on: date


@dataclass(frozen=True)
class PersonRecord:
    """A person as the ledger holds them.

    Attributes
    ----------
    id, name, region : str
    benefit_type : BenefitType
    registered_on : date
    state : PersonState
        Last certification, deadline and suspension.
    policy : tuple of (BenefitType, str, int)
        The policy version that set the deadline: (benefit type, region, version).
    enrolled : bool
        A face template is stored.
    template_sha256, photo_sha256 : str or None
        SHA-256 of the stored enrollment (before encryption) and of the photo it came from.
    enrolled_at : datetime or None
    encrypted : bool
        The template is encrypted at rest.
    row_version : int
        1 when registered, one more per change.
    """

    id: str
    name: str = field(repr=False)
    benefit_type: BenefitType
    region: str
    registered_on: date
    state: PersonState
    policy: tuple[BenefitType, str, int]
    enrolled: bool
    template_sha256: str | None
    photo_sha256: str | None
    enrolled_at: datetime | None
    encrypted: bool
    row_version: int

    def status_on(self, on: date) -> Status:
        return status_on(self.state, on)


@dataclass(frozen=True)
class AttemptInput:
    """One certification attempt to record (:meth:`~livecert.ledger.store.Ledger.record_attempt`).

    Attributes
    ----------
    channel : Channel
    passed : bool
        Online: :attr:`livecert.VerificationResult.passed`.  Offline: True (a clerk saw the
        person; a failed offline visit is not recorded as a certification).
    at : datetime or None
        When it happened (with a time zone); None: now, by the ledger's clock.
    on_date : date or None
        The certification date, for an offline record typed in later; None: ``at``'s date in
        the ledger's time zone.
    mode : Mode or None
        Online: what the person did.
    result_json : str or None
        Online: ``json.dumps(result.to_dict())``, stored as given.
    reason_codes : tuple of str
    challenge_id : str or None
        The challenge's nonce (``result.meta.challenge_nonce``).
    recording_sha256 : str or None
        SHA-256 of the uploaded recording.
    frame_jpeg : bytes or None
        The best face frame, JPEG (kept when the ledger keeps frames).
    recorded_by : str or None
        The clerk who saw the person (required offline).
    note : str or None
        Offline: where (no personal data).
    attempt_uuid : str
        Idempotency key: recording the same attempt twice stores it once.
    """

    channel: Channel
    passed: bool
    at: datetime | None = None
    on_date: date | None = None
    mode: Mode | None = None
    result_json: str | None = field(default=None, repr=False)
    reason_codes: tuple[str, ...] = ()
    challenge_id: str | None = None
    recording_sha256: str | None = None
    frame_jpeg: bytes | None = field(default=None, repr=False)
    recorded_by: str | None = None
    note: str | None = None
    attempt_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class AttemptRecord:
    """A recorded attempt and what it changed.

    Attributes
    ----------
    id : int
        Attempt number (grows by one per attempt in the ledger).
    attempt_uuid, person_id : str
    at : datetime
    on_date : date
    channel : Channel
    recorded_by : str or None
    mode : Mode or None
    decision : Decision
    reason_codes : tuple of str
    status_before, status_after : Status
        On ``on_date``.
    due_before, due_after : date
        The deadline before and after (equal unless the attempt was a certification).
    resumed_from : date or None
        First day of the month payments resume (a suspended person's certification).
    back_pay_months : int
    recording_sha256, frame_sha256, challenge_id : str or None
    duplicate : bool
        True when this attempt had been recorded before (same ``attempt_uuid``): nothing was
        written this time.
    """

    id: int
    attempt_uuid: str
    person_id: str
    at: datetime
    on_date: date
    channel: Channel
    recorded_by: str | None
    mode: Mode | None
    decision: Decision
    reason_codes: tuple[str, ...]
    status_before: Status
    status_after: Status
    due_before: date
    due_after: date
    resumed_from: date | None
    back_pay_months: int
    recording_sha256: str | None
    frame_sha256: str | None
    challenge_id: str | None
    duplicate: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "attempt_uuid": self.attempt_uuid,
            "person_id": self.person_id,
            "at": self.at.isoformat(),
            "on_date": self.on_date.isoformat(),
            "channel": self.channel.value,
            "recorded_by": self.recorded_by,
            "mode": None if self.mode is None else self.mode.value,
            "decision": self.decision.value,
            "reason_codes": list(self.reason_codes),
            "status_before": self.status_before.value,
            "status_after": self.status_after.value,
            "due_before": self.due_before.isoformat(),
            "due_after": self.due_after.isoformat(),
            "resumed_from": None if self.resumed_from is None else self.resumed_from.isoformat(),
            "back_pay_months": self.back_pay_months,
            "recording_sha256": self.recording_sha256,
            "frame_sha256": self.frame_sha256,
            "challenge_id": self.challenge_id,
            "duplicate": self.duplicate,
        }


@dataclass(frozen=True)
class PaymentEvent:
    """Payments suspended or resumed.

    Attributes
    ----------
    kind : str
        ``"suspended"`` or ``"resumed"``.
    on_date : date
        When it was recorded (suspension) or the certification date (resumption).
    effective_month : date
        First day of the first month not paid (suspended) or paid again (resumed).
    back_pay_from : date or None
        First month paid back (resumed with back pay).
    back_pay_months, unpaid_months : int
    attempt_id : int or None
        The certification that resumed payments.
    """

    kind: str
    on_date: date
    effective_month: date
    back_pay_from: date | None
    back_pay_months: int
    unpaid_months: int
    attempt_id: int | None


@dataclass(frozen=True)
class DueRow:
    """One line of the due list."""

    person_id: str
    name: str = field(repr=False)
    benefit_type: BenefitType
    region: str
    due_from: date
    due_on: date
    status: Status


@dataclass(frozen=True)
class SuspensionReport:
    """What :meth:`~livecert.ledger.store.Ledger.suspend_overdue` did.

    Attributes
    ----------
    on : date
    suspended : tuple of (str, date)
        Person id and the first month not paid, for each person suspended now.
    """

    on: date
    suspended: tuple[tuple[str, date], ...]


@dataclass(frozen=True)
class PersonReport:
    """A person, their status on a date, their attempts and payment events."""

    person: PersonRecord
    on: date
    status: Status
    attempts: tuple[AttemptRecord, ...]
    payments: tuple[PaymentEvent, ...]
