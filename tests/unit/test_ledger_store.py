"""The ledger's database (livecert.ledger.store), the same tests on SQLite and on a throwaway
PostgreSQL server (tests/ledger_pg.py): lifecycle, audit tamper detection, concurrency, crash
safety, encryption, migrations and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from livecert.errors import InputError
from livecert.identity.enrollment import Enrollment
from livecert.ledger.audit import ProblemKind
from livecert.ledger.crypto import create_key_file, read_key_file
from livecert.ledger.db import alembic_config, database_url, head_revision
from livecert.ledger.nonces import DatabaseNonceStore
from livecert.ledger.policy import (
    BenefitType,
    Channel,
    Decision,
    Status,
    default_policies,
    policies_from_json,
)
from livecert.ledger.records import AttemptInput, LedgerSettings, NewPerson
from livecert.ledger.schema import metadata
from livecert.ledger.store import Ledger, LedgerError

from ..ledger_pg import postgres_server, postgres_url  # noqa: F401
from .paths import ROOT


class Clock:
    """A clock the test moves: the ledger never reads the real time."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set_day(self, day: date) -> None:
        self.at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc))


@pytest.fixture
def ledger(target: str, clock: Clock) -> Iterator[Ledger]:
    with Ledger.create(target, policies=default_policies(), clock=clock, actor="clerk1") as led:
        yield led


def person(pid: str, benefit: BenefitType = BenefitType.ENTERPRISE, registered: date = date(2025, 1, 10)) -> NewPerson:
    return NewPerson(pid, f"测试{pid}", benefit, "330100", registered)


def online(passed: bool, **kw: object) -> AttemptInput:
    return AttemptInput(
        channel=Channel.ONLINE,
        passed=passed,
        result_json=json.dumps({"passed": passed}),
        reason_codes=() if passed else ("NO_BLINK",),
        recording_sha256="ab" * 32,
        challenge_id="nonce-1",
        **kw,  # type: ignore[arg-type]
    )


def raw(target: str) -> sa.Engine:
    """A plain engine on the ledger's database: what someone bypassing livecert would use."""
    return sa.create_engine(database_url(target))


def test_lifecycle_due_suspend_resume_and_audit(ledger: Ledger, clock: Clock) -> None:
    ledger.add_persons([person("E1"), person("E2", registered=date(2025, 6, 1)), person("R1", BenefitType.RESIDENT)])
    on = date(2026, 3, 1)
    assert ledger.counts(on) == {Status.CERTIFIED: 1, Status.DUE: 0, Status.OVERDUE: 2, Status.SUSPENDED: 0}
    due = ledger.due(on)
    assert [(r.person_id, r.status) for r in due] == [("R1", Status.OVERDUE), ("E1", Status.OVERDUE)]

    report = ledger.suspend_overdue(on, actor="batch")
    assert dict(report.suspended) == {"E1": date(2026, 2, 1), "R1": date(2025, 7, 1)}  # R1 missed Jan-Jun 2025
    assert ledger.suspend_overdue(on).suspended == ()  # running it again does nothing
    assert ledger.person("E1").status_on(on) is Status.SUSPENDED

    clock.set_day(date(2026, 4, 15))
    rejected = ledger.record_attempt("E1", online(False))
    assert rejected.decision is Decision.REJECTED and rejected.status_after is Status.SUSPENDED
    accepted = ledger.record_attempt("E1", online(True))
    assert accepted.decision is Decision.ACCEPTED
    assert (accepted.status_before, accepted.status_after) == (Status.SUSPENDED, Status.CERTIFIED)
    assert accepted.resumed_from == date(2026, 5, 1) and accepted.back_pay_months == 3  # Feb, Mar, Apr
    assert accepted.due_after == date(2027, 4, 15)
    home = ledger.record_offline("R1", channel=Channel.HOME_VISIT, recorded_by="clerk7", on=date(2026, 4, 10))
    assert home.resumed_from == date(2026, 5, 1) and home.recorded_by == "clerk7"

    rep = ledger.report("E1", on=date(2026, 4, 15))
    assert rep.status is Status.CERTIFIED and [a.id for a in rep.attempts] == [accepted.id, rejected.id]
    assert [(e.kind, e.effective_month) for e in rep.payments] == [
        ("suspended", date(2026, 2, 1)),
        ("resumed", date(2026, 5, 1)),
    ]
    assert ledger.attempt_result(accepted.id) == {"passed": True}
    audit = ledger.audit()
    assert audit.intact, audit.problems
    assert audit.rows["attempts"] == 3 and audit.rows["payment_events"] == 4
    rows = list(ledger.export_persons(date(2026, 4, 15)))
    assert [(r["person_id"], r["status"]) for r in rows] == [
        ("E1", "certified"),
        ("E2", "certified"),
        ("R1", "certified"),
    ]
    assert len(list(ledger.export_attempts())) == 3


