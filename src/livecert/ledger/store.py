"""The :class:`Ledger`: every read and write of the certification ledger.

Each change is one transaction that locks what it changes, applies the pure rules
(:mod:`livecert.ledger.rules`), writes the rows and appends their hashes to the audit chain
before it commits: a failure anywhere leaves nothing behind.  The suspension batch
(:meth:`Ledger.suspend_overdue`) is set-based SQL in transactions of some thousands of people
each: an interrupted run leaves whole batches, and a second run finishes the job.  Two
certifications of the same person at once are two attempts, applied one after the other to
the person's latest state (PostgreSQL: ``SELECT ... FOR UPDATE`` on the person; SQLite: one
writer at a time).

Times come from the ``clock`` given to :meth:`Ledger.open` (UTC by default) and become
certification dates in the ledger's time zone.  Nothing here logs a person's name or id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from livecert.config import Mode, VerifyConfig
from livecert.errors import ErrorCode, InputError, LivecertError
from livecert.identity.enrollment import Enrollment
from livecert.ledger import rules
from livecert.ledger.audit import (
    AuditAction,
    AuditReport,
    AuditWriter,
    init_head,
    row_hash,
    row_hasher,
    verify_ledger,
)
from livecert.ledger.certify import attempt_from_result
from livecert.ledger.crypto import DataKey
from livecert.ledger.db import database_url, make_engine, migrate, safe_name, write_transaction
from livecert.ledger.policy import BenefitType, Channel, Decision, Policy, PolicySet, Status, policies_from_json
from livecert.ledger.records import (
    AttemptInput,
    AttemptRecord,
    DueRow,
    LedgerSettings,
    NewPerson,
    PaymentEvent,
    PersonRecord,
    PersonReport,
    SuspensionReport,
)
from livecert.ledger.rules import PersonState
from livecert.ledger.schema import attempt_frames, attempts, payment_events, persons, policies, settings as settings_t
from livecert.liveness.digits import ChallengeOptions
from livecert.session.verify import verify

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_T = TypeVar("_T")

_MAX_ID = 64

#: Person ids per transaction of :meth:`Ledger.suspend_overdue` (default).
SUSPEND_BATCH = 20_000
_MAX_BATCH = 100_000
#: Ids per ``IN (...)`` list (SQLite takes at most 32,766 parameters in one statement).
_IN_LIST = 20_000
_BENEFITS = {b.value: b for b in BenefitType}
_PERSON_COLUMNS = tuple(c.name for c in persons.columns)
_EVENT_COLUMNS = (
    "person_id",
    "kind",
    "at",
    "on_date",
    "effective_month",
    "back_pay_from",
    "back_pay_months",
    "unpaid_months",
    "attempt_id",
    "policy_id",
    "actor",
)


@dataclass(frozen=True)
class _Overdue:
    """Deadlines under one policy whose first unpaid month is ``month``."""

    policy_id: int
    policy: Policy
    month: date
    first_due: date
    last_due: date


class LedgerError(LivecertError, RuntimeError):
    """The ledger's database cannot be opened, read or written (``LEDGER_UNAVAILABLE``), or
    was written by a newer livecert (``LEDGER_VERSION``)."""

    default_code = ErrorCode.LEDGER_UNAVAILABLE


def utc_now() -> datetime:
    """The current time, UTC (the default clock)."""
    return datetime.now(timezone.utc)


def _utc(at: datetime) -> datetime:
    if not isinstance(at, datetime):
        given = type(at).__name__
        raise InputError(f"give the time as an aware datetime.datetime, not {given}", code=ErrorCode.BAD_DATE)
    if at.tzinfo is None:
        raise InputError(f"time {at.isoformat()} has no time zone; give an aware datetime", code=ErrorCode.BAD_DATE)
    return at.astimezone(timezone.utc)


def _check_id(text: str, what: str) -> str:
    if not isinstance(text, str) or not 1 <= len(text) <= _MAX_ID or not text.isprintable() or " " in text:
        raise InputError(
            f"{what} {text!r} must be 1 to {_MAX_ID} printable characters without spaces", code=ErrorCode.BAD_ARGUMENT
        )
    return text


class Ledger:
    """A certification ledger in a SQLite file or a PostgreSQL database.

    Open one with :meth:`create` (a new ledger) or :meth:`open`; close it with
    :meth:`close` (or use it as a context manager).  One instance may be shared by threads.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    settings : LedgerSettings
    key : DataKey or None
    clock : callable returning datetime
    """

    def __init__(self, engine: sa.Engine, settings: LedgerSettings, key: DataKey | None, clock: Clock) -> None:
        self._engine = engine
        self.settings = settings
        self._key = key
        self._clock = clock
        self._zone = ZoneInfo(settings.time_zone)
        self._policies: tuple[int, PolicySet, dict[tuple[BenefitType, str, int], int]] | None = None

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(
        cls,
        target: str | Path,
        *,
        policies: PolicySet,
        settings: LedgerSettings | None = None,
        key: DataKey | None = None,
        clock: Clock = utc_now,
        actor: str = "system",
    ) -> Ledger:
        """Create the schema, store the settings and load the policies.

        Parameters
        ----------
        target : str or Path
            A SQLite file path (created) or a ``postgresql://`` URL (the database must exist).
        policies : PolicySet
            E.g. :func:`~livecert.ledger.policy.default_policies`.
        settings : LedgerSettings, optional
            ``key_id`` is taken from ``key``.
        key : DataKey, optional
            Encrypt face templates and frames with this key (it is needed to read them).

        Raises
        ------
        InputError
            ``BAD_ARGUMENT``: the ledger exists already, or the time zone is unknown.
        LedgerError
            The database cannot be reached or written.
        """
        settings = replace(settings or LedgerSettings(), key_id=None if key is None else key.key_id)
        try:
            ZoneInfo(settings.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(
                f"unknown time zone {settings.time_zone!r}; give an IANA name such as Asia/Shanghai",
                code=ErrorCode.BAD_ARGUMENT,
            ) from None
        if settings.frame_retention_days < 0:
            raise InputError("frame_retention_days must be 0 or more", code=ErrorCode.BAD_ARGUMENT)
        url = database_url(target)
        engine = make_engine(url)
        with _opening(url):
            migrate(engine)
            ledger = cls(engine, settings, key, clock)
            with ledger._write() as conn:
                if conn.execute(sa.select(sa.func.count()).select_from(settings_t)).scalar():
                    engine.dispose()
                    raise InputError(
                        f"{safe_name(url)} is a ledger already; open it instead of creating it",
                        code=ErrorCode.BAD_ARGUMENT,
                    )
                init_head(conn)
                audit = AuditWriter(conn)
                now = ledger._now()
                for k, v in _settings_rows(settings).items():
                    row = {"key": k, "value": v}
                    conn.execute(sa.insert(settings_t).values(row))
                    audit.append(
                        at=now,
                        actor=actor,
                        action=AuditAction.SETTING,
                        entity="settings",
                        key=k,
                        row_sha256=row_hash(settings_t, row),
                    )
                ledger._insert_policies(conn, audit, policies, now, actor)
                audit.flush()
        return ledger

    @classmethod
    def open(cls, target: str | Path, *, key: DataKey | None = None, clock: Clock = utc_now) -> Ledger:
        """Open an existing ledger (upgrading its schema if this livecert is newer).

        Raises
        ------
        InputError
            ``FILE_NOT_FOUND``: no such SQLite file; ``BAD_ARGUMENT``: not a ledger;
            ``LEDGER_KEY``: ``key`` is not the ledger's key; ``LEDGER_VERSION``.
        LedgerError
            The database cannot be reached.
        """
        url = database_url(target)
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
            raise InputError(
                f"{url.database}: no ledger there; create one with `livecert ledger init`",
                code=ErrorCode.FILE_NOT_FOUND,
            )
        engine = make_engine(url)
        with _opening(url):
            migrate(engine)
            with engine.connect() as conn:
                rows = {r.key: r.value for r in conn.execute(sa.select(settings_t))}
        if "time_zone" not in rows:
            engine.dispose()
            raise InputError(
                f"{safe_name(url)} is not a livecert ledger; create one with `livecert ledger init`",
                code=ErrorCode.BAD_ARGUMENT,
            )
        stored = LedgerSettings(
            time_zone=rows["time_zone"],
            keep_frames=rows.get("keep_frames", "true") == "true",
            frame_retention_days=int(rows.get("frame_retention_days", "730")),
            key_id=rows.get("key_id") or None,
        )
        if key is not None and stored.key_id != key.key_id:
            engine.dispose()
            raise InputError(
                "this key is not the ledger's key "
                + (
                    "(the ledger stores templates unencrypted)"
                    if stored.key_id is None
                    else f"(it needs {stored.key_id})"
                ),
                code=ErrorCode.LEDGER_KEY,
            )
        return cls(engine, stored, key, clock)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def local_date(self, at: datetime) -> date:
        """``at``'s calendar date in the ledger's time zone."""
        return _utc(at).astimezone(self._zone).date()

    def today(self) -> date:
        """Today in the ledger's time zone, by its clock."""
        return self.local_date(self._now())

    # ------------------------------------------------------------------ policies

    def policies(self) -> PolicySet:
        """Every stored policy version."""
        with self._read() as conn:
            return self._policy_cache(conn)[1]

    def load_policies(self, new: PolicySet, *, actor: str = "system") -> int:
        """Store the policy versions not stored yet; how many.

        Raises
        ------
        InputError
            ``BAD_POLICY``: a version is stored already with other rules (give the change a
            new version: stored versions never change).
        """
        with self._write() as conn:
            audit = AuditWriter(conn)
            added = self._insert_policies(conn, audit, new, self._now(), actor)
            audit.flush()
        return added

    def _insert_policies(
        self, conn: sa.Connection, audit: AuditWriter, new: PolicySet, now: datetime, actor: str
    ) -> int:
        stored = {(r.benefit_type, r.region, r.version): r.sha256 for r in conn.execute(sa.select(policies))}
        added = 0
        for p in new.all():
            key = (p.benefit_type.value, p.region, p.version)
            if key in stored:
                if stored[key] != p.sha256():
                    raise InputError(
                        f"policy {p.benefit_type}/{p.region} v{p.version} is stored already with other rules; "
                        "give the change a new version and a later effective_from",
                        code=ErrorCode.BAD_POLICY,
                    )
                continue
            row = {
                "benefit_type": p.benefit_type.value,
                "region": p.region,
                "version": p.version,
                "effective_from": p.effective_from,
                "body": p.canonical_json(),
                "sha256": p.sha256(),
                "loaded_at": now,
            }
            row["id"] = conn.execute(sa.insert(policies).values(row).returning(policies.c.id)).scalar_one()
            audit.append(
                at=now,
                actor=actor,
                action=AuditAction.POLICY_LOADED,
                entity="policies",
                key=row["id"],
                row_sha256=row_hash(policies, row),
                detail={"policy": f"{p.benefit_type}/{p.region}/v{p.version}"},
            )
            added += 1
        return added

    def _policy_cache(self, conn: sa.Connection) -> tuple[int, PolicySet, dict[tuple[BenefitType, str, int], int]]:
        top = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(policies.c.id), 0))).scalar_one())
        if self._policies is None or self._policies[0] != top:
            rows = conn.execute(sa.select(policies.c.id, policies.c.body)).all()
            body = json.dumps({"format": "livecert-ledger-policies", "policies": [json.loads(r.body) for r in rows]})
            pset = policies_from_json(body, "the ledger's policies table")
            ids = {}
            for r in rows:
                p = Policy.from_dict(json.loads(r.body))
                ids[p.key] = int(r.id)
            self._policies = (top, pset, ids)
        return self._policies

    def _policy_for(self, conn: sa.Connection, benefit_type: BenefitType, region: str, on: date) -> tuple[Policy, int]:
        _, pset, ids = self._policy_cache(conn)
        p = pset.in_force(benefit_type, region, on)
        return p, ids[p.key]

    def _policy_by_id(self, conn: sa.Connection, policy_id: int) -> Policy:
        _, pset, ids = self._policy_cache(conn)
        for p in pset.all():
            if ids[p.key] == policy_id:
                return p
        raise LedgerError(f"policy {policy_id} is missing from the policies table; run `livecert ledger audit`")

    # ------------------------------------------------------------------ persons

    def add_person(self, person: NewPerson, *, actor: str = "system") -> PersonRecord:
        """Register a person (their registration is their first certification).

        Raises
        ------
        InputError
            ``PERSON_EXISTS``, ``NO_POLICY``, ``BAD_ARGUMENT`` (id or name), ``BAD_DATE`` (future).
        """
        self.add_persons([person], actor=actor)
        return self.person(person.id)

    def add_persons(self, people: Sequence[NewPerson], *, actor: str = "system") -> int:
        """Register many people in one transaction (all or none), recorded by one audit entry;
        how many.

        Raises
        ------
        InputError
            As :meth:`add_person`, naming the first person that cannot be added.
        """
        now = self._now()
        today = self.local_date(now)
        try:
            added = self._add_persons(people, now, today, actor)
        except sa.exc.IntegrityError as exc:  # an id registered already (the primary key says so)
            raise self._taken([p.id for p in people], exc) from None
        log.info("registered %d people", added)
        return added

    def _add_persons(self, people: Sequence[NewPerson], now: datetime, today: date, actor: str) -> int:
        with self._write() as conn:
            rows = []
            _, pset, policy_ids = self._policy_cache(conn)
            for p in people:
                _check_id(p.id, "person id")
                if not isinstance(p.name, str) or not 1 <= len(p.name) <= 200 or not p.name.isprintable():
                    raise InputError(
                        f"person {p.id}: the name must be 1 to 200 printable characters", code=ErrorCode.BAD_ARGUMENT
                    )
                region = _check_id(p.region, "region")
                if p.registered_on > today:
                    raise InputError(
                        f"person {p.id}: registration date {p.registered_on.isoformat()} is in the future",
                        code=ErrorCode.BAD_DATE,
                    )
                policy = pset.in_force(BenefitType(p.benefit_type), region, p.registered_on)
                policy_id = policy_ids[policy.key]
                state = rules.initial_state(policy, p.registered_on)
                rows.append(
                    {
                        "id": p.id,
                        "name": p.name,
                        "benefit_type": BenefitType(p.benefit_type).value,
                        "region": region,
                        "registered_on": p.registered_on,
                        "last_certified_on": state.last_certified_on,
                        "due_from": state.due_from,
                        "due_on": state.due_on,
                        "policy_id": policy_id,
                        "suspended": False,
                        "suspended_from": None,
                        "template": None,
                        "template_sha256": None,
                        "template_model": None,
                        "template_key_id": None,
                        "photo_sha256": None,
                        "enrolled_at": None,
                        "row_version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            if not rows:
                return 0
            ids = [r["id"] for r in rows]
            if len(set(ids)) != len(ids):
                raise InputError("the same person id is given twice", code=ErrorCode.PERSON_EXISTS)
            audit = AuditWriter(conn)
            for part in _chunks(rows, 5000):
                conn.execute(sa.insert(persons), part)
            hashes = {str(r["id"]): row_hash(persons, r) for r in rows}
            if len(hashes) == 1:
                ((pid, sha),) = hashes.items()
                audit.append(
                    at=now, actor=actor, action=AuditAction.PERSON_ADDED, entity="persons", key=pid, row_sha256=sha
                )
            else:
                audit.append_batch(at=now, actor=actor, action=AuditAction.PERSON_ADDED, entity="persons", rows=hashes)
            audit.flush()
        return len(rows)

    def _taken(self, ids: Sequence[str], exc: sa.exc.IntegrityError) -> LivecertError:
        """The error for an insert of new people that the database refused."""
        with self._read() as conn:
            for chunk in _chunks(ids, 500):
                taken = conn.execute(sa.select(persons.c.id).where(persons.c.id.in_(chunk))).scalars().first()
                if taken is not None:
                    return InputError(f"person {taken} is registered already", code=ErrorCode.PERSON_EXISTS)
        return LedgerError(f"the ledger refused the new people ({str(exc.orig).strip()[:200]}); nothing was added")

    def person(self, person_id: str) -> PersonRecord:
        """A registered person.

        Raises
        ------
        InputError
            ``UNKNOWN_PERSON``.
        """
        with self._read() as conn:
            return self._person(conn, person_id)

    def _person(self, conn: sa.Connection, person_id: str) -> PersonRecord:
        row = conn.execute(sa.select(persons).where(persons.c.id == person_id)).first()
        if row is None:
            raise _unknown(person_id)
        return self._person_record(conn, row._mapping)

    def _person_record(self, conn: sa.Connection, m: sa.RowMapping) -> PersonRecord:
        p = self._policy_by_id(conn, int(m["policy_id"]))
        return PersonRecord(
            id=m["id"],
            name=m["name"],
            benefit_type=BenefitType(m["benefit_type"]),
            region=m["region"],
            registered_on=m["registered_on"],
            state=_state(m),
            policy=p.key,
            enrolled=m["template"] is not None,
            template_sha256=m["template_sha256"],
            photo_sha256=m["photo_sha256"],
            enrolled_at=None if m["enrolled_at"] is None else _aware(m["enrolled_at"]),
            encrypted=m["template_key_id"] is not None,
            row_version=int(m["row_version"]),
        )

    def enroll(
        self, person_id: str, enrollment: Enrollment, *, photo_sha256: str | None = None, actor: str = "system"
    ) -> PersonRecord:
        """Store (or replace) a person's face template.

        Parameters
        ----------
        person_id : str
        enrollment : Enrollment
            From :func:`livecert.enroll` on the photo taken at the bureau.
        photo_sha256 : str, optional
            SHA-256 of that photo's file.

        Raises
        ------
        InputError
            ``UNKNOWN_PERSON``; ``LEDGER_KEY`` when the ledger encrypts and no key was given.
        """
        plain = _enrollment_bytes(enrollment)
        now = self._now()
        with self._write() as conn:
            row = self._lock_person(conn, person_id)
            stored, key_id = self._seal(plain, f"persons/{person_id}/template")
            changes: dict[str, object] = {
                "template": stored,
                "template_sha256": hashlib.sha256(plain).hexdigest(),
                "template_model": enrollment.model_id,
                "template_key_id": key_id,
                "photo_sha256": photo_sha256,
                "enrolled_at": now,
            }
            self._update_person(conn, row, changes, now)
            audit = AuditWriter(conn)
            self._audit_person(
                conn, audit, person_id, now, actor, AuditAction.PERSON_ENROLLED, {"encrypted": key_id is not None}
            )
            audit.flush()
        return self.person(person_id)

    def enrollment(self, person_id: str) -> Enrollment:
        """A person's stored face template.

        Raises
        ------
        InputError
            ``UNKNOWN_PERSON``, ``NOT_ENROLLED``, ``LEDGER_KEY`` (encrypted, no or another key).
        """
        with self._read() as conn:
            row = conn.execute(
                sa.select(persons.c.template, persons.c.template_key_id).where(persons.c.id == person_id)
            ).first()
        if row is None:
            raise _unknown(person_id)
        if row.template is None:
            raise InputError(
                f"person {person_id} has no enrolled face; enroll a photo first (livecert ledger enroll)",
                code=ErrorCode.NOT_ENROLLED,
            )
        plain = self._open_sealed(bytes(row.template), row.template_key_id, f"persons/{person_id}/template")
        return _enrollment_from_bytes(plain)

    # ------------------------------------------------------------------ attempts

    def certify(
        self,
        person_id: str,
        source: str | Path | bytes,
        *,
        mode: Mode | str = Mode.BLINK,
        challenge: ChallengeOptions | None = None,
        config: VerifyConfig | None = None,
        actor: str = "system",
    ) -> AttemptRecord:
        """Check a recording with :func:`livecert.verify` against the person's enrolled face and
        record the attempt: a pass certifies the person, a failure is a rejected attempt.

        Raises
        ------
        InputError
            ``UNKNOWN_PERSON``, ``NOT_ENROLLED``, or verify()'s own errors for an unusable
            recording (nothing is recorded then).
        """
        enrollment = self.enrollment(person_id)
        result = verify(source, mode=mode, enrolled=enrollment, config=config, challenge=challenge)
        attempt = attempt_from_result(
            result, source if isinstance(source, (str, Path)) else None, keep_frame=self.settings.keep_frames
        )
        return self.record_attempt(person_id, attempt, actor=actor)

    def record_offline(
        self,
        person_id: str,
        *,
        channel: Channel,
        recorded_by: str,
        on: date | None = None,
        note: str | None = None,
        actor: str = "system",
    ) -> AttemptRecord:
        """Record a certification made in person (community centre, bureau, home visit).

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` (online channel, no clerk), ``BAD_DATE`` (future), ``UNKNOWN_PERSON``.
        """
        if not channel.offline:
            raise InputError(
                "record_offline is for offline channels; use certify for online", code=ErrorCode.BAD_ARGUMENT
            )
        _check_id(recorded_by, "clerk id")
        return self.record_attempt(
            person_id,
            AttemptInput(channel=channel, passed=True, on_date=on, recorded_by=recorded_by, note=note),
            actor=actor,
        )

    def record_attempt(self, person_id: str, attempt: AttemptInput, *, actor: str = "system") -> AttemptRecord:
        """Record one attempt and apply it: a passed one certifies the person (resuming payments
        if they were suspended), a failed one changes nothing else.  Recording the same
        ``attempt_uuid`` again returns the first record (``duplicate=True``).

        Raises
        ------
        InputError
            ``UNKNOWN_PERSON``; ``BAD_DATE`` (a date in the future); ``BAD_ARGUMENT`` (an
            offline attempt without the clerk, a failed offline attempt).
        """
        channel = Channel(attempt.channel)
        if channel.offline and not attempt.recorded_by:
            raise InputError("an offline certification needs the clerk who recorded it", code=ErrorCode.BAD_ARGUMENT)
        if channel.offline and not attempt.passed:
            raise InputError(
                "an offline visit that did not certify the person is not recorded as an attempt",
                code=ErrorCode.BAD_ARGUMENT,
            )
        if attempt.note is not None and len(attempt.note) > 500:
            raise InputError("the note is longer than 500 characters", code=ErrorCode.BAD_ARGUMENT)
        now = self._now()
        at = now if attempt.at is None else _utc(attempt.at)
        on = self.local_date(at) if attempt.on_date is None else _day(attempt.on_date)
        if on > self.local_date(now) or at > now + timedelta(minutes=5):
            raise InputError(f"the attempt's date {on.isoformat()} is in the future", code=ErrorCode.BAD_DATE)
        existing = self._attempt_by_uuid(attempt.attempt_uuid)
        if existing is not None:
            return existing
        try:
            with self._write() as conn:
                record = self._record(conn, person_id, attempt, channel, at, on, now, actor)
        except sa.exc.IntegrityError as exc:
            existing = self._attempt_by_uuid(attempt.attempt_uuid)  # the same attempt, sent twice at once
            if existing is not None:
                return existing
            raise LedgerError(
                f"the ledger refused the attempt ({str(exc.orig).strip()[:200]}); nothing was recorded, try again"
            ) from None
        log.debug("recorded attempt %d (%s, %s)", record.id, record.channel, record.decision)
        return record

    def _record(
        self,
        conn: sa.Connection,
        person_id: str,
        attempt: AttemptInput,
        channel: Channel,
        at: datetime,
        on: date,
        now: datetime,
        actor: str,
    ) -> AttemptRecord:
        row = self._lock_person(conn, person_id)
        state = _state(row)
        policy, policy_id = self._policy_for(conn, BenefitType(row["benefit_type"]), row["region"], on)
        decision = Decision.ACCEPTED if attempt.passed else Decision.REJECTED
        outcome = rules.certify(state, policy, on) if decision is Decision.ACCEPTED else None
        status_before = rules.status_on(state, on)
        frame_sha = None if attempt.frame_jpeg is None else hashlib.sha256(attempt.frame_jpeg).hexdigest()
        arow: dict[str, object] = {
            "attempt_uuid": attempt.attempt_uuid,
            "person_id": person_id,
            "at": at,
            "on_date": on,
            "recorded_at": now,
            "channel": channel.value,
            "recorded_by": attempt.recorded_by,
            "actor": actor,
            "mode": None if attempt.mode is None else Mode(attempt.mode).value,
            "decision": decision.value,
            "reason_codes": ",".join(attempt.reason_codes),
            "result_json": attempt.result_json,
            "challenge_id": attempt.challenge_id,
            "recording_sha256": attempt.recording_sha256,
            "frame_sha256": frame_sha,
            "note": attempt.note,
            "policy_id": policy_id if outcome is not None else int(row["policy_id"]),
            "status_before": status_before.value,
            "status_after": (outcome.status_after if outcome is not None else status_before).value,
            "due_before": state.due_on,
            "due_after": (outcome.after.due_on if outcome is not None else state.due_on),
            "resumed_from": None if outcome is None else outcome.resumed_from,
            "back_pay_months": 0 if outcome is None else len(outcome.back_pay_months),
        }
        arow["id"] = attempt_id = int(
            conn.execute(sa.insert(attempts).values(arow).returning(attempts.c.id)).scalar_one()
        )
        audit_rows: list[tuple[AuditAction, str, object, str | None, dict[str, object]]] = [
            (
                AuditAction.ATTEMPT_RECORDED,
                "attempts",
                attempt_id,
                row_hash(attempts, arow),
                {"decision": decision.value, "channel": channel.value},
            )
        ]
        if attempt.frame_jpeg is not None and self.settings.keep_frames:
            jpeg, key_id = self._seal(attempt.frame_jpeg, f"attempt_frames/{attempt_id}")
            frow = {"attempt_id": attempt_id, "stored_on": on, "jpeg": jpeg, "key_id": key_id}
            conn.execute(sa.insert(attempt_frames).values(frow))
            audit_rows.append(
                (AuditAction.FRAME_STORED, "attempt_frames", attempt_id, row_hash(attempt_frames, frow), {})
            )
        if outcome is not None:
            after = outcome.after
            self._update_person(
                conn,
                row,
                {
                    "last_certified_on": after.last_certified_on,
                    "due_from": after.due_from,
                    "due_on": after.due_on,
                    "policy_id": policy_id if after.due_on != state.due_on else row["policy_id"],
                    "suspended": False,
                    "suspended_from": None,
                },
                now,
            )
            if outcome.resumed_from is not None:
                paid = outcome.back_pay_months
                prow: dict[str, object] = {
                    "person_id": person_id,
                    "kind": "resumed",
                    "at": now,
                    "on_date": on,
                    "effective_month": outcome.resumed_from,
                    "back_pay_from": paid[0] if paid else None,
                    "back_pay_months": len(paid),
                    "unpaid_months": len(outcome.unpaid_months),
                    "attempt_id": attempt_id,
                    "policy_id": policy_id,
                    "actor": actor,
                }
                prow["id"] = conn.execute(
                    sa.insert(payment_events).values(prow).returning(payment_events.c.id)
                ).scalar_one()
                audit_rows.append(
                    (
                        AuditAction.RESUMED,
                        "payment_events",
                        prow["id"],
                        row_hash(payment_events, prow),
                        {"from": outcome.resumed_from.isoformat(), "back_pay_months": len(paid)},
                    )
                )
        audit = AuditWriter(conn)
        for action, entity, key, sha, detail in audit_rows:
            audit.append(at=now, actor=actor, action=action, entity=entity, key=key, row_sha256=sha, detail=detail)
        if outcome is not None:
            self._audit_person(
                conn,
                audit,
                person_id,
                now,
                actor,
                AuditAction.PERSON_UPDATED,
                {"status": outcome.status_after.value, "attempt": attempt_id},
            )
        audit.flush()
        return _attempt_record(arow, outcome.resumed_from if outcome else None, duplicate=False)

    def _attempt_by_uuid(self, attempt_uuid: str) -> AttemptRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(attempts).where(attempts.c.attempt_uuid == attempt_uuid)).first()
        return None if row is None else _attempt_record(row._mapping, row.resumed_from, duplicate=True)

    def attempts(self, person_id: str, *, limit: int | None = None) -> tuple[AttemptRecord, ...]:
        """A person's attempts, newest first (at most ``limit``, an int from 1, when given)."""
        limit = None if limit is None else _at_least_one(limit, "limit")
        with self._read() as conn:
            self._person(conn, person_id)
            q = sa.select(attempts).where(attempts.c.person_id == person_id).order_by(attempts.c.id.desc())
            rows = conn.execute(q if limit is None else q.limit(limit)).all()
        return tuple(_attempt_record(r._mapping, r.resumed_from, duplicate=False) for r in rows)

    def attempt_result(self, attempt_id: int) -> dict[str, object] | None:
        """The stored result JSON of an online attempt (None for an offline one).

        Raises
        ------
        InputError
            ``BAD_ARGUMENT``: no such attempt, or an ``attempt_id`` that is not an int.
        """
        attempt_id = _at_least_one(attempt_id, "attempt_id")
        with self._read() as conn:
            text = conn.execute(sa.select(attempts.c.result_json).where(attempts.c.id == attempt_id)).first()
        if text is None:
            raise InputError(f"no attempt {attempt_id}", code=ErrorCode.BAD_ARGUMENT)
        if text.result_json is None:
            return None
        value = json.loads(text.result_json)
        return value if isinstance(value, dict) else None

    def frame(self, attempt_id: int) -> bytes | None:
        """The stored best face frame (JPEG) of an attempt; None when none is kept.

        Raises
        ------
        InputError
            ``BAD_ARGUMENT``: an ``attempt_id`` that is not an int from 1.
        """
        attempt_id = _at_least_one(attempt_id, "attempt_id")
        with self._read() as conn:
            row = conn.execute(sa.select(attempt_frames).where(attempt_frames.c.attempt_id == attempt_id)).first()
        if row is None:
            return None
        return self._open_sealed(bytes(row.jpeg), row.key_id, f"attempt_frames/{attempt_id}")

    def purge_frames(self, *, on: date | None = None, actor: str = "system") -> int:
        """Delete stored frames older than the retention period on ``on`` (default today); how
        many.  The attempts keep the frames' SHA-256."""
        on = self.today() if on is None else _day(on)
        cutoff = on - timedelta(days=self.settings.frame_retention_days)
        now = self._now()
        with self._write() as conn:
            ids = (
                conn.execute(sa.select(attempt_frames.c.attempt_id).where(attempt_frames.c.stored_on < cutoff))
                .scalars()
                .all()
            )
            if not ids:
                return 0
            audit = AuditWriter(conn)
            for chunk in _chunks(list(ids), 500):
                conn.execute(sa.delete(attempt_frames).where(attempt_frames.c.attempt_id.in_(chunk)))
            for i in ids:
                audit.append(
                    at=now,
                    actor=actor,
                    action=AuditAction.FRAME_PURGED,
                    entity="attempt_frames",
                    key=i,
                    row_sha256=None,
                )
            audit.flush()
        return len(ids)

    # ------------------------------------------------------------------ reports and batches

    def report(self, person_id: str, *, on: date | None = None, attempts_limit: int = 20) -> PersonReport:
        """A person, their status on ``on`` (default today), recent attempts and payment events."""
        on = self.today() if on is None else _day(on)
        with self._read() as conn:
            person = self._person(conn, person_id)
            arows = conn.execute(
                sa.select(attempts)
                .where(attempts.c.person_id == person_id)
                .order_by(attempts.c.id.desc())
                .limit(attempts_limit)
            ).all()
            prows = conn.execute(
                sa.select(payment_events).where(payment_events.c.person_id == person_id).order_by(payment_events.c.id)
            ).all()
        return PersonReport(
            person,
            on,
            person.status_on(on),
            tuple(_attempt_record(r._mapping, r.resumed_from, duplicate=False) for r in arows),
            tuple(
                PaymentEvent(
                    r.kind,
                    r.on_date,
                    r.effective_month,
                    r.back_pay_from,
                    r.back_pay_months,
                    r.unpaid_months,
                    r.attempt_id,
                )
                for r in prows
            ),
        )

    def counts(self, on: date) -> dict[Status, int]:
        """How many people are in each status on ``on``."""
        on = _day(on)
        not_s = sa.not_(persons.c.suspended)
        q = sa.select(
            sa.func.count().filter(persons.c.suspended),
            sa.func.count().filter(sa.and_(not_s, persons.c.due_on < on)),
            sa.func.count().filter(sa.and_(not_s, persons.c.due_from <= on, persons.c.due_on >= on)),
            sa.func.count().filter(sa.and_(not_s, persons.c.due_from > on)),
        )
        with self._read() as conn:
            s, o, d, c = conn.execute(q).one()
        return {Status.CERTIFIED: int(c), Status.DUE: int(d), Status.OVERDUE: int(o), Status.SUSPENDED: int(s)}

    def due(self, on: date, *, limit: int | None = None, region: str | None = None) -> list[DueRow]:
        """People who must certify: ``DUE`` or ``OVERDUE`` on ``on``, earliest deadline first
        (at most ``limit``, an int from 1, when given)."""
        on = _day(on)
        limit = None if limit is None else _at_least_one(limit, "limit")
        q = (
            sa.select(
                persons.c.id,
                persons.c.name,
                persons.c.benefit_type,
                persons.c.region,
                persons.c.due_from,
                persons.c.due_on,
            )
            .where(sa.not_(persons.c.suspended), persons.c.due_from <= on)
            .order_by(persons.c.due_on, persons.c.id)
        )
        if region is not None:
            q = q.where(persons.c.region == region)
        if limit is not None:
            q = q.limit(limit)
        with self._read() as conn:
            rows = conn.execute(q).all()
        overdue, due = Status.OVERDUE, Status.DUE
        return [
            DueRow(pid, name, _BENEFITS[benefit], region, due_from, due_on, overdue if due_on < on else due)
            for pid, name, benefit, region, due_from, due_on in rows
        ]

    def suspend_overdue(self, on: date, *, actor: str = "system", batch_size: int = SUSPEND_BATCH) -> SuspensionReport:
        """Suspend the payments of everyone whose deadline plus grace days has passed on ``on``.

        Set-based, in batches of ``batch_size`` consecutive person ids, one transaction each:
        one ``UPDATE ... RETURNING`` suspends everyone overdue in the batch (the first unpaid
        month from :func:`~livecert.ledger.rules.overdue_month`, worked out once per policy and
        deadline), one ``INSERT ... SELECT`` writes their payment events, and two audit
        entries record every written row's hash
        (:meth:`~livecert.ledger.audit.AuditWriter.append_batch`).  Interrupted, it leaves
        whole batches behind: running it again on the same date suspends the others, and
        nobody twice.

        Parameters
        ----------
        on : date
        actor : str
        batch_size : int
            Person ids per transaction (1 to 100,000).

        Returns
        -------
        SuspensionReport
            The people suspended by this run, by id.

        Raises
        ------
        InputError
            ``BAD_DATE``: ``on`` is in the future or not a date; ``BAD_ARGUMENT``: ``batch_size`` out of range.
        """
        on = _day(on)
        if on > self.today():
            raise InputError(
                f"{on.isoformat()} is in the future; suspensions are recorded on the day (use `due --on` to preview)",
                code=ErrorCode.BAD_DATE,
            )
        if not 1 <= batch_size <= _MAX_BATCH:
            raise InputError(f"batch_size must be 1 to {_MAX_BATCH}", code=ErrorCode.BAD_ARGUMENT)
        now = self._now()
        plan = self._overdue_plan(on)
        done: list[tuple[str, date]] = []
        after: str | None = ""  # ids are never empty
        while plan and after is not None:
            with self._write() as conn:
                last = conn.execute(
                    sa.select(persons.c.id)
                    .where(persons.c.id > after)
                    .order_by(persons.c.id)
                    .offset(batch_size - 1)
                    .limit(1)
                ).scalar()
                done.extend(self._suspend_batch(conn, plan, after, last, on, now, actor))
            after = last
        done.sort()  # in the database's collation already, nearly: cheap
        log.info("suspended %d people on %s", len(done), on.isoformat())
        return SuspensionReport(on, tuple(done))

    def _overdue_plan(self, on: date) -> list[_Overdue]:
        """Per policy, the deadlines overdue on ``on`` as ranges that share a first unpaid
        month, contiguous from the earliest deadline found to the last overdue one.  A
        deadline written after this read that the ranges misjudge is caught by
        :meth:`_suspend_batch`, which checks every month against the rules."""
        plan: list[_Overdue] = []
        with self._read() as conn:
            _, pset, ids = self._policy_cache(conn)
            for policy in pset.all():
                policy_id = ids[policy.key]
                last_ok = on - timedelta(days=policy.grace_days + 1)  # due_on + grace < on
                q = (
                    sa.select(persons.c.due_on)
                    .where(persons.c.policy_id == policy_id, persons.c.due_on <= last_ok)
                    .distinct()
                    .order_by(persons.c.due_on)
                )
                ranges: list[_Overdue] = []
                for due_on in conn.execute(q).scalars():
                    month = rules.overdue_month(due_on, policy, on)
                    if month is None:  # pragma: no cover - the query selects exactly these
                        continue
                    if ranges and ranges[-1].month == month:
                        continue
                    if ranges:
                        ranges[-1] = replace(ranges[-1], last_due=due_on - timedelta(days=1))
                    ranges.append(_Overdue(policy_id, policy, month, due_on, last_ok))
                plan.extend(ranges)
        return plan

    def _suspend_batch(
        self,
        conn: sa.Connection,
        plan: list[_Overdue],
        after: str,
        last: str | None,
        on: date,
        now: datetime,
        actor: str,
    ) -> list[tuple[str, date]]:
        """Suspend everyone overdue whose id is after ``after`` and up to ``last`` (None: no
        end), in the caller's transaction (PostgreSQL: waiting for, then re-checking, rows a
        certification has locked)."""
        month = sa.case(
            *[
                (
                    sa.and_(persons.c.policy_id == r.policy_id, persons.c.due_on.between(r.first_due, r.last_due)),
                    r.month,
                )
                for r in plan
            ],
            else_=sa.null(),
        )
        window = persons.c.id > after if last is None else sa.and_(persons.c.id > after, persons.c.id <= last)
        rows = conn.execute(
            sa.update(persons)
            .where(window, sa.not_(persons.c.suspended), month.is_not(None))  # no OR: the id range is the index
            .values(suspended=True, suspended_from=month, row_version=persons.c.row_version + 1, updated_at=now)
            .returning(*[persons.c[c] for c in _PERSON_COLUMNS])
        ).all()
        if not rows:
            return []
        by_policy = {r.policy_id: r.policy for r in plan}
        i_id, i_policy, i_due, i_month = (
            _PERSON_COLUMNS.index(c) for c in ("id", "policy_id", "due_on", "suspended_from")
        )
        for policy_id, due_on, month_ in {(r[i_policy], r[i_due], r[i_month]) for r in rows}:
            if rules.overdue_month(due_on, by_policy[policy_id], on) != month_:  # the rules decide
                raise LedgerError("a deadline changed while people were being suspended; run suspend-overdue again")
        by_id = {r[i_id]: r for r in rows}
        events: list[sa.Row[tuple[object, ...]]] = []
        for part in _chunks(list(by_id), _IN_LIST):
            source = sa.select(
                persons.c.id,
                sa.literal("suspended", payment_events.c.kind.type),
                sa.literal(now, payment_events.c.at.type),
                sa.literal(on, payment_events.c.on_date.type),
                persons.c.suspended_from,
                sa.cast(sa.null(), payment_events.c.back_pay_from.type),
                sa.literal(0, payment_events.c.back_pay_months.type),
                sa.literal(0, payment_events.c.unpaid_months.type),
                sa.cast(sa.null(), payment_events.c.attempt_id.type),
                persons.c.policy_id,
                sa.literal(actor, payment_events.c.actor.type),
            ).where(persons.c.id.in_(part))
            insert = sa.insert(payment_events).from_select(_EVENT_COLUMNS, source)
            events.extend(conn.execute(insert.returning(payment_events.c.id, payment_events.c.person_id)).all())
        if len(events) != len(rows):  # pragma: no cover - defensive
            raise LedgerError("payment events were not written for everyone suspended; run suspend-overdue again")
        # The events are hashed as written (the SELECT above), the people as returned.
        fixed = {
            "kind": "suspended",
            "at": now,
            "on_date": on,
            "back_pay_from": None,
            "back_pay_months": 0,
            "unpaid_months": 0,
            "attempt_id": None,
            "actor": actor,
        }
        event_hash = row_hasher(payment_events, ("id", "person_id", "effective_month", "policy_id"), fixed)
        event_rows: dict[str, str] = {}
        for e in events:
            p = by_id[e.person_id]
            event_rows[str(e.id)] = event_hash((e.id, e.person_id, p[i_month], p[i_policy]))
        person_hash = row_hasher(persons, _PERSON_COLUMNS, {"suspended": True, "updated_at": now})
        audit = AuditWriter(conn)
        audit.append_batch(at=now, actor=actor, action=AuditAction.SUSPENDED, entity="payment_events", rows=event_rows)
        audit.append_batch(
            at=now,
            actor=actor,
            action=AuditAction.PERSON_UPDATED,
            entity="persons",
            rows={i: person_hash(r) for i, r in by_id.items()},
        )
        audit.flush()
        return sorted((i, r[i_month]) for i, r in by_id.items())

    def audit(self) -> AuditReport:
        """Verify the audit chain and every audited row (:func:`~livecert.ledger.audit.verify_ledger`)."""
        with self._read(snapshot=True) as conn:
            return verify_ledger(conn)

    def export_persons(self, on: date) -> Iterator[dict[str, object]]:
        """Every person with their status on ``on``, by id (for a CSV export)."""
        on = _day(on)
        with self._read() as conn:
            q = sa.select(
                persons.c.id,
                persons.c.name,
                persons.c.benefit_type,
                persons.c.region,
                persons.c.registered_on,
                persons.c.last_certified_on,
                persons.c.due_from,
                persons.c.due_on,
                persons.c.suspended_from,
                persons.c.template_sha256,
            ).order_by(persons.c.id)
            for r in conn.execution_options(stream_results=True, yield_per=5000).execute(q):
                state = PersonState(r.last_certified_on, r.due_from, r.due_on, r.suspended_from)
                yield {
                    "person_id": r.id,
                    "name": r.name,
                    "benefit_type": r.benefit_type,
                    "region": r.region,
                    "status": rules.status_on(state, on).value,
                    "registered_on": r.registered_on.isoformat(),
                    "last_certified_on": r.last_certified_on.isoformat(),
                    "due_from": r.due_from.isoformat(),
                    "due_on": r.due_on.isoformat(),
                    "suspended_from": "" if r.suspended_from is None else r.suspended_from.isoformat(),
                    "enrolled": "yes" if r.template_sha256 else "no",
                }

    def export_attempts(self) -> Iterator[dict[str, object]]:
        """Every attempt, oldest first, without the result JSON and frames (for a CSV export)."""
        cols = [c for c in attempts.columns if c.name not in ("result_json",)]
        with self._read() as conn:
            for r in conn.execution_options(stream_results=True, yield_per=5000).execute(
                sa.select(*cols).order_by(attempts.c.id)
            ):
                yield {
                    k: ("" if v is None else v.isoformat() if isinstance(v, (date, datetime)) else v)
                    for k, v in r._mapping.items()
                }

    # ------------------------------------------------------------------ internals

    def _now(self) -> datetime:
        return _utc(self._clock())

    @contextlib.contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with _guard(self._engine.url), write_transaction(self._engine) as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self, *, snapshot: bool = False) -> Iterator[sa.Connection]:
        with _guard(self._engine.url), self._engine.connect() as conn:
            if snapshot and self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _lock_person(self, conn: sa.Connection, person_id: str) -> sa.RowMapping:
        row = conn.execute(sa.select(persons).where(persons.c.id == person_id).with_for_update()).first()
        if row is None:
            raise _unknown(person_id)
        return row._mapping

    def _update_person(
        self, conn: sa.Connection, row: sa.RowMapping, changes: dict[str, object], now: datetime
    ) -> None:
        values = {**changes, "row_version": row["row_version"] + 1, "updated_at": now}
        done = conn.execute(
            sa.update(persons)
            .where(persons.c.id == row["id"], persons.c.row_version == row["row_version"])
            .values(values)
        )
        if done.rowcount != 1:  # pragma: no cover - the row is locked
            raise LedgerError("the person changed during the update; try again")

    def _audit_person(
        self,
        conn: sa.Connection,
        audit: AuditWriter,
        person_id: str,
        now: datetime,
        actor: str,
        action: AuditAction,
        detail: dict[str, object],
    ) -> None:
        row = conn.execute(sa.select(persons).where(persons.c.id == person_id)).one()
        audit.append(
            at=now,
            actor=actor,
            action=action,
            entity="persons",
            key=person_id,
            row_sha256=row_hash(persons, row._mapping),
            detail=detail,
        )

    def _seal(self, plain: bytes, context: str) -> tuple[bytes, str | None]:
        if self.settings.key_id is None:
            return plain, None
        if self._key is None:
            raise InputError(
                "this ledger encrypts face data: open it with its key file (--key-file)", code=ErrorCode.LEDGER_KEY
            )
        return self._key.encrypt(plain, context), self._key.key_id

    def _open_sealed(self, blob: bytes, key_id: str | None, context: str) -> bytes:
        if key_id is None:
            return blob
        if self._key is None or self._key.key_id != key_id:
            raise InputError(
                f"{context} is encrypted with key {key_id}: open the ledger with that key file (--key-file)",
                code=ErrorCode.LEDGER_KEY,
            )
        return self._key.decrypt(blob, context)


