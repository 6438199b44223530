"""Indexes that a suspension does not write: the due list's and the suspension batch's.

0001 indexed ``(suspended, due_from)`` and ``(suspended, due_on)``: suspending someone moved
their entries within both, at scattered places of each, which made the suspension batch
write most of both indexes again in every transaction.  Now ``ix_persons_due_from``
(``due_from``) serves the due list and ``ix_persons_overdue`` (``policy_id, due_on``) what
``Ledger.suspend_overdue`` looks up; neither holds ``suspended``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("ix_persons_due_from", table_name="persons")
    op.drop_index("ix_persons_due_on", table_name="persons")
    op.create_index("ix_persons_due_from", "persons", ["due_from"])
    op.create_index("ix_persons_overdue", "persons", ["policy_id", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_persons_overdue", table_name="persons")
    op.drop_index("ix_persons_due_from", table_name="persons")
    op.create_index("ix_persons_due_on", "persons", ["suspended", "due_on"])
    op.create_index("ix_persons_due_from", "persons", ["suspended", "due_from"])