def test_bad_input_is_a_clear_error_and_writes_nothing(ledger: Ledger, clock: Clock, target: str) -> None:
    ledger.add_person(person("E1"))
    before = ledger.audit().entries
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: ledger.record_attempt("NOBODY", online(True)), "UNKNOWN_PERSON"),
        (lambda: ledger.report("NOBODY"), "UNKNOWN_PERSON"),
        (lambda: ledger.add_person(person("E1")), "PERSON_EXISTS"),
        (lambda: ledger.add_persons([person("N1"), person("N1")]), "PERSON_EXISTS"),
        (lambda: ledger.add_persons([person("N2"), person("bad id")]), "BAD_ARGUMENT"),  # all or none
        (lambda: ledger.add_person(person("N3", registered=date(2026, 3, 2))), "BAD_DATE"),
        (
            lambda: ledger.record_offline("E1", channel=Channel.BUREAU, recorded_by="c1", on=date(2026, 3, 2)),
            "BAD_DATE",
        ),
        (lambda: ledger.record_offline("E1", channel=Channel.ONLINE, recorded_by="c1"), "BAD_ARGUMENT"),
        (lambda: ledger.record_attempt("E1", AttemptInput(Channel.BUREAU, passed=True)), "BAD_ARGUMENT"),
        (lambda: ledger.suspend_overdue(date(2026, 3, 2)), "BAD_DATE"),
        (lambda: ledger.enrollment("E1"), "NOT_ENROLLED"),
        (lambda: ledger.load_policies(policies_from_json(_NEGATIVE_PERIOD)), "BAD_POLICY"),
    ]
    for call, code in cases:
        with pytest.raises(InputError) as err:
            call()
        assert err.value.code == code, (code, err.value)
    changed = default_policies().all()[0]
    clash = policies_from_json(
        json.dumps(
            {
                "format": "livecert-ledger-policies",
                "policies": [{**changed.to_dict(), "grace_days": 99}],
            }
        )
    )
    with pytest.raises(InputError) as err:
        ledger.load_policies(clash)  # a stored version never changes
    assert err.value.code == "BAD_POLICY"
    audit = ledger.audit()
    assert audit.intact and audit.entries == before and audit.rows["persons"] == 1


_NEGATIVE_PERIOD = json.dumps(
    {
        "format": "livecert-ledger-policies",
        "policies": [{"benefit_type": "enterprise", "version": 2, "cycle": "rolling", "period_months": -12}],
    }
)


def test_a_policy_change_never_rewrites_history(ledger: Ledger, clock: Clock) -> None:
    ledger.add_person(person("E1", registered=date(2025, 6, 1)))
    old = ledger.person("E1")
    base = ledger.policies().in_force(BenefitType.ENTERPRISE, "330100", date(2026, 3, 1))
    v2 = {**base.to_dict(), "version": 2, "effective_from": "2026-04-01", "period_months": 6}
    added = ledger.load_policies(
        policies_from_json(json.dumps({"format": "livecert-ledger-policies", "policies": [v2]}))
    )
    assert added == 1 and ledger.person("E1") == old  # the deadline set under v1 stays
    clock.set_day(date(2026, 5, 1))
    rec = ledger.record_offline("E1", channel=Channel.COMMUNITY, recorded_by="c1")
    assert rec.due_after == date(2026, 11, 1)  # judged under v2 from its effective date
    assert ledger.person("E1").policy == (BenefitType.ENTERPRISE, "*", 2)
    assert ledger.audit().intact