def _settings_rows(s: LedgerSettings) -> dict[str, str]:
    return {
        "time_zone": s.time_zone,
        "keep_frames": "true" if s.keep_frames else "false",
        "frame_retention_days": str(s.frame_retention_days),
        "key_id": s.key_id or "",
    }


def _state(m: sa.RowMapping) -> PersonState:
    return PersonState(m["last_certified_on"], m["due_from"], m["due_on"], m["suspended_from"])


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _attempt_record(m: sa.RowMapping | dict[str, object], resumed_from: object, *, duplicate: bool) -> AttemptRecord:
    def get(k: str) -> object:
        return m[k]

    mode = get("mode")
    codes = str(get("reason_codes"))
    at = get("at")
    assert isinstance(at, datetime)
    return AttemptRecord(
        id=int(str(get("id"))),
        attempt_uuid=str(get("attempt_uuid")),
        person_id=str(get("person_id")),
        at=_aware(at),
        on_date=_as_date(get("on_date")),
        channel=Channel(str(get("channel"))),
        recorded_by=None if get("recorded_by") is None else str(get("recorded_by")),
        mode=None if mode is None else Mode(str(mode)),
        decision=Decision(str(get("decision"))),
        reason_codes=tuple(codes.split(",")) if codes else (),
        status_before=Status(str(get("status_before"))),
        status_after=Status(str(get("status_after"))),
        due_before=_as_date(get("due_before")),
        due_after=_as_date(get("due_after")),
        resumed_from=None if resumed_from is None else _as_date(resumed_from),
        back_pay_months=int(str(get("back_pay_months"))),
        recording_sha256=None if get("recording_sha256") is None else str(get("recording_sha256")),
        frame_sha256=None if get("frame_sha256") is None else str(get("frame_sha256")),
        challenge_id=None if get("challenge_id") is None else str(get("challenge_id")),
        duplicate=duplicate,
    )


