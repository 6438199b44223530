"""The audit log: an append-only hash chain over every write to the ledger.

Each entry names what was written (table and key), carries the SHA-256 of the written row
(:func:`row_hash`, over a canonical form that reads the same from SQLite and PostgreSQL), a
short detail without personal data, and the previous entry's hash; its own hash covers all of
that (:func:`entry_hash`).  ``audit_head`` holds the last entry's number and hash, and is
locked by every writer, so the chain is one line even with many writers.  A batch (the
suspension of thousands of people) writes one entry per table instead of one per row: its key
is :data:`BATCH_KEY`, its detail lists every written row's key and hash, and its
``row_sha256`` is the hash of that list, so each row is covered exactly as by an entry of its
own.

:func:`verify_ledger` walks the chain and then every audited table: an entry changed,
removed or inserted breaks the chain; a row changed, deleted or added outside the ledger no
longer matches the hash of its latest entry.  Anyone able to rewrite the whole chain from the
tampered row on can hide a change; write the head hash (``livecert ledger audit`` prints it)
somewhere the database's administrators cannot change, and compare.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from json.encoder import encode_basestring as _encode_str

import sqlalchemy as sa

from livecert.enums import StrEnum
from livecert.ledger.schema import AUDITED, audit_head, audit_log, key_of

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64

#: ``entity_key`` of an entry that records many rows (it has spaces: no row key has).
BATCH_KEY = "(batch of rows)"

_HEAD_ID = 1


class AuditAction(StrEnum):
    """What an audit entry records."""

    SETTING = "setting"
    POLICY_LOADED = "policy_loaded"
    PERSON_ADDED = "person_added"
    PERSON_ENROLLED = "person_enrolled"
    PERSON_UPDATED = "person_updated"
    ATTEMPT_RECORDED = "attempt_recorded"
    FRAME_STORED = "frame_stored"
    FRAME_PURGED = "frame_purged"
    SUSPENDED = "suspended"
    RESUMED = "resumed"


class ProblemKind(StrEnum):
    """What :func:`verify_ledger` found wrong."""

    #: An entry's hash does not match its contents (the entry was changed).
    ENTRY_CHANGED = "entry_changed"
    #: An entry does not carry the previous entry's hash (entries removed, inserted or reordered).
    CHAIN_BROKEN = "chain_broken"
    #: Entry numbers skip (entries removed).
    SEQUENCE_GAP = "sequence_gap"
    #: ``audit_head`` does not name the last entry (entries removed from the end, or added).
    HEAD_MISMATCH = "head_mismatch"
    #: A row differs from what its latest entry recorded.
    ROW_CHANGED = "row_changed"
    #: A row recorded by the log is missing.
    ROW_DELETED = "row_deleted"
    #: A row has no entry (written outside the ledger).
    ROW_NOT_AUDITED = "row_not_audited"


@dataclass(frozen=True)
class AuditProblem:
    """One thing wrong with the ledger.

    Attributes
    ----------
    kind : ProblemKind
    entity : str
        The table (``"audit_log"`` for the chain itself).
    key : str
        The row's key, or the entry number.
    detail : str
    """

    kind: ProblemKind
    entity: str
    key: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "entity": self.entity, "key": self.key, "detail": self.detail}


@dataclass(frozen=True)
class AuditReport:
    """What :func:`verify_ledger` checked.

    Attributes
    ----------
    entries : int
        Audit entries walked.
    rows : dict of str to int
        Rows checked per table.
    head_seq : int
    head_hash : str
        The last entry's hash: note it down outside the database to detect a rewritten chain.
    problems : tuple of AuditProblem
    """

    entries: int
    rows: dict[str, int]
    head_seq: int
    head_hash: str
    problems: tuple[AuditProblem, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "intact": self.intact,
            "entries": self.entries,
            "rows": dict(self.rows),
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "problems": [p.to_dict() for p in self.problems],
        }


def canonical(value: object) -> object:
    """A column value in the form that is hashed: dates ISO, times UTC ISO with microseconds
    (a time without zone, as SQLite returns it, is UTC), bytes as their SHA-256."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is datetime:
        return _canonical_time(value)
    if kind is date:
        return _canonical_date(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, datetime):
        return _canonical_time(value)
    if isinstance(value, date):
        return _canonical_date(value)
    raise TypeError(f"cannot hash a {type(value).__name__} column value")


@functools.lru_cache(maxsize=4096)
def _canonical_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.lru_cache(maxsize=65536)
def _canonical_date(value: date) -> str:
    return value.isoformat()