def test_audit_detects_a_changed_deleted_or_added_row(ledger: Ledger, clock: Clock, target: str) -> None:
    ledger.add_persons([person("E1"), person("E2")])
    clock.set_day(date(2026, 3, 2))
    ledger.suspend_overdue(date(2026, 3, 2))
    attempt = ledger.record_attempt("E1", online(True))
    assert ledger.audit().intact
    engine = raw(target)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        # the append-only tables refuse changes ...
        with pytest.raises(sa.exc.DBAPIError):
            with conn.begin_nested():
                conn.execute(sa.text("UPDATE attempts SET decision = 'rejected'"))
        with pytest.raises(sa.exc.DBAPIError):
            with conn.begin_nested():
                conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 3"))
        # ... so a tamperer drops the triggers first
        _drop_triggers(conn, pg)
        conn.execute(sa.text("UPDATE persons SET due_on = '2030-01-01', due_from = '2029-12-01' WHERE id = 'E2'"))
        conn.execute(sa.text("UPDATE attempts SET decision = 'rejected' WHERE id = :i"), {"i": attempt.id})
        conn.execute(sa.text("DELETE FROM payment_events WHERE kind = 'resumed'"))
        conn.execute(sa.text("UPDATE audit_log SET actor = 'someone' WHERE seq = 2"))
    report = ledger.audit()
    found = {(p.kind, p.entity) for p in report.problems}
    assert (ProblemKind.ROW_CHANGED, "persons") in found
    assert (ProblemKind.ROW_CHANGED, "attempts") in found
    assert (ProblemKind.ROW_DELETED, "payment_events") in found
    assert (ProblemKind.ENTRY_CHANGED, "audit_log") in found
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"))
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 5"))
    kinds = {p.kind for p in ledger.audit().problems}
    assert {ProblemKind.SEQUENCE_GAP, ProblemKind.CHAIN_BROKEN, ProblemKind.HEAD_MISMATCH} <= kinds
    engine.dispose()


def _drop_triggers(conn: sa.Connection, pg: bool) -> None:
    if pg:
        for t in ("policies", "attempts", "payment_events", "audit_log", "persons", "attempt_frames", "audit_head"):
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {t}_refuse_change ON {t}"))
    else:
        names = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
        for name in names:
            conn.execute(sa.text(f"DROP TRIGGER {name}"))


def test_concurrent_certifications_of_one_person(ledger: Ledger, clock: Clock) -> None:
    """Two (here 16) certifications at once: every attempt recorded, one consistent status."""
    ledger.add_person(person("E1"))
    clock.set_day(date(2026, 3, 2))
    ledger.suspend_overdue(date(2026, 3, 2))
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for j in range(2):
                ledger.record_attempt("E1", online((i + j) % 2 == 0))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    attempts = ledger.attempts("E1")
    assert len(attempts) == 16 and len({a.id for a in attempts}) == 16
    resumed = [a for a in attempts if a.resumed_from is not None]
    assert len(resumed) == 1  # only the first accepted one found the person suspended
    assert ledger.person("E1").status_on(date(2026, 3, 2)) is Status.CERTIFIED
    assert [e.kind for e in ledger.report("E1").payments] == ["suspended", "resumed"]
    assert ledger.audit().intact


def test_the_same_attempt_sent_twice_is_recorded_once(ledger: Ledger) -> None:
    ledger.add_person(person("E1"))
    attempt = online(True, attempt_uuid=str(uuid.uuid4()))
    first = ledger.record_attempt("E1", attempt)
    again = ledger.record_attempt("E1", attempt)
    assert not first.duplicate and again.duplicate and again.id == first.id
    assert len(ledger.attempts("E1")) == 1


