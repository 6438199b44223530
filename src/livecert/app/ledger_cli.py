"""``livecert ledger``: the certification ledger on the command line (the arguments).

The commands themselves are in :mod:`livecert.app.ledger_commands`, loaded when a ``ledger``
command runs: they need the ``ledger`` extra (SQLAlchemy, Alembic, psycopg, cryptography),
which the other commands do not, and would add about a second to every ``livecert`` start.

Exit codes: 0 done (``certify``: certified; ``audit``: intact), 1 not certified or audit
problems, 2 unusable input or a usage error (with ``--json``, one
``{"error": {"code", "message"}}`` object on stdout).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import NoReturn, TypeVar, cast

from livecert.errors import ErrorCode, InputError, LivecertError, import_extra
from livecert.ledger.policy import BenefitType, Channel

#: Python modules the ledger commands need (the ``ledger`` extra).
LEDGER_MODULES = frozenset({"sqlalchemy", "alembic", "psycopg", "cryptography"})

LANGS = ("en", "zh")

Clock = Callable[[], datetime]
_P = TypeVar("_P", bound=argparse.ArgumentParser)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _common(c: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options every ledger command takes (after the command's name)."""
    c.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="the ledger: a SQLite file or a postgresql:// URL (default: $LIVECERT_LEDGER)",
    )
    c.add_argument("--data-key", metavar="FILE", help="key file of a ledger that encrypts face data")
    c.add_argument("--clerk", metavar="ID", help="who is working (default: $LIVECERT_CLERK, else the login name)")
    c.add_argument("--json", action="store_true", help="print one JSON object on stdout (errors too)")
    c.add_argument("--lang", choices=LANGS, default="en", help="language of the report and errors (zh for clerks)")
    return c


def add_parser(sub: argparse._SubParsersAction[_P]) -> None:
    """Register ``ledger`` and its commands on the ``livecert`` parser's subcommands."""
    ledger = sub.add_parser("ledger", help="the certification ledger: who must certify when, suspension, audit")
    cmds = ledger.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")

    p = _common(cmds.add_parser("init", help="create a ledger (schema, settings, policies)"))
    p.add_argument("--policies", metavar="FILE", help="policy file (default: the shipped policies.json)")
    p.add_argument("--time-zone", default="Asia/Shanghai", help="zone of certification dates (default Asia/Shanghai)")
    p.add_argument(
        "--encrypt", action="store_true", help="encrypt face templates and frames with --data-key (created if missing)"
    )
    p.add_argument("--no-frames", action="store_true", help="do not keep the best face frame of online attempts")
    p.add_argument(
        "--frame-retention-days", type=int, default=730, help="purge-frames keeps frames this long (default 730)"
    )

    p = _common(cmds.add_parser("policies", help="list the stored policies, or load a file of new versions"))
    p.add_argument("--load", metavar="FILE", help="store the new policy versions of this file")

    p = _common(cmds.add_parser("add-person", help="register a person (registration counts as a certification)"))
    p.add_argument("person", metavar="ID")
    p.add_argument("--name", required=True)
    p.add_argument("--benefit", required=True, choices=[b.value for b in BenefitType])
    p.add_argument("--region", required=True, help="region code (a region's own policy applies when there is one)")
    p.add_argument("--registered", metavar="DATE", help="date the benefit was granted in person (default today)")

    p = _common(cmds.add_parser("enroll", help="store a person's face template from a photo"))
    p.add_argument("person", metavar="ID")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--photo", help="photo with exactly one face (JPEG or PNG)")
    src.add_argument("--enrollment", help="an enrollment file (.npz) from `livecert enroll`")

    p = _common(cmds.add_parser("certify", help="check a recording against the person and record the attempt"))
    p.add_argument("clip", help="the recording")
    p.add_argument("--person", required=True, metavar="ID")
    p.add_argument("--mode", choices=["blink", "digits"], default="blink")
    p.add_argument("--challenge", metavar="TOKEN", help="the challenge token the app was given")
    p.add_argument("--challenge-key", metavar="FILE", help="HMAC key file the token was signed with")
    p.add_argument(
        "--nonce-db",
        metavar="FILE",
        help="SQLite file recording used challenges (default: the ledger's own table, shared with livecert serve)",
    )

    p = _common(cmds.add_parser("record-offline", help="record a certification made in person"))
    p.add_argument("person", metavar="ID")
    p.add_argument("--channel", required=True, choices=[ch.value for ch in Channel if ch.offline])
    p.add_argument("--on", metavar="DATE", help="the day the person was seen (default today)")
    p.add_argument("--note", help="where (no personal data)")

    p = _common(cmds.add_parser("status", help="one person's status and history, or the count per status"))
    p.add_argument("person", metavar="ID", nargs="?")
    p.add_argument("--on", metavar="DATE", help="the date to judge (default today)")

    p = _common(cmds.add_parser("due", help="who must certify: due and overdue people on a date"))
    p.add_argument("--on", metavar="DATE", required=True)
    p.add_argument("--region", help="only this region")
    p.add_argument("--limit", type=int, default=200, help="rows to print (default 200; 0 for all)")

    p = _common(cmds.add_parser("suspend-overdue", help="suspend everyone past the deadline plus grace"))
    p.add_argument("--on", metavar="DATE", required=True)

    _common(cmds.add_parser("audit", help="verify the audit chain and every row; exit 1 on a problem"))

    p = _common(cmds.add_parser("export", help="write the persons (with status) or the attempts as CSV"))
    p.add_argument("--csv", action="store_true", required=True, help="CSV (the one format)")
    p.add_argument("--what", choices=["persons", "attempts"], default="persons")
    p.add_argument("--on", metavar="DATE", help="persons: the date of the status (default today)")
    p.add_argument("--out", metavar="FILE", help="file to write (default stdout)")

    p = _common(cmds.add_parser("purge-frames", help="delete stored frames past their retention"))
    p.add_argument("--on", metavar="DATE", help="default today")


def run(args: argparse.Namespace, *, clock: Clock = _utc_now) -> int:
    """Run a parsed ``ledger`` command; its exit code.

    Raises
    ------
    LivecertError
        For ``livecert``'s ``main()`` to print; ``MISSING_DEPENDENCY`` without the extra.
    """
    commands = import_extra("livecert.app.ledger_commands", extra="ledger", needs=LEDGER_MODULES, what="the ledger")
    return cast(Callable[..., int], commands.run)(args, clock=clock)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


def main(argv: Sequence[str] | None = None, *, clock: Clock = _utc_now) -> int:
    """``livecert ledger ...`` on its own (``python -m livecert.app.ledger_cli``), with an
    injectable clock for tests."""
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    lang = "zh" if "zh" in [b for a, b in zip(argv, argv[1:]) if a == "--lang"] else "en"
    root = _Parser(prog="livecert")
    add_parser(root.add_subparsers(dest="command", required=True))
    try:
        args = root.parse_args(["ledger", *argv])
        return run(args, clock=clock)
    except _UsageError as exc:
        return print_error(InputError(str(exc), code=ErrorCode.BAD_ARGUMENT), lang, as_json)
    except LivecertError as exc:
        return print_error(exc, lang, as_json)


def print_error(exc: LivecertError, lang: str, as_json: bool) -> int:
    """One JSON object on stdout (``--json``) or one line on stderr; exit code 2."""
    message = exc.message_in(lang)
    if as_json:
        print(json.dumps({"error": {"code": exc.code.value, "message": message}}, ensure_ascii=False))
    else:
        print(f"livecert: {'错误' if lang == 'zh' else 'error'}: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
