"""Single-use challenge nonces in the ledger's database, shared by every process and machine
that opens it (:class:`DatabaseNonceStore`).

The same SQLAlchemy code runs on a SQLite file and on PostgreSQL.  A nonce is spent by an
``INSERT`` into ``used_nonces``, whose primary key is the nonce, in a transaction of its own:
of several processes or servers spending the same nonce at once, the database lets exactly
one insert commit and refuses the others (a unique-key violation), so exactly one of them
sees True.  Nonces are forgotten ``grace_s`` after they expire (an expired challenge is
refused before its nonce is looked at).
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa

from livecert.errors import ChallengeError, ErrorCode, LivecertError, SessionStateError
from livecert.ledger.db import database_url, make_engine, migrate, safe_name, write_transaction
from livecert.ledger.schema import used_nonces

log = logging.getLogger(__name__)

#: Longest nonce stored (the column's width); the server's are 22 characters.
MAX_NONCE = 128


def store_error(url: sa.URL, what: str, exc: Exception) -> ChallengeError:
    """``NONCE_STORE_UNAVAILABLE`` naming the database (never its password) and the cause."""
    cause = getattr(exc, "orig", None) or exc
    return ChallengeError(
        f"the {what} in {safe_name(url)} cannot be used ({type(cause).__name__}: {str(cause).strip()[:200]}); "
        "check that the database is reachable and writable, then try again",
        code=ErrorCode.NONCE_STORE_UNAVAILABLE,
    )


def open_engine(target: str | os.PathLike[str], what: str) -> tuple[sa.URL, sa.Engine]:
    """The engine of the ledger database ``target``, its schema created or upgraded.

    Raises
    ------
    ChallengeError
        ``NONCE_STORE_UNAVAILABLE``: the database cannot be reached or written.
    InputError
        ``BAD_ARGUMENT`` (not a path or a SQLite/PostgreSQL URL), ``LEDGER_VERSION``.
    """
    url = database_url(os.fspath(target))
    engine = make_engine(url)
    try:
        migrate(engine)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise store_error(url, what, exc) from None
    except LivecertError:
        engine.dispose()
        raise
    return url, engine


class DatabaseNonceStore:
    """The single-use store (:class:`~livecert.liveness.challenge.NonceStore`) in the ledger's
    database: a SQLite file or a ``postgresql://`` URL, shared by several processes or servers.

    Parameters
    ----------
    target : str or PathLike
        The ledger database (as ``livecert serve --db`` takes it); its schema is created or
        upgraded to this livecert's.
    grace_s : float
        Nonces are forgotten this long after they expire (clock-skew margin).
    purge_every_s : float
        Expired nonces are deleted at most this often (by the ``now`` given to :meth:`consume`).

    Raises
    ------
    ChallengeError
        ``NONCE_STORE_UNAVAILABLE``: the database cannot be reached or written.
    """

    def __init__(self, target: str | os.PathLike[str], *, grace_s: float = 600.0, purge_every_s: float = 60.0) -> None:
        self.url, self._engine = open_engine(target, "used-challenge table")
        self._grace, self._purge_every = float(grace_s), float(purge_every_s)
        self._purged_at = -math.inf
        self._closed = False

    def consume(self, nonce: str, expires_at: float, now: float) -> bool:
        """True the first time ``nonce`` is spent anywhere on this database, else False."""
        if self._closed:
            raise SessionStateError("DatabaseNonceStore used after close(); open a new one")
        if not 1 <= len(nonce) <= MAX_NONCE:
            raise ChallengeError(f"a challenge nonce has 1 to {MAX_NONCE} characters, not {len(nonce)}")
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(sa.insert(used_nonces).values(nonce=nonce, expires_at=float(expires_at)))
        except sa.exc.IntegrityError:
            return False
        except sa.exc.SQLAlchemyError as exc:
            raise store_error(self.url, "used-challenge table", exc) from None
        if now - self._purged_at >= self._purge_every:
            self._purged_at = now
            self.purge(now)
        return True

    def purge(self, now: float) -> int:
        """Forget nonces that expired more than ``grace_s`` before ``now``; how many.

        Housekeeping: a failure (another server purging the same rows) is logged, not raised.
        """
        try:
            with write_transaction(self._engine) as conn:
                done = conn.execute(sa.delete(used_nonces).where(used_nonces.c.expires_at < now - self._grace))
            return int(done.rowcount)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("used challenges not purged this time (%s)", type(exc).__name__)
            return 0

    def spent(self) -> list[str]:
        """Every nonce remembered (for tests and the load test's bookkeeping)."""
        with self._engine.connect() as conn:
            return [str(n) for n in conn.execute(sa.select(used_nonces.c.nonce)).scalars()]

    def import_sqlite(self, path: str | os.PathLike[str], *, now: float | None = None) -> int:
        """Copy the nonces still remembered from a :class:`~livecert.liveness.challenge.SQLiteNonceStore`
        file (an older server's ``nonces.sqlite``), so that a challenge spent before an upgrade
        stays spent; how many were new here.  A missing file imports nothing."""
        now = time.time() if now is None else now
        rows = sqlite_rows(path, "SELECT nonce, expires_at FROM used_nonces WHERE expires_at >= ?", now - self._grace)
        return sum(insert_new(self._engine, sa.insert(used_nonces).values(nonce=n, expires_at=e)) for n, e in rows)

    def close(self) -> None:
        """Release the database connections."""
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> DatabaseNonceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sqlite_rows(path: str | os.PathLike[str], query: str, *params: object) -> list[tuple[object, ...]]:
    """Rows of ``query`` on an older server's SQLite file (none when it or its table is missing)."""
    if not Path(path).is_file():
        return []
    try:
        with closing(sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)) as conn:
            return [tuple(r) for r in conn.execute(query, params)]
    except sqlite3.Error as exc:
        log.warning("%s not imported (%s)", path, exc)
        return []


def insert_new(engine: sa.Engine, statement: sa.Insert) -> bool:
    """Run one insert in a write transaction of its own; False when its key exists already."""
    try:
        with write_transaction(engine) as conn:
            conn.execute(statement)
    except sa.exc.IntegrityError:
        return False
    return True