def test_face_data_encrypted_at_rest(target: str, clock: Clock, tmp_path: Path) -> None:
    key = create_key_file(tmp_path / "ledger.key")
    assert oct((tmp_path / "ledger.key").stat().st_mode & 0o777) == "0o600"
    enrollment = _fake_enrollment()
    with Ledger.create(target, policies=default_policies(), key=key, clock=clock) as led:
        led.add_person(person("E1"))
        rec = led.enroll("E1", enrollment, photo_sha256="cd" * 32)
        assert rec.encrypted and rec.template_sha256 is not None
        assert np.allclose(led.enrollment("E1").embedding, enrollment.embedding)
        attempt = led.record_attempt("E1", online(True, frame_jpeg=b"\xff\xd8jpeg-bytes\xff\xd9"))
        assert led.frame(attempt.id) == b"\xff\xd8jpeg-bytes\xff\xd9"
    engine = raw(target)
    with engine.connect() as conn:
        blob = conn.execute(sa.text("SELECT template FROM persons")).scalar_one()
        frame = conn.execute(sa.text("SELECT jpeg FROM attempt_frames")).scalar_one()
    engine.dispose()
    assert bytes(blob).startswith(b"LCE1") and b"livecert-enrollment" not in bytes(blob)
    assert b"jpeg-bytes" not in bytes(frame)
    with Ledger.open(target, clock=clock) as led:  # no key: the rest works, face data does not
        assert led.person("E1").enrolled
        with pytest.raises(InputError) as err:
            led.enrollment("E1")
        assert err.value.code == "LEDGER_KEY"
    other = create_key_file(tmp_path / "other.key")
    with pytest.raises(InputError) as err:
        Ledger.open(target, key=other, clock=clock)
    assert err.value.code == "LEDGER_KEY"
    with Ledger.open(target, key=read_key_file(tmp_path / "ledger.key"), clock=clock) as led:
        assert led.audit().intact
        clock.set_day(date(2028, 4, 1))
        assert led.purge_frames() == 1 and led.frame(attempt.id) is None
        assert led.audit().intact  # a purged frame is recorded as such; its hash stays in the attempt


def _fake_enrollment() -> Enrollment:
    from livecert.face.quality import FrameQuality
    from livecert.results import QualityFlag

    rng = np.random.default_rng(0)
    quality = FrameQuality(200.0, 120.0, 80.0, 1.0, 2.0, QualityFlag(0))
    return Enrollment(
        rng.normal(size=128).astype(np.float32),
        rng.normal(size=(478, 3)).astype(np.float32),
        quality,
        "dlib_face_recognition_resnet_model_v1",
    )


def test_migrations_create_exactly_the_schema(target: str) -> None:
    with Ledger.create(target, policies=default_policies()):
        pass
    engine = raw(target)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert diff == [] and version == head_revision()
    with pytest.raises(InputError) as err:
        Ledger.create(target, policies=default_policies())
    assert err.value.code == "BAD_ARGUMENT"
    with Ledger.open(target) as led:  # opening again migrates nothing
        assert led.settings == LedgerSettings()


def test_unreachable_or_missing_ledger_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        Ledger.open(tmp_path / "none.sqlite")
    assert err.value.code == "FILE_NOT_FOUND"
    with pytest.raises(LedgerError) as lerr:
        Ledger.open("postgresql://nobody@127.0.0.1:1/none")
    assert lerr.value.code == "LEDGER_UNAVAILABLE" and "127.0.0.1" in lerr.value.message
    with pytest.raises(InputError):
        Ledger.open("mysql://x@y/z")
    not_a_database = tmp_path / "photo.jpg"
    not_a_database.write_bytes(b"\xff\xd8\xff\xe0 not a database, not a ledger" * 40)
    for opening in (Ledger.open, lambda p: Ledger.create(p, policies=default_policies())):
        with pytest.raises(InputError) as nerr:
            opening(not_a_database)
        assert nerr.value.code == "BAD_ARGUMENT" and "not a livecert ledger" in nerr.value.message


_WRITER = textwrap.dedent(
    """
    import sys, uuid
    from datetime import datetime, timezone
    from livecert.ledger.policy import Channel
    from livecert.ledger.records import AttemptInput
    from livecert.ledger.store import Ledger
    led = Ledger.open(sys.argv[1], clock=lambda: datetime(2026, 3, 1, 2, tzinfo=timezone.utc))
    while True:
        u = str(uuid.uuid4())
        led.record_attempt("E1", AttemptInput(Channel.ONLINE, passed=False, attempt_uuid=u))
        print(u, flush=True)
    """
)