def _json(value: object) -> str:
    """``value`` as ``json.dumps(canonical(value), ensure_ascii=False)`` writes it."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is date:  # ISO dates and times need no escaping
        return '"' + _canonical_date(value) + '"'
    if kind is datetime:
        return '"' + _canonical_time(value) + '"'
    plain = canonical(value)
    if isinstance(plain, str):
        return _encode_str(plain)
    if isinstance(plain, int) and not isinstance(plain, bool):
        return int.__repr__(plain)
    return _json(plain)


@functools.cache
def _layout(table: sa.Table, skip: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """``table``'s column names (less ``skip``) in ``sort_keys`` order, each with its JSON
    key prefix, and the text that ends a :func:`row_hash` document."""
    names = tuple(sorted(c.name for c in table.columns if c.name != skip))
    return names, tuple(_encode_str(n) + ":" for n in names), ',"table":' + _encode_str(table.name) + "}"


def _object(names: tuple[str, ...], keys: tuple[str, ...], row: Mapping[str, object] | sa.RowMapping) -> str:
    return "{" + ",".join([k + _json(row[n]) for k, n in zip(keys, names)]) + "}"


def row_hasher(
    table: sa.Table, columns: Sequence[str], fixed: Mapping[str, object]
) -> Callable[[Sequence[object]], str]:
    """:func:`row_hash` for many rows of ``table`` that share the values in ``fixed``: those
    are encoded once, the others read from each row by position.

    Parameters
    ----------
    table : sqlalchemy.Table
    columns : sequence of str
        The columns of each row given to the hasher, in order (a fixed column listed here is
        ignored).
    fixed : mapping of str to object
        Values every row has.

    Raises
    ------
    KeyError
        A column of ``table`` is neither in ``columns`` nor in ``fixed``.
    """
    names, keys, tail = _layout(table)
    at = {n: i for i, n in enumerate(columns)}
    missing = [n for n in names if n not in fixed and n not in at]
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    parts = [k + _json(fixed[n]) if n in fixed else "" for k, n in zip(keys, names)]
    varying = [(slot, k, at[n]) for slot, (k, n) in enumerate(zip(keys, names)) if n not in fixed]

    def hasher(row: Sequence[object]) -> str:
        out = parts.copy()
        for slot, k, i in varying:
            out[slot] = k + _json(row[i])
        return hashlib.sha256(('{"row":{' + ",".join(out) + "}" + tail).encode("utf-8")).hexdigest()

    return hasher


def row_hash(table: sa.Table, row: Mapping[str, object] | sa.RowMapping) -> str:
    """SHA-256 of a row of ``table`` (every column; ``KeyError`` if one is missing).

    The hashed text is ``json.dumps({"table": name, "row": {column: canonical(value)}},
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, written column by column
    (names sorted once per table) because the suspension batch hashes hundreds of thousands
    of rows.
    """
    names, keys, tail = _layout(table)
    text = '{"row":' + _object(names, keys, row) + tail
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(entry: Mapping[str, object] | sa.RowMapping) -> str:
    """SHA-256 of an audit entry: every column but ``entry_hash`` itself (``sort_keys`` JSON
    of the canonical values, as :func:`row_hash` without the table wrapper)."""
    names, keys, _ = _layout(audit_log, "entry_hash")
    return hashlib.sha256(_object(names, keys, entry).encode("utf-8")).hexdigest()


class AuditWriter:
    """Appends entries to the chain inside the caller's transaction.

    Create it after taking the transaction's row locks: it locks ``audit_head`` (the last
    lock any writer takes, so writers never deadlock), and :meth:`flush` writes the entries
    and moves the head before the caller commits.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        In a write transaction.
    """

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        head = conn.execute(sa.select(audit_head).where(audit_head.c.id == _HEAD_ID).with_for_update()).one()
        self._seq = int(head.seq)
        self._hash = str(head.entry_hash)
        self._pending: list[dict[str, object]] = []

    def append(
        self,
        *,
        at: datetime,
        actor: str,
        action: AuditAction,
        entity: str,
        key: object,
        row_sha256: str | None,
        detail: Mapping[str, object] | None = None,
    ) -> int:
        """Add one entry; its number."""
        text = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self._chain(at, actor, action, entity, str(key), row_sha256, text)

    def append_batch(
        self, *, at: datetime, actor: str, action: AuditAction, entity: str, rows: Mapping[str, str]
    ) -> int:
        """Add one entry recording many rows of ``entity``; its number.

        Its detail is ``rows`` as a JSON object (keys sorted), its ``row_sha256`` the SHA-256
        of that text.

        Parameters
        ----------
        rows : mapping of str to str
            Each written row's key (as text) and :func:`row_hash`.
        """
        listed = "{" + ",".join([_encode_str(k) + ":" + _encode_str(v) for k, v in sorted(rows.items())]) + "}"
        listed_sha256 = hashlib.sha256(listed.encode("utf-8")).hexdigest()
        return self._chain(at, actor, action, entity, BATCH_KEY, listed_sha256, listed)

    def _chain(
        self,
        at: datetime,
        actor: str,
        action: AuditAction,
        entity: str,
        entity_key: str,
        row_sha256: str | None,
        detail: str,
    ) -> int:
        """Chain one entry to the previous one's hash and queue it; its number."""
        self._seq += 1
        entry: dict[str, object] = {
            "seq": self._seq,
            "at": at,
            "actor": actor,
            "action": action.value,
            "entity": entity,
            "entity_key": entity_key,
            "row_sha256": row_sha256,
            "detail": detail,
            "prev_hash": self._hash,
        }
        entry["entry_hash"] = self._hash = entry_hash(entry)
        self._pending.append(entry)
        return self._seq

    def flush(self) -> None:
        """Write the entries and the new head (call once, before commit)."""
        if not self._pending:
            return
        self._conn.execute(sa.insert(audit_log), self._pending)
        self._conn.execute(
            sa.update(audit_head).where(audit_head.c.id == _HEAD_ID).values(seq=self._seq, entry_hash=self._hash)
        )
        self._pending = []


