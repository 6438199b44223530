"""Alembic migrations of the ledger's schema (run by :func:`livecert.ledger.db.migrate`)."""