def test_a_crash_loses_nothing_acknowledged(ledger: Ledger, target: str) -> None:
    ledger.add_person(person("E1"))
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, target], stdout=subprocess.PIPE, text=True, env={**os.environ}, cwd=ROOT
    )
    assert proc.stdout is not None
    acked = []
    while len(acked) < 25:
        line = proc.stdout.readline()
        assert line, "the writer died"
        acked.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)  # mid-write, most likely
    proc.wait()
    stored = {a.attempt_uuid for a in ledger.attempts("E1")}
    assert set(acked) <= stored
    assert ledger.audit().intact


def test_times_become_dates_in_the_ledger_time_zone(ledger: Ledger, clock: Clock) -> None:
    ledger.add_person(person("E1"))
    late_evening_utc = datetime(2026, 2, 28, 17, 30, tzinfo=timezone.utc)  # 01:30 on 1 March in Shanghai
    clock.at = late_evening_utc + timedelta(hours=1)
    rec = ledger.record_attempt("E1", online(True, at=late_evening_utc))
    assert rec.on_date == date(2026, 3, 1)


def _many(n: int) -> list[NewPerson]:
    """``n`` people whose deadlines (and first unpaid months) differ."""
    return [person(f"M{i:03d}", registered=date(2024, 6, 1) + timedelta(days=9 * i)) for i in range(n)]


def test_suspension_in_batches_is_audited_row_by_row(ledger: Ledger, clock: Clock, target: str) -> None:
    ledger.add_persons(_many(30))
    on = date(2026, 3, 1)
    overdue = {r.person_id for r in ledger.due(on) if r.status is Status.OVERDUE}
    report = ledger.suspend_overdue(on, batch_size=4)
    assert {p for p, _ in report.suspended} == overdue and len(overdue) > 8  # several batches
    for pid, month in report.suspended:
        assert ledger.person(pid).state.suspended_from == month
        assert [(e.kind, e.effective_month) for e in ledger.report(pid).payments] == [("suspended", month)]
    audit = ledger.audit()
    assert audit.intact, audit.problems
    assert audit.rows["payment_events"] == len(overdue)
    victim = sorted(overdue)[3]
    engine = raw(target)
    with engine.begin() as conn:
        _drop_triggers(conn, engine.dialect.name == "postgresql")
        conn.execute(sa.text("UPDATE persons SET suspended_from = '2026-06-01' WHERE id = :i"), {"i": victim})
        conn.execute(sa.text("DELETE FROM payment_events WHERE person_id = :i"), {"i": sorted(overdue)[5]})
    found = {(p.kind, p.entity, p.key) for p in ledger.audit().problems}
    assert (ProblemKind.ROW_CHANGED, "persons", victim) in found
    assert any(k == ProblemKind.ROW_DELETED and e == "payment_events" for k, e, _ in found)
    with engine.begin() as conn:  # a batch entry's list of rows rewritten to match the change
        seq, detail = conn.execute(
            sa.text("SELECT seq, detail FROM audit_log WHERE action = 'person_updated' AND detail LIKE :k"),
            {"k": f'%"{victim}"%'},
        ).one()
        rows = json.loads(detail)
        rows[victim] = "0" * 64
        conn.execute(sa.text("UPDATE audit_log SET detail = :d WHERE seq = :s"), {"d": json.dumps(rows), "s": seq})
    assert (ProblemKind.ENTRY_CHANGED, "audit_log", str(seq)) in {
        (p.kind, p.entity, p.key) for p in ledger.audit().problems
    }
    engine.dispose()


