"""The ledger's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

``persons`` is the one table whose rows change (status and deadline, enrolment); every
other table only grows, which triggers enforce (``APPEND_ONLY``), except that a stored
frame may be deleted when its retention ends (``attempt_frames``; the attempt keeps the
frame's hash).  Every written row is also recorded in ``audit_log`` (an entry of its own, or
one entry per table for a batch), whose entries form a hash chain
(:mod:`livecert.ledger.audit`); ``audit_head`` holds the chain's last entry and serialises the
writers.  Dates are local calendar dates (the ledger's time zone, ``settings``); times are
UTC.  The migrations in ``migrations/versions`` create exactly these tables (a test compares
them).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: An integer key that is BIGINT on PostgreSQL and SQLite's rowid alias on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_TS = sa.DateTime(timezone=True)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("benefit_type", sa.String(32), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("loaded_at", _TS, nullable=False),
    sa.UniqueConstraint("benefit_type", "region", "version", name="uq_policies_key"),
)

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("benefit_type", sa.String(32), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("last_certified_on", sa.Date, nullable=False),
    sa.Column("due_from", sa.Date, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("policy_id", sa.Integer, sa.ForeignKey("policies.id", name="fk_persons_policy"), nullable=False),
    sa.Column("suspended", sa.Boolean(), nullable=False),
    sa.Column("suspended_from", sa.Date, nullable=True),
    sa.Column("template", sa.LargeBinary, nullable=True),
    sa.Column("template_sha256", sa.String(64), nullable=True),
    sa.Column("template_model", sa.String(100), nullable=True),
    sa.Column("template_key_id", sa.String(16), nullable=True),
    sa.Column("photo_sha256", sa.String(64), nullable=True),
    sa.Column("enrolled_at", _TS, nullable=True),
    sa.Column("row_version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.CheckConstraint(
        "(suspended AND suspended_from IS NOT NULL) OR (NOT suspended AND suspended_from IS NULL)",
        name="ck_persons_suspension",
    ),
    sa.CheckConstraint("due_from <= due_on", name="ck_persons_deadline"),
)
#: The due list (by the day people are due from) and the suspension batch (by policy and
#: deadline).  Neither holds ``suspended``, so that a suspension writes no index (0002).
sa.Index("ix_persons_due_from", persons.c.due_from)
sa.Index("ix_persons_overdue", persons.c.policy_id, persons.c.due_on)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("attempt_uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("person_id", sa.String(64), sa.ForeignKey("persons.id", name="fk_attempts_person"), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("recorded_at", _TS, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("mode", sa.String(16), nullable=True),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("reason_codes", sa.String(400), nullable=False),
    sa.Column("result_json", sa.Text, nullable=True),
    sa.Column("challenge_id", sa.String(64), nullable=True),
    sa.Column("recording_sha256", sa.String(64), nullable=True),
    sa.Column("frame_sha256", sa.String(64), nullable=True),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("policy_id", sa.Integer, sa.ForeignKey("policies.id", name="fk_attempts_policy"), nullable=False),
    sa.Column("status_before", sa.String(16), nullable=False),
    sa.Column("status_after", sa.String(16), nullable=False),
    sa.Column("due_before", sa.Date, nullable=False),
    sa.Column("due_after", sa.Date, nullable=False),
    sa.Column("resumed_from", sa.Date, nullable=True),
    sa.Column("back_pay_months", sa.Integer, nullable=False),
    sa.CheckConstraint("channel = 'online' OR recorded_by IS NOT NULL", name="ck_attempts_offline_clerk"),
)
sa.Index("ix_attempts_person", attempts.c.person_id, attempts.c.id)

attempt_frames = sa.Table(
    "attempt_frames",
    metadata,
    sa.Column(
        "attempt_id",
        BigId,
        sa.ForeignKey("attempts.id", name="fk_attempt_frames_attempt"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("stored_on", sa.Date, nullable=False),
    sa.Column("jpeg", sa.LargeBinary, nullable=False),
    sa.Column("key_id", sa.String(16), nullable=True),
)
sa.Index("ix_attempt_frames_stored_on", attempt_frames.c.stored_on)

payment_events = sa.Table(
    "payment_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("person_id", sa.String(64), sa.ForeignKey("persons.id", name="fk_payment_events_person"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("effective_month", sa.Date, nullable=False),
    sa.Column("back_pay_from", sa.Date, nullable=True),
    sa.Column("back_pay_months", sa.Integer, nullable=False),
    sa.Column("unpaid_months", sa.Integer, nullable=False),
    sa.Column("attempt_id", BigId, sa.ForeignKey("attempts.id", name="fk_payment_events_attempt"), nullable=True),
    sa.Column("policy_id", sa.Integer, sa.ForeignKey("policies.id", name="fk_payment_events_policy"), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
)
sa.Index("ix_payment_events_person", payment_events.c.person_id, payment_events.c.id)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_key", sa.String(64), nullable=False),
    sa.Column("row_sha256", sa.String(64), nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
)
sa.Index("ix_audit_log_entity", audit_log.c.entity, audit_log.c.entity_key, audit_log.c.seq)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
)

#: Challenge nonces accepted once (:class:`livecert.ledger.nonces.DatabaseNonceStore`), kept
#: until a while after they expire.  Not audited: the web server's working state (0003).
used_nonces = sa.Table(
    "used_nonces",
    metadata,
    sa.Column("nonce", sa.String(128), primary_key=True),
    sa.Column("expires_at", sa.Double(), nullable=False),
)
sa.Index("ix_used_nonces_expires_at", used_nonces.c.expires_at)

#: One claim and one answer per web session (:class:`livecert.serve.claims.UploadLog`);
#: unix seconds.  Not audited (0003).
serve_uploads = sa.Table(
    "serve_uploads",
    metadata,
    sa.Column("session_id", sa.String(128), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("claimed_at", sa.Double(), nullable=False),
    sa.Column("finished_at", sa.Double(), nullable=True),
    sa.Column("status", sa.Integer(), nullable=True),
    sa.Column("body", sa.Text(), nullable=True),
)
sa.Index("ix_serve_uploads_claimed_at", serve_uploads.c.claimed_at)

#: Tables whose rows are never updated or deleted (triggers refuse it).
APPEND_ONLY = ("policies", "attempts", "payment_events", "audit_log")

#: Tables whose rows the audit log covers, by name (each written row's hash is in an entry).
AUDITED: dict[str, sa.Table] = {
    "settings": settings,
    "policies": policies,
    "persons": persons,
    "attempts": attempts,
    "attempt_frames": attempt_frames,
    "payment_events": payment_events,
}


def key_of(table: sa.Table) -> sa.Column[object]:
    """The one primary-key column of an audited table."""
    (col,) = table.primary_key.columns
    return col