def _as_date(v: object) -> date:
    assert isinstance(v, date)
    return v


def _at_least_one(value: object, what: str) -> int:
    """``value`` if it is an int from 1 (attempt numbers, row limits); ``InputError`` ``BAD_ARGUMENT`` else."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{what} must be an int from 1, not {value!r}", code=ErrorCode.BAD_ARGUMENT)
    return value


def _day(on: object) -> date:
    """``on`` if it is a calendar day; ``InputError`` ``BAD_DATE`` for anything else (a
    datetime too: which day it is depends on the ledger's time zone, :meth:`Ledger.local_date`)."""
    if isinstance(on, datetime) or not isinstance(on, date):
        raise InputError(
            f"give the day as a datetime.date, not {type(on).__name__} {on!r} "
            "(Ledger.local_date(at) gives a moment's day in the ledger's time zone)",
            code=ErrorCode.BAD_DATE,
        )
    return on


def _unknown(person_id: str) -> InputError:
    return InputError(
        f"no person {person_id!r} in the ledger; check the id, or register them (livecert ledger add-person)",
        code=ErrorCode.UNKNOWN_PERSON,
    )


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _enrollment_bytes(enrollment: Enrollment) -> bytes:
    with tempfile.TemporaryDirectory(prefix="livecert-ledger-") as tmp:
        path = Path(tmp) / "enrollment.npz"
        enrollment.save(path)
        return path.read_bytes()


def _enrollment_from_bytes(data: bytes) -> Enrollment:
    with tempfile.TemporaryDirectory(prefix="livecert-ledger-") as tmp:
        path = Path(tmp) / "enrollment.npz"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return Enrollment.load(path)


@contextlib.contextmanager
def _opening(url: sa.URL) -> Iterator[None]:
    """As :func:`_guard`, and a file that is not a database, or not this kind of one, is
    no ledger (``BAD_ARGUMENT``) rather than a traceback."""
    try:
        with _guard(url):
            yield
    except sa.exc.DatabaseError as exc:
        if isinstance(exc, sa.exc.IntegrityError):
            raise
        raise InputError(
            f"{safe_name(url)} is not a livecert ledger ({str(exc.orig).strip()[:200]}); give the ledger's "
            "database, or create one with `livecert ledger init`",
            code=ErrorCode.BAD_ARGUMENT,
        ) from None


@contextlib.contextmanager
def _guard(url: sa.URL) -> Iterator[None]:
    """Database errors as :class:`LedgerError` naming the database (never the data)."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        raise LedgerError(
            f"the ledger {safe_name(url)} cannot be used ({type(exc.orig).__name__}: {str(exc.orig).strip()[:200]}); "
            "check that the database is reachable and writable, then try again"
        ) from None
