"""One result per session: the uploads table, in SQLite.

Before a recording is checked, its session is *claimed* with the recording's SHA-256; the
answer is stored when the check ends.  A second upload of the same recording (a retry after
a lost connection) gets the stored answer; another recording for the same session is
refused (``SESSION_USED``).  A claim whose check never finished (the server was killed) is
taken over after ``stale_s``.  Safe across threads and processes (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from livecert.enums import StrEnum
from livecert.errors import ChallengeError, ErrorCode


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
    """The outcome of a claim; ``status`` and ``body`` are set when ``state`` is ``DONE``."""

    state: ClaimState
    status: int = 0
    body: str = ""


class UploadLog:
    """The uploads table in an SQLite file.

    Parameters
    ----------
    path : str or PathLike
        Database file, created if missing.
    stale_s : float
        A claim older than this without an answer is taken over (its check was lost).
    timeout_s : float
        How long to wait for another writer's lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, stale_s: float = 300.0, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self._stale = float(stale_s)
        self._timeout = float(timeout_s)
        try:
            with closing(self._connect()) as conn:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS uploads (session_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
                    "claimed_at REAL NOT NULL, finished_at REAL, status INTEGER, body TEXT) WITHOUT ROWID"
                )
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def claim(self, session_id: str, sha256: str, now: float | None = None) -> Claim:
        """Claim ``session_id`` for the recording whose SHA-256 is ``sha256``."""
        now = time.time() if now is None else now
        try:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute(
                    "SELECT sha256, claimed_at, finished_at, status, body FROM uploads WHERE session_id = ?",
                    (session_id,),
                ).fetchone()
                if row is None or (row[2] is None and now - row[1] > self._stale and row[0] == sha256):
                    conn.execute(
                        "INSERT OR REPLACE INTO uploads (session_id, sha256, claimed_at) VALUES (?, ?, ?)",
                        (session_id, sha256, now),
                    )
                    conn.execute("COMMIT")
                    return Claim(ClaimState.CLAIMED)
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from exc
        if row[0] != sha256:
            return Claim(ClaimState.USED)
        if row[2] is None:
            return Claim(ClaimState.BUSY)
        return Claim(ClaimState.DONE, int(row[3]), str(row[4]))

    def finish(self, session_id: str, status: int, body: str, now: float | None = None) -> None:
        """Store the answer to a claimed session's recording."""
        now = time.time() if now is None else now
        try:
            with closing(self._connect()) as conn:
                conn.execute(
                    "UPDATE uploads SET finished_at = ?, status = ?, body = ? WHERE session_id = ?",
                    (now, status, body, session_id),
                )
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from exc

    def release(self, session_id: str) -> None:
        """Give a claim back without an answer (nothing was checked: the client may send it again)."""
        try:
            with closing(self._connect()) as conn:
                conn.execute("DELETE FROM uploads WHERE session_id = ? AND finished_at IS NULL", (session_id,))
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from exc

    def count(self) -> tuple[int, int]:
        """(claims, answered claims): for the load test's bookkeeping."""
        with closing(self._connect()) as conn:
            total, done = conn.execute("SELECT count(*), count(finished_at) FROM uploads").fetchone()
        return int(total), int(done)


def _error(path: Path, exc: sqlite3.Error) -> ChallengeError:
    return ChallengeError(
        f"the uploads database {path} cannot be used ({exc}); check that its folder exists and is writable",
        code=ErrorCode.NONCE_STORE_UNAVAILABLE,
    )
