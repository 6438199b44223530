"""The web server's single-use tables, so that several ``livecert serve`` instances share them.

``used_nonces``: challenge nonces that :func:`livecert.verify` accepted, each once (the primary
key: of two instances inserting the same nonce, exactly one succeeds), forgotten a while after
they expire.  ``serve_uploads``: one claim and one answer per session
(:class:`livecert.serve.claims.UploadLog`).  Neither is part of the audited ledger: rows are
deleted when they expire, and the audit chain does not cover them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "used_nonces",
        sa.Column("nonce", sa.String(128), primary_key=True),
        sa.Column("expires_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_used_nonces_expires_at", "used_nonces", ["expires_at"])
    op.create_table(
        "serve_uploads",
        sa.Column("session_id", sa.String(128), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
    )
    op.create_index("ix_serve_uploads_claimed_at", "serve_uploads", ["claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_serve_uploads_claimed_at", table_name="serve_uploads")
    op.drop_table("serve_uploads")
    op.drop_index("ix_used_nonces_expires_at", table_name="used_nonces")
    op.drop_table("used_nonces")
