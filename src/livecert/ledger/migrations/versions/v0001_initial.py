"""The first ledger schema: settings, policies, persons, attempts, frames, payment events and
the hash-chained audit log, with triggers that keep the history tables append-only.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

#: Tables no row of which may be changed or deleted.
_APPEND_ONLY = ("policies", "attempts", "payment_events", "audit_log")


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "policies",
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
    op.create_table(
        "persons",
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
    op.create_index("ix_persons_due_from", "persons", ["suspended", "due_from"])
    op.create_index("ix_persons_due_on", "persons", ["suspended", "due_on"])
    op.create_table(
        "attempts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
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
    op.create_index("ix_attempts_person", "attempts", ["person_id", "id"])
    op.create_table(
        "attempt_frames",
        sa.Column(
            "attempt_id",
            _ID,
            sa.ForeignKey("attempts.id", name="fk_attempt_frames_attempt"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("stored_on", sa.Date, nullable=False),
        sa.Column("jpeg", sa.LargeBinary, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=True),
    )
    op.create_index("ix_attempt_frames_stored_on", "attempt_frames", ["stored_on"])
    op.create_table(
        "payment_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "person_id", sa.String(64), sa.ForeignKey("persons.id", name="fk_payment_events_person"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("effective_month", sa.Date, nullable=False),
        sa.Column("back_pay_from", sa.Date, nullable=True),
        sa.Column("back_pay_months", sa.Integer, nullable=False),
        sa.Column("unpaid_months", sa.Integer, nullable=False),
        sa.Column("attempt_id", _ID, sa.ForeignKey("attempts.id", name="fk_payment_events_attempt"), nullable=True),
        sa.Column(
            "policy_id", sa.Integer, sa.ForeignKey("policies.id", name="fk_payment_events_policy"), nullable=False
        ),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_index("ix_payment_events_person", "payment_events", ["person_id", "id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", _ID, primary_key=True, autoincrement=False),
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
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_key", "seq"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _pg_triggers()
    else:
        _sqlite_triggers()


def _sqlite_triggers() -> None:
    def refuse(table: str, event: str) -> None:
        op.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'livecert ledger: {table} rows may not be {event.lower()}d'); END"
        )

    for table in _APPEND_ONLY:
        refuse(table, "UPDATE")
        refuse(table, "DELETE")
    refuse("persons", "DELETE")
    refuse("attempt_frames", "UPDATE")
    refuse("audit_head", "DELETE")


def _pg_triggers() -> None:
    op.execute(
        "CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION USING MESSAGE = 'livecert ledger: ' || TG_TABLE_NAME || ' rows may not be changed ('"
        " || TG_OP || ')'; END $$"
    )

    def refuse(table: str, events: str) -> None:
        op.execute(
            f"CREATE TRIGGER {table}_refuse_change BEFORE {events} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )

    for table in _APPEND_ONLY:
        refuse(table, "UPDATE OR DELETE")
    refuse("persons", "DELETE")
    refuse("attempt_frames", "UPDATE")
    refuse("audit_head", "DELETE")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*_APPEND_ONLY, "persons", "attempt_frames", "audit_head"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_change ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    for table in ("audit_head", "audit_log", "payment_events", "attempt_frames", "attempts", "persons"):
        op.drop_table(table)
    op.drop_table("policies")
    op.drop_table("settings")
