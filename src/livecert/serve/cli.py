"""``livecert serve``: the web server, in one command and no other service.

Run with ``livecert serve [--host 127.0.0.1] [--port 8000] [--workers N] [--db PATH|URL]
[--key-file KEY]``.  The parser is here; the server (:mod:`livecert.serve.server`) is imported only when the
command runs, so that ``livecert`` works without the serve extra.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from livecert.config import Mode
from livecert.errors import import_extra
from livecert.serve.config import ServeConfig

#: Environment variable holding the admin API key (else ``--api-key-file``).
API_KEY_ENV = "LIVECERT_API_KEY"

_P = TypeVar("_P", bound=argparse.ArgumentParser)

#: Third-party modules of the serve extra (a missing one is MISSING_DEPENDENCY).
SERVE_MODULES = frozenset({"fastapi", "starlette", "pydantic", "uvicorn", "sqlalchemy", "alembic"})


def _port(text: str) -> int:
    """A TCP port number from the command line (argparse reports the error as a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 1 to 65535, not {value}")
    return value


def add_parser(sub: argparse._SubParsersAction[_P]) -> None:
    """Register ``livecert serve`` on the command's subparsers."""
    s = sub.add_parser("serve", help="the capture page and the web API (needs the serve extra)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=_port, default=8000, help="port, 1-65535 (default 8000)")
    s.add_argument("--workers", type=int, default=1, help="processes that verify recordings (default 1)")
    s.add_argument("--queue", type=int, default=8, help="recordings that may wait for a worker (default 8)")
    s.add_argument("--data-dir", type=Path, default=Path("livecert-serve"), help="where the server keeps its files")
    s.add_argument("--db", help="the ledger: a SQLite file or a postgresql:// URL (default DATA_DIR/ledger.sqlite)")
    s.add_argument("--key-file", type=Path, help="key signing sessions and challenges (default DATA_DIR/session.key)")
    s.add_argument(
        "--api-key-file", type=Path, help=f"admin API key file (default ${API_KEY_ENV}, else DATA_DIR/api.key)"
    )
    s.add_argument("--mode", choices=[m.value for m in Mode], default="blink", help="default mode of a session")
    s.add_argument(
        "--blink-prompts",
        type=int,
        default=ServeConfig.blink_prompts,
        help=f"'blink now' prompts in a blink session (0-5, default {ServeConfig.blink_prompts}; 0: blink freely)",
    )
    s.add_argument(
        "--mouth-prompts",
        type=int,
        default=ServeConfig.mouth_prompts,
        help=f"'open your mouth' prompts among them (0-3, default {ServeConfig.mouth_prompts})",
    )
    s.add_argument(
        "--turn-prompts",
        type=int,
        default=ServeConfig.turn_prompts,
        help=f"'turn your head' prompts among them (0-3, default {ServeConfig.turn_prompts})",
    )
    s.add_argument("--max-upload-mb", type=float, default=40.0, help="largest recording taken, MB (default 40)")
    s.add_argument(
        "--rate-per-minute", type=float, default=30.0, help="requests per minute per client address (default 30)"
    )
    s.add_argument(
        "--max-check-s",
        type=float,
        default=120.0,
        help="a check unanswered after this many seconds (server killed) may run again (default 120)",
    )
    s.add_argument(
        "--no-open-sessions", action="store_true", help="only sessions bound to a person (made with the API key)"
    )
    s.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="a reverse proxy or load balancer (address or network, repeatable) whose X-Forwarded-For "
        "names the client for the rate limit (default: none; the socket's peer is the client)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``livecert serve``; returns when the server stops.

    Raises
    ------
    ModelError
        ``MISSING_DEPENDENCY`` without the serve extra.
    """
    server = import_extra("livecert.serve.server", extra="serve", needs=SERVE_MODULES, what="livecert serve")
    return cast(Callable[[argparse.Namespace], int], server.serve)(args)
