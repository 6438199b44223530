"""The batch manifest: one CSV row per recording, validated as a whole first.

Columns (a header row names them, in any order; only ``video`` is required):

``id``
    The row's key in the results file; default the ``video`` cell.  Ids are
    unique: a re-run skips the ids already in the results.
``video``
    The recording: a path relative to the manifest's folder (or to
    ``base``), or absolute.
``mode``
    ``blink`` or ``digits`` (default: the batch's default mode).
``enrolled``
    Enrollment photo or ``.npz`` file to match the face against (optional).
``expect_digits``
    Digits mode, for recordings whose digits are known: 1 to 8 digits (no
    single-use check), as ``livecert verify --expect-digits``.
``challenge``
    A signed challenge token (digits, or blink prompts), checked with the
    batch's key, as ``livecert verify --challenge``.

Empty lines and lines whose first cell starts with ``#`` are skipped.  A
missing or broken *file* is not a manifest error: that row becomes an error
row of the results and the batch goes on.  A malformed manifest (unknown
column, bad mode or digits, duplicate id, ...) is refused before any work
starts, with an :class:`~livecert.errors.InputError` (``BAD_MANIFEST``)
naming the line and the column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from livecert.config import Mode
from livecert.errors import ErrorCode, InputError

COLUMNS = ("id", "video", "mode", "enrolled", "expect_digits", "challenge")
REQUIRED = ("video",)
_DIGITS = re.compile(r"[0-9]{1,8}")


@dataclass(frozen=True)
class ManifestRow:
    """One validated manifest row.

    Attributes
    ----------
    id : str
        Key of the row in the results file (unique in the manifest).
    line : int
        Line of the manifest file (1-based), for messages.
    video : str
        The ``video`` cell as written.
    path : Path
        The recording, resolved against the manifest's base folder.
    mode : Mode
    enrolled : Path or None
        The enrollment photo or ``.npz``, resolved; None without one.
    expect_digits : str
        Known digits (digits mode), or empty.
    challenge : str
        A signed challenge token, or empty.
    """

    id: str
    line: int
    video: str
    path: Path
    mode: Mode
    enrolled: Path | None = None
    expect_digits: str = ""
    challenge: str = ""


@dataclass(frozen=True)
class Manifest:
    """A validated manifest.

    Attributes
    ----------
    name : str
        How messages call it (its file name).
    base : Path
        The folder relative paths were resolved against.
    rows : tuple of ManifestRow
        In file order.
    """

    name: str
    base: Path
    rows: tuple[ManifestRow, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ManifestRow]:
        return iter(self.rows)

    @property
    def needs_key(self) -> bool:
        """Some row has a signed challenge token (the batch needs the key it was signed with)."""
        return any(r.challenge for r in self.rows)


def _refuse(where: str, problem: str) -> InputError:
    return InputError(f"{where}: {problem}; nothing was run", code=ErrorCode.BAD_MANIFEST)


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _header(cells: Sequence[str], name: str, line: int) -> list[str]:
    header = [c.strip().lower() for c in cells]
    where = f"{name}, line {line} (header)"
    for i, col in enumerate(header, start=1):
        if not col:
            raise _refuse(where, f"column {i} has no name; name it ({', '.join(COLUMNS)}) or remove it")
        if col not in COLUMNS:
            raise _refuse(where, f"unknown column {col!r}; the columns are {', '.join(COLUMNS)}")
        if header.index(col) != i - 1:
            raise _refuse(where, f"column {col!r} appears twice")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise _refuse(
            where, f"no {', '.join(missing)} column; the first row must name the columns, e.g. 'id,video,mode'"
        )
    return header


def _row(cells: dict[str, str], line: int, name: str, base: Path, default_mode: Mode) -> ManifestRow:
    def where(column: str) -> str:
        return f"{name}, line {line}, column {column!r}"

    video = cells.get("video", "")
    if not video:
        raise _refuse(where("video"), "empty; give the recording's path")
    mode_text = cells.get("mode", "")
    try:
        mode = Mode(mode_text.lower()) if mode_text else default_mode
    except ValueError:
        choices = ", ".join(m.value for m in Mode)
        raise _refuse(where("mode"), f"unknown mode {mode_text!r}; use one of {choices}") from None
    digits, token = cells.get("expect_digits", ""), cells.get("challenge", "")
    if digits and not _DIGITS.fullmatch(digits):
        raise _refuse(where("expect_digits"), f"{digits!r} is not 1 to 8 digits")
    if digits and token:
        raise _refuse(where("challenge"), "give either expect_digits or challenge, not both")
    if mode is Mode.DIGITS and not (digits or token):
        raise _refuse(where("mode"), "digits mode needs the digits: fill expect_digits or challenge")
    if mode is Mode.BLINK and digits:
        raise _refuse(where("expect_digits"), "known digits need mode digits")
    enrolled = cells.get("enrolled", "")
    return ManifestRow(
        id=cells.get("id", "") or video,
        line=line,
        video=video,
        path=_resolve(base, video),
        mode=mode,
        enrolled=_resolve(base, enrolled) if enrolled else None,
        expect_digits=digits,
        challenge=token,
    )


def parse_manifest(text: str, *, base: Path, name: str = "manifest", default_mode: Mode | str = Mode.BLINK) -> Manifest:
    """Validate manifest CSV text.

    Parameters
    ----------
    text : str
        The CSV (see the module docstring for the columns).
    base : Path
        Relative paths are relative to this folder.
    name : str
        How messages call the manifest (its file name).
    default_mode : Mode or {"blink", "digits"}
        Mode of the rows whose ``mode`` cell is empty or absent.

    Returns
    -------
    Manifest

    Raises
    ------
    InputError
        ``BAD_MANIFEST``, at the first problem, naming the line and column:
        no header or no rows, an unknown or repeated column, a row with more
        cells than the header, an empty ``video``, an unknown mode, digits
        that are not 1 to 8 digits, digits mode without digits or challenge,
        a duplicate id, text that is not CSV.
    """
    mode = Mode.parse(default_mode)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[ManifestRow] = []
    seen: dict[str, int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = _header(cells, name, line)
                continue
            if len(cells) > len(header):
                raise _refuse(f"{name}, line {line}", f"{len(cells)} cells but the header names {len(header)} columns")
            row = _row({k: v.strip() for k, v in zip(header, cells)}, line, name, Path(base), mode)
            if row.id in seen:
                column = "id" if "id" in header else "video"
                raise _refuse(
                    f"{name}, line {line}, column {column!r}",
                    f"id {row.id!r} is already used on line {seen[row.id]}; ids must be unique"
                    + ("" if "id" in header else " (add an id column to run one recording twice)"),
                )
            seen[row.id] = line
            rows.append(row)
    except csv.Error as exc:
        raise _refuse(f"{name}, line {reader.line_num}", f"not valid CSV ({exc})") from None
    if header is None or not rows:
        raise _refuse(name, "no recordings listed (a header row such as 'id,video,mode', then one row per recording)")
    return Manifest(name=name, base=Path(base), rows=tuple(rows))


def load_manifest(
    path: str | Path, *, base: str | Path | None = None, default_mode: Mode | str = Mode.BLINK
) -> Manifest:
    """Read and validate a manifest file (see :func:`parse_manifest`).

    Parameters
    ----------
    path : str or Path
    base : str or Path, optional
        Folder relative paths start from; default the manifest's own folder.
    default_mode : Mode or {"blink", "digits"}

    Returns
    -------
    Manifest

    Raises
    ------
    InputError
        ``FILE_NOT_FOUND`` or ``FILE_UNREADABLE`` when the file cannot be
        read, ``BAD_MANIFEST`` when it is not UTF-8 text or not a valid
        manifest.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest file; check the path", code=ErrorCode.FILE_NOT_FOUND) from None
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read the manifest ({exc.strerror}); check the path and its permissions",
            code=ErrorCode.FILE_UNREADABLE,
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _refuse(f"{path}, line {line}", "not UTF-8 text; save the manifest as UTF-8 CSV") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise _refuse(f"{path}, line {line}", "holds a NUL byte: not a CSV text file")
    folder = Path(base) if base is not None else path.resolve().parent
    return parse_manifest(text, base=folder, name=str(path), default_mode=default_mode)
