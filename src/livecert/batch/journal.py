"""The results file of a batch: JSON Lines, one finished row per line.

Each row is appended as one line with one ``write``, then flushed and
``fsync``-ed, so a crash loses at most the row being written.  Opening an
existing file reads the rows already finished (a re-run skips them); a torn
last line (a crash in the middle of a write: no final newline) is cut off.
The file is locked while a batch writes it, so two runs cannot both append
to it and duplicate rows.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from livecert.errors import ErrorCode, InputError, ModelError

try:  # POSIX; elsewhere the file is not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: A result row as written: JSON values only.
Row = dict[str, object]


def jsonable(value: object) -> object:
    """``value`` as strict JSON values: nan and inf become None, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


class Journal:
    """An append-only, resumable JSON Lines results file.

    Parameters
    ----------
    path : str or Path
        Created if missing (its folder must exist).

    Attributes
    ----------
    rows : dict of str to dict
        The rows already in the file, by id (the earlier runs' and this one's).
    torn : bool
        The file ended in a torn line, which was cut off when it was opened.

    Raises
    ------
    InputError
        ``CANNOT_WRITE`` when the file cannot be opened for appending;
        ``BAD_RESULTS_FILE`` when another batch is writing it, or a
        complete line is not a JSON object with an ``id`` (the file is not
        a livecert results file: choose another).

    Use as a context manager.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows: dict[str, Row] = {}
        self.torn = False
        try:
            self._fh = open(self.path, "a+b")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise InputError(
                f"{self.path}: cannot open the results file ({exc.strerror}); check that its folder exists "
                "and is writable",
                code=ErrorCode.CANNOT_WRITE,
            ) from None
        try:
            self._lock()
            self._read()
        except BaseException:
            self._fh.close()
            raise

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            return
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(
                f"{self.path}: another livecert batch is writing this results file; wait for it to finish, "
                "or write to another file",
                code=ErrorCode.BAD_RESULTS_FILE,
            ) from None

    def _read(self) -> None:
        self._fh.seek(0)
        data = self._fh.read()
        end = data.rfind(b"\n") + 1  # after the last complete line
        if end < len(data):
            self.torn = True
            log.warning(
                "%s: the last line was cut short (a run was interrupted while writing it); removing it, "
                "its row runs again",
                self.path,
            )
            self._fh.truncate(end)
            self._sync()
        for number, raw in enumerate(data[:end].splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(
                    f"{self.path}, line {number}: not a JSON object ({exc}); this is not a livecert batch results "
                    "file, or it was edited: write to a new file",
                    code=ErrorCode.BAD_RESULTS_FILE,
                ) from None
            if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                raise InputError(
                    f"{self.path}, line {number}: a row without an id; this is not a livecert batch results "
                    "file: write to a new file",
                    code=ErrorCode.BAD_RESULTS_FILE,
                )
            if row["id"] in self.rows:
                log.warning("%s, line %d: id %r is there twice; the first one counts", self.path, number, row["id"])
                continue
            self.rows[row["id"]] = row

    def __contains__(self, row_id: object) -> bool:
        return row_id in self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: Row) -> None:
        """Write one finished row and make it durable (flush and fsync).

        Raises
        ------
        InputError
            ``BAD_ARGUMENT`` for a row without a string id or with an id
            already written; ``CANNOT_WRITE`` when the disk refuses.
        """
        row_id = row.get("id")
        if not isinstance(row_id, str):
            raise InputError(f"a result row needs a string id, not {row_id!r}", code=ErrorCode.BAD_ARGUMENT)
        if row_id in self.rows:
            raise InputError(f"row {row_id!r} is already in {self.path}", code=ErrorCode.BAD_ARGUMENT)
        line = json.dumps(jsonable(row), ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
        try:
            self._fh.write(line.encode("utf-8"))
            self._sync()
        except OSError as exc:
            raise InputError(
                f"{self.path}: cannot write a result ({exc.strerror}); free some disk space, then run the same "
                "command again to go on",
                code=ErrorCode.CANNOT_WRITE,
            ) from None
        self.rows[row_id] = row

    def _sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Unlock and close the file.  Safe to call twice."""
        if not self._fh.closed:
            self._fh.close()  # closing releases the lock

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


#: Parquet columns taken from a row (the rest is in ``result_json``).
_PARQUET_FIELDS = ("id", "line", "video", "mode", "status", "passed", "liveness_passed", "identity_passed")


def write_parquet(rows: Sequence[Row], path: Path) -> Path:
    """Write result rows as a Parquet table, one row each, in the order given.

    Columns: ``id``, ``line``, ``video``, ``mode``, ``status``, ``passed``,
    ``liveness_passed``, ``identity_passed``, ``reason_codes`` (list of
    str), ``error_code``, ``error_message``, ``duration_s``, ``frames``,
    ``result_json`` (the whole ``result`` as JSON text) and ``worker_pid``.

    Raises
    ------
    ModelError
        ``MISSING_DEPENDENCY`` without pyarrow.
    InputError
        ``CANNOT_WRITE`` when the file cannot be written.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ModelError(
            "Parquet output needs pyarrow; install it with pip install 'livecert[parquet]'",
            code=ErrorCode.MISSING_DEPENDENCY,
        ) from None
    columns: dict[str, list[object]] = {name: [] for name in _PARQUET_FIELDS}
    extra: dict[str, list[object]] = {
        k: [] for k in ("reason_codes", "error_code", "error_message", "duration_s", "frames", "result_json")
    }
    extra["worker_pid"] = []
    for row in rows:
        for name in _PARQUET_FIELDS:
            columns[name].append(row.get(name))
        error, worker = _mapping(row.get("error")), _mapping(row.get("worker"))
        result = _mapping(row.get("result")) or None
        frames = _mapping(result.get("frames")) if result is not None else {}
        codes = row.get("reason_codes")
        extra["reason_codes"].append(list(codes) if isinstance(codes, list) else [])
        extra["error_code"].append(error.get("code"))
        extra["error_message"].append(error.get("message"))
        extra["duration_s"].append(result.get("duration_s") if result is not None else None)
        extra["frames"].append(frames.get("total"))
        extra["result_json"].append(
            None if result is None else json.dumps(jsonable(result), ensure_ascii=False, allow_nan=False)
        )
        extra["worker_pid"].append(worker.get("pid"))
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("line", pa.int64()),
            ("video", pa.string()),
            ("mode", pa.string()),
            ("status", pa.string()),
            ("passed", pa.bool_()),
            ("liveness_passed", pa.bool_()),
            ("identity_passed", pa.bool_()),
            ("reason_codes", pa.list_(pa.string())),
            ("error_code", pa.string()),
            ("error_message", pa.string()),
            ("duration_s", pa.float64()),
            ("frames", pa.int64()),
            ("result_json", pa.string()),
            ("worker_pid", pa.int64()),
        ]
    )
    table = pa.table(columns | extra, schema=schema)
    try:
        pq.write_table(table, str(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot write the Parquet file ({exc})", code=ErrorCode.CANNOT_WRITE) from None
    return path


def _mapping(value: object) -> dict[str, object]:
    """``value`` when it is a JSON object, else an empty one."""
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}
