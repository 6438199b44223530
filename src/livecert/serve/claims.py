"""One result per session: the uploads table, in the ledger's database.

Before a recording is checked, its session is *claimed* with the recording's SHA-256; the
answer is stored when the check ends.  A second upload of the same recording (a retry after
a lost connection) gets the stored answer; another recording for the same session is
refused (``SESSION_USED``).  A claim whose check never finished (the server was killed) is
taken over after ``stale_s``.  The table (``serve_uploads``) lives in the ledger's database,
a SQLite file or PostgreSQL, through the same SQLAlchemy code, so that several servers on
one database answer each session once: a claim is an ``INSERT`` on the session's key (one
of two servers claiming at once wins), a take-over and the answer are conditional updates.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass

import sqlalchemy as sa

from livecert.enums import StrEnum
from livecert.ledger.db import write_transaction
from livecert.ledger.nonces import insert_new, open_engine, sqlite_rows, store_error
from livecert.ledger.schema import serve_uploads

log = logging.getLogger(__name__)

_WHAT = "uploads table"


class ClaimState(StrEnum):
    """What :meth:`UploadLog.claim` found."""

    #: The session is now this caller's: check the recording, then :meth:`UploadLog.finish`.
    CLAIMED = "claimed"
    #: This recording was checked before: :attr:`Claim.status` and :attr:`Claim.body` are the answer.
    DONE = "done"
    #: This recording is being checked right now.
    BUSY = "busy"
    #: Another recording was sent for this session.
    USED = "used"


@dataclass(frozen=True)
class Claim:
    """The outcome of a claim; ``status`` and ``body`` are set when ``state`` is ``DONE``,
    ``claimed_at`` (this claim's mark, for :meth:`UploadLog.release`) when ``CLAIMED``."""

    state: ClaimState
    status: int = 0
    body: str = ""
    claimed_at: float = 0.0


class UploadLog:
    """The uploads table in the ledger's database.

    Parameters
    ----------
    target : str or PathLike
        The ledger database: a SQLite file or a ``postgresql://`` URL (its schema is created
        or upgraded to this livecert's).
    stale_s : float
        A claim older than this without an answer is taken over (its check was lost).
    keep_s : float
        Claims are forgotten this long after they were made (make it longer than a session
        lives: an expired session is refused before its claim is looked at).
    purge_every_s : float
        Old claims are deleted at most this often.

    Raises
    ------
    ChallengeError
        ``NONCE_STORE_UNAVAILABLE``: the database cannot be reached or written.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        stale_s: float = 300.0,
        keep_s: float = 86_400.0,
        purge_every_s: float = 60.0,
    ) -> None:
        self.url, self._engine = open_engine(target, _WHAT)
        self._stale, self._keep, self._purge_every = float(stale_s), float(keep_s), float(purge_every_s)
        self._purged_at = -math.inf

    def claim(self, session_id: str, sha256: str, now: float | None = None) -> Claim:
        """Claim ``session_id`` for the recording whose SHA-256 is ``sha256``."""
        now = time.time() if now is None else now
        t = serve_uploads
        try:
            for _ in range(3):  # a claim given back between our insert and our look: try again
                if insert_new(self._engine, sa.insert(t).values(session_id=session_id, sha256=sha256, claimed_at=now)):
                    self._purge(now)
                    return Claim(ClaimState.CLAIMED, claimed_at=now)
                with write_transaction(self._engine) as conn:
                    row = conn.execute(sa.select(t).where(t.c.session_id == session_id).with_for_update()).first()
                    if row is None:
                        continue
                    if row.sha256 != sha256:
                        return Claim(ClaimState.USED)
                    if row.finished_at is not None:
                        return Claim(ClaimState.DONE, int(row.status), str(row.body))
                    if now - row.claimed_at <= self._stale:
                        return Claim(ClaimState.BUSY)
                    # its check was lost: take it over (row locked: PostgreSQL FOR UPDATE, SQLite one writer)
                    conn.execute(sa.update(t).where(t.c.session_id == session_id).values(claimed_at=now))
                    return Claim(ClaimState.CLAIMED, claimed_at=now)
        except sa.exc.SQLAlchemyError as exc:
            raise store_error(self.url, _WHAT, exc) from None
        return Claim(ClaimState.BUSY)

    def finish(self, session_id: str, status: int, body: str, now: float | None = None) -> Claim:
        """Store the answer to a claimed session's recording; the session's answer.

        The first answer stored is the session's: when another server answered the same
        claim first (it took over a claim that looked lost), its answer is returned (``DONE``)
        and this one is dropped, so that every upload of the recording gets the same answer.
        """
        now = time.time() if now is None else now
        t = serve_uploads
        try:
            with write_transaction(self._engine) as conn:
                done = conn.execute(
                    sa.update(t)
                    .where(t.c.session_id == session_id, t.c.finished_at.is_(None))
                    .values(finished_at=now, status=status, body=body)
                )
                if done.rowcount == 0:
                    row = conn.execute(sa.select(t.c.status, t.c.body).where(t.c.session_id == session_id)).first()
                    if row is not None and row.status is not None:
                        return Claim(ClaimState.DONE, int(row.status), str(row.body))
        except sa.exc.SQLAlchemyError as exc:
            raise store_error(self.url, _WHAT, exc) from None
        return Claim(ClaimState.DONE, status, body)

    def release(self, session_id: str, claimed_at: float | None = None) -> None:
        """Give a claim back without an answer (nothing was checked: the client may send it
        again); with ``claimed_at``, only that claim (not another server's take-over)."""
        t = serve_uploads
        where = [t.c.session_id == session_id, t.c.finished_at.is_(None)]
        if claimed_at is not None:
            where.append(t.c.claimed_at == claimed_at)
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(sa.delete(t).where(*where))
        except sa.exc.SQLAlchemyError as exc:
            raise store_error(self.url, _WHAT, exc) from None

    def count(self) -> tuple[int, int]:
        """(claims, answered claims): for the load test's bookkeeping."""
        t = serve_uploads
        with self._engine.connect() as conn:
            total, done = conn.execute(sa.select(sa.func.count(), sa.func.count(t.c.finished_at))).one()
        return int(total), int(done)

    def import_sqlite(self, path: str | os.PathLike[str], *, now: float | None = None) -> int:
        """Copy the claims of the last ``keep_s`` from an older server's ``uploads.sqlite``, so
        that a session answered before an upgrade keeps its answer; how many were new here.
        A missing file imports nothing."""
        now = time.time() if now is None else now
        cols = ("session_id", "sha256", "claimed_at", "finished_at", "status", "body")
        rows = sqlite_rows(path, f"SELECT {', '.join(cols)} FROM uploads WHERE claimed_at >= ?", now - self._keep)
        return sum(insert_new(self._engine, sa.insert(serve_uploads).values(dict(zip(cols, r)))) for r in rows)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def _purge(self, now: float) -> None:
        if now - self._purged_at < self._purge_every:
            return
        self._purged_at = now
        t = serve_uploads
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(sa.delete(t).where(t.c.claimed_at < now - self._keep))
        except sa.exc.SQLAlchemyError as exc:  # housekeeping: another server may be purging too
            log.warning("old upload claims not purged this time (%s)", type(exc).__name__)