def init_head(conn: sa.Connection) -> None:
    """Create the empty chain's head (once, when the ledger is created)."""
    if conn.execute(sa.select(audit_head.c.id)).first() is None:
        conn.execute(sa.insert(audit_head).values(id=_HEAD_ID, seq=0, entry_hash=GENESIS))


def _stream(conn: sa.Connection, query: sa.Select[tuple[object, ...]]) -> Iterator[sa.Row[tuple[object, ...]]]:
    yield from conn.execution_options(stream_results=True, yield_per=5000).execute(query)


def _batch_rows(entry: sa.RowMapping) -> dict[str, str] | None:
    """The rows a batch entry records (key to hash); None when its list does not hash to its
    ``row_sha256`` or is not such a mapping."""
    text = str(entry["detail"])
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != entry["row_sha256"]:
        return None
    try:
        rows = json.loads(text)
    except ValueError:
        return None
    if not isinstance(rows, dict) or not all(isinstance(v, str) for v in rows.values()):
        return None
    return rows


def verify_ledger(conn: sa.Connection, *, tables: Iterable[str] | None = None) -> AuditReport:
    """Walk the chain, then check every row of the audited tables against its latest entry.

    Parameters
    ----------
    conn : sqlalchemy.Connection
    tables : iterable of str, optional
        Audited tables to check (default all of :data:`~livecert.ledger.schema.AUDITED`).
    """
    problems: list[AuditProblem] = []
    latest: dict[str, dict[str, str | None]] = {name: {} for name in AUDITED}
    prev, expected_seq, n = GENESIS, 1, 0
    for row in _stream(conn, sa.select(audit_log).order_by(audit_log.c.seq)):
        entry = row._mapping
        n += 1
        seq = int(entry["seq"])
        if seq != expected_seq:
            problems.append(
                AuditProblem(ProblemKind.SEQUENCE_GAP, "audit_log", str(seq), f"expected entry {expected_seq}")
            )
        if entry["prev_hash"] != prev:
            problems.append(
                AuditProblem(ProblemKind.CHAIN_BROKEN, "audit_log", str(seq), "does not follow the previous entry")
            )
        if entry_hash(entry) != entry["entry_hash"]:
            problems.append(AuditProblem(ProblemKind.ENTRY_CHANGED, "audit_log", str(seq), "hash does not match"))
        prev, expected_seq = str(entry["entry_hash"]), seq + 1
        hashes = latest.get(str(entry["entity"]))
        if hashes is not None and entry["entity_key"] == BATCH_KEY:
            rows = _batch_rows(entry)
            if rows is None:
                problems.append(
                    AuditProblem(ProblemKind.ENTRY_CHANGED, "audit_log", str(seq), "its list of rows does not match")
                )
            else:
                hashes.update(rows)
        elif hashes is not None:
            sha = entry["row_sha256"]
            hashes[str(entry["entity_key"])] = None if sha is None else str(sha)
    head = conn.execute(sa.select(audit_head).where(audit_head.c.id == _HEAD_ID)).one()
    if int(head.seq) != expected_seq - 1 or head.entry_hash != prev:
        problems.append(
            AuditProblem(
                ProblemKind.HEAD_MISMATCH,
                "audit_head",
                str(head.seq),
                f"head names entry {head.seq}, the log ends at {expected_seq - 1}",
            )
        )
    counts: dict[str, int] = {}
    for name in tables if tables is not None else AUDITED:
        table = AUDITED[name]
        recorded = latest[name]
        seen = 0
        key_col = key_of(table)
        for row in _stream(conn, sa.select(table)):
            seen += 1
            key = str(row._mapping[key_col.name])
            want = recorded.pop(key, "missing")
            if want == "missing":
                problems.append(AuditProblem(ProblemKind.ROW_NOT_AUDITED, name, key, "no audit entry"))
            elif want is None:
                problems.append(AuditProblem(ProblemKind.ROW_NOT_AUDITED, name, key, "the log says it was deleted"))
            elif row_hash(table, row._mapping) != want:
                problems.append(AuditProblem(ProblemKind.ROW_CHANGED, name, key, "differs from its audit entry"))
        for key, sha in recorded.items():
            if sha is not None:
                problems.append(AuditProblem(ProblemKind.ROW_DELETED, name, key, "in the audit log, not in the table"))
        counts[name] = seen
    return AuditReport(n, counts, expected_seq - 1, prev, tuple(problems))
