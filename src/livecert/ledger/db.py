"""Opening the ledger's database: engine settings for SQLite and PostgreSQL, and migrations.

SQLite (a file, the default): write-ahead log, ``synchronous=FULL`` (a committed write is on
disk before the commit returns, so a crash loses nothing that was acknowledged), foreign keys
on, a 60 s busy timeout, and every write transaction begins ``IMMEDIATE`` (it takes the write
lock first, so two writers never deadlock upgrading a read lock).  PostgreSQL (a
``postgresql://`` URL, driver psycopg 3): the server's defaults (``fsync``, synchronous commit)
and row locks taken by the ledger.  The schema is created and upgraded by the Alembic scripts
in ``migrations/``, run under a lock so that several processes may open a ledger at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from livecert.errors import ErrorCode, InputError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: Execution option marking a connection whose transactions write (SQLite: BEGIN IMMEDIATE).
WRITE = "livecert_ledger_write"


@contextlib.contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a write transaction (SQLite: ``BEGIN IMMEDIATE``), committed when the
    block ends and rolled back when it raises."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


_PG_MIGRATION_LOCK = 0x4C454447  # "LEDG": the advisory lock held while migrating


def database_url(target: str | Path) -> sa.URL:
    """The SQLAlchemy URL of a ledger: a ``postgresql://`` (or ``sqlite://``) URL as given,
    anything else a SQLite file path."""
    text = str(target)
    if "://" not in text:
        return sa.URL.create("sqlite", database=str(Path(text).expanduser().resolve()))
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError:
        raise InputError(f"{text!r} is not a database URL or a file path", code=ErrorCode.BAD_ARGUMENT) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(
            f"the ledger runs on SQLite or PostgreSQL, not {url.get_backend_name()}; give a file path "
            "or a postgresql:// URL",
            code=ErrorCode.BAD_ARGUMENT,
        )
    return url


@contextlib.contextmanager
def creation_lock(target: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<file>.lock`` beside a SQLite ledger while it is looked for
    and created: a ledger file that another process (a server starting, ``livecert ledger
    init``) is still creating exists before its tables and settings do.  Nothing for a URL
    (PostgreSQL creates a ledger in one transaction), and nothing where the lock file cannot
    be made (no such folder, no write access): there is nothing to create there either, and
    the create or open in the block says so.  Not re-entrant: do not nest it for one file.

    Raises
    ------
    InputError
        ``BAD_ARGUMENT``: ``target`` is neither a file path nor a database URL
        (:func:`database_url`).
    """
    url = database_url(target)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield
        return
    db = Path(url.database)
    try:
        fh = open(db.with_name(db.name + ".lock"), "ab")  # closed below, after the lock
    except OSError:
        yield
        return
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield


def safe_name(url: sa.URL) -> str:
    """The URL without its password, for messages."""
    return url.render_as_string(hide_password=True)


def make_engine(url: sa.URL) -> sa.Engine:
    """An engine with the ledger's settings for its dialect."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 60.0}, pool_size=8, max_overflow=64)
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=32)


def _sqlite_connect(dbapi_connection: object, _record: object) -> None:
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]  # BEGIN is ours (_sqlite_begin)
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=60000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def alembic_config(conn: sa.Connection) -> Config:
    """An Alembic configuration that migrates ``conn`` with the ledger's scripts (for
    ``alembic.command.upgrade`` / ``downgrade`` to a given revision)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest schema revision this livecert knows."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(conn: sa.Connection) -> str | None:
    """The database's schema revision (None before the first migration)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def migrate(engine: sa.Engine) -> str:
    """Create or upgrade the schema to :func:`head_revision`; the revision.

    Raises
    ------
    InputError
        ``LEDGER_VERSION``: the database was written by a newer livecert.
    """
    head = head_revision()
    with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        current = current_revision(conn)
        if current == head:
            return head
        try:
            command.upgrade(alembic_config(conn), "head")
        except CommandError as exc:
            raise InputError(
                f"the ledger's schema is at revision {current}, which this livecert does not know "
                f"(it knows up to {head}); upgrade livecert ({exc})",
                code=ErrorCode.LEDGER_VERSION,
            ) from None
        log.info("ledger schema upgraded from %s to %s", current, head)
    return head