def test_an_interrupted_suspension_resumes_without_double_entries(
    ledger: Ledger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.add_persons(_many(30))
    on = date(2026, 3, 1)
    overdue = {r.person_id for r in ledger.due(on) if r.status is Status.OVERDUE}
    real = Ledger._suspend_batch
    calls = []

    def crash_in_third_batch(self: Ledger, *args: object) -> object:
        calls.append(1)
        done = real(self, *args)  # type: ignore[arg-type]
        if len(calls) == 3:
            raise KeyboardInterrupt  # after its rows are written, before its commit
        return done

    monkeypatch.setattr(Ledger, "_suspend_batch", crash_in_third_batch)
    with pytest.raises(KeyboardInterrupt):
        ledger.suspend_overdue(on, batch_size=4)
    monkeypatch.setattr(Ledger, "_suspend_batch", real)
    halfway = {p for p in overdue if ledger.person(p).state.suspended_from is not None}
    assert 0 < len(halfway) < len(overdue)  # two whole batches, nothing of the third
    audit = ledger.audit()
    assert audit.intact and audit.rows["payment_events"] == len(halfway)
    rest = ledger.suspend_overdue(on, batch_size=4)
    assert {p for p, _ in rest.suspended} == overdue - halfway
    assert ledger.suspend_overdue(on).suspended == ()
    for pid in overdue:
        assert [e.kind for e in ledger.report(pid).payments] == ["suspended"]
    audit = ledger.audit()
    assert audit.intact, audit.problems
    assert audit.rows["payment_events"] == len(overdue)


def test_migration_0002_swaps_the_persons_indexes_both_ways(target: str) -> None:
    engine = raw(target)

    def indexes() -> dict[str, list[str | None]]:
        with engine.connect() as conn:
            return {i["name"]: i["column_names"] for i in sa.inspect(conn).get_indexes("persons") if i["name"]}

    def upgrade_or_downgrade(step: str, revision: str) -> None:
        with engine.begin() as conn:
            getattr(command, step)(alembic_config(conn), revision)

    upgrade_or_downgrade("upgrade", "0001")
    assert indexes() == {"ix_persons_due_from": ["suspended", "due_from"], "ix_persons_due_on": ["suspended", "due_on"]}
    upgrade_or_downgrade("upgrade", "head")
    assert indexes() == {"ix_persons_due_from": ["due_from"], "ix_persons_overdue": ["policy_id", "due_on"]}
    upgrade_or_downgrade("downgrade", "0001")
    assert indexes() == {"ix_persons_due_from": ["suspended", "due_from"], "ix_persons_due_on": ["suspended", "due_on"]}
    engine.dispose()


def test_suspension_batch_and_certifications_at_once(ledger: Ledger, clock: Clock) -> None:
    """Certifications while the batch runs (PostgreSQL: row locks, then the batch re-checks
    the row): each person ends up either certified or suspended with one event, and the chain
    holds."""
    ledger.add_persons(_many(40))
    on = date(2026, 3, 1)
    overdue = sorted(r.person_id for r in ledger.due(on) if r.status is Status.OVERDUE)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def batch() -> None:
        try:
            barrier.wait()
            ledger.suspend_overdue(on, batch_size=3)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def certify() -> None:
        try:
            barrier.wait()
            for pid in overdue[::2]:
                ledger.record_attempt(pid, online(True))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=batch), threading.Thread(target=certify)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    ledger.suspend_overdue(on)  # whoever the batch did not reach
    for pid in overdue:
        kinds = [e.kind for e in ledger.report(pid, on=on).payments]
        status = ledger.person(pid).status_on(on)
        if pid in overdue[::2]:  # certified on the day: before the batch (nothing) or after it
            assert status is Status.CERTIFIED and kinds in ([], ["suspended", "resumed"])
        else:
            assert status is Status.SUSPENDED and kinds == ["suspended"]
    audit = ledger.audit()
    assert audit.intact, audit.problems


def test_a_0002_ledger_is_upgraded_to_the_single_use_tables_and_back(target: str, clock: Clock) -> None:
    """A ledger written before the web server's shared tables (0002) gets them when opened;
    its people are kept; 0003 goes back down cleanly."""
    with Ledger.create(target, policies=default_policies(), clock=clock) as led:
        led.add_person(person("P1"))
    engine = raw(target)

    def step(name: str, revision: str) -> None:
        with engine.begin() as conn:
            getattr(command, name)(alembic_config(conn), revision)

    def tables() -> set[str]:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())

    step("downgrade", "0002")
    assert not {"used_nonces", "serve_uploads"} & tables()
    with Ledger.open(target, clock=clock) as led:  # what `livecert serve` does at start
        assert led.person("P1").id == "P1"
    assert {"used_nonces", "serve_uploads"} <= tables()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
    store = DatabaseNonceStore(target)
    assert store.consume("n1", 2e9, 1e9) and not store.consume("n1", 2e9, 1e9)
    store.close()
    step("downgrade", "0002")
    assert not {"used_nonces", "serve_uploads"} & tables()
    engine.dispose()
