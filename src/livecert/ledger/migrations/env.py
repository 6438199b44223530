"""Alembic environment: migrate the connection given by :func:`livecert.ledger.db.migrate`.

Run from the command line (a new revision: ``alembic -x url=sqlite:///ledger.sqlite revision
--autogenerate -m "..."`` with ``script_location`` pointing here), it opens ``-x url=...``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from livecert.ledger.schema import metadata


def _run(conn: sa.Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, sa.Connection):
        _run(given)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///ledger.sqlite ...")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        _run(conn)


main()
