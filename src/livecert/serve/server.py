"""Build and start the server of ``livecert serve`` (needs the serve extra: FastAPI, uvicorn,
and the ledger's SQLAlchemy).

The signing key and the admin API key live in ``--data-dir`` (default ``./livecert-serve``)
unless given elsewhere; the ledger, the used challenges and the uploads table in the ledger's
database (``--db``: a SQLite file, default ``DATA_DIR/ledger.sqlite``, or a ``postgresql://``
URL), which several servers may share.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import stat
import sys
from pathlib import Path

import uvicorn

from livecert.config import Mode
from livecert.errors import ErrorCode, InputError
from livecert.ledger.db import creation_lock
from livecert.ledger.nonces import DatabaseNonceStore
from livecert.ledger.policy import default_policies
from livecert.ledger.store import Ledger
from livecert.liveness.challenge import generate_key, load_key, save_key
from livecert.serve.app import Service, create_app
from livecert.serve.claims import UploadLog
from livecert.serve.config import ServeConfig
from livecert.serve.pool import VerifierPool
from livecert.serve.ratelimit import RateLimiter

log = logging.getLogger(__name__)

#: Environment variable holding the admin API key (else ``--api-key-file``).
API_KEY_ENV = "LIVECERT_API_KEY"


def _secret_file(path: Path, make: bool) -> str:
    if not path.exists():
        if not make:
            raise InputError(f"API key file {path} does not exist", code=ErrorCode.FILE_NOT_FOUND)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
        log.warning("created an admin API key in %s", path)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users; run: chmod 600 %s", path, path)
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 16:
        raise InputError(f"API key file {path} holds fewer than 16 characters", code=ErrorCode.BAD_KEY)
    return text


def open_ledger(target: str) -> Ledger:
    """The ledger at ``target``, created (with the shipped policies) when a SQLite file is
    missing; a PostgreSQL database is made a ledger by ``livecert ledger init --db URL``."""
    if "://" in target:
        return Ledger.open(target)
    with creation_lock(target):  # servers started at once: one creates it, the others wait
        if not Path(target).exists():
            return Ledger.create(target, policies=default_policies(), actor="serve")
        return Ledger.open(target)


def build_service(args: argparse.Namespace) -> Service:
    """The :class:`~livecert.serve.app.Service` the parsed ``livecert serve`` arguments describe."""
    config = ServeConfig(
        workers=args.workers,
        max_queue=args.queue,
        max_upload_bytes=int(args.max_upload_mb * 1e6),
        default_mode=Mode(args.mode),
        blink_prompts=args.blink_prompts,
        mouth_prompts=args.mouth_prompts,
        turn_prompts=args.turn_prompts,
        open_sessions=not args.no_open_sessions,
        rate_per_minute=args.rate_per_minute,
        max_check_s=args.max_check_s,
        trusted_proxies=tuple(args.trusted_proxy),
    )
    data: Path = args.data_dir
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {data} ({exc.strerror})", code=ErrorCode.CANNOT_WRITE) from None
    key_file: Path = args.key_file or data / "session.key"
    if args.key_file is None and not key_file.exists():
        save_key(key_file, generate_key())
    admin_key = os.environ.get(API_KEY_ENV) or _secret_file(
        args.api_key_file or data / "api.key", make=args.api_key_file is None
    )
    db: str = args.db or str(data / "ledger.sqlite")
    ledger = open_ledger(db)  # creates or upgrades the schema, the single-use tables with it
    uploads = UploadLog(db, stale_s=config.max_check_s, keep_s=max(86_400.0, 2 * config.session_ttl_s))
    import_legacy(data, db, uploads)
    return Service(
        config=config,
        key=load_key(key_file),
        admin_key=admin_key,
        ledger=ledger,
        uploads=uploads,
        db=db,
        pool=VerifierPool(config.workers, config.max_queue),
        limiter=RateLimiter(config.rate_per_minute, config.rate_burst),
    )


def import_legacy(data: Path, db: str, uploads: UploadLog) -> None:
    """Carry the used challenges and the answers of a server from before 0003 (SQLite files
    ``nonces.sqlite`` and ``uploads.sqlite`` in ``data``) into the database, so that nothing
    spent or answered before the upgrade can be used again; the files are only read."""
    old_nonces, old_uploads = data / "nonces.sqlite", data / "uploads.sqlite"
    if old_nonces.is_file():
        with DatabaseNonceStore(db) as nonces:
            n = nonces.import_sqlite(old_nonces)
        log.warning("%d used challenges carried over from %s; the file is no longer used", n, old_nonces)
    if old_uploads.is_file():
        n = uploads.import_sqlite(old_uploads)
        log.warning("%d upload answers carried over from %s; the file is no longer used", n, old_uploads)


def serve(args: argparse.Namespace) -> int:
    """Start the server; returns when it stops (Ctrl-C)."""
    service = build_service(args)
    # The structured log: one JSON object per line on stderr, apart from the command's own log lines.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("livecert.serve.access", "livecert.serve.app"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False
    print(f"livecert serve: http://{args.host}:{args.port}/ (data in {args.data_dir})", file=sys.stderr)
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from 127.0.0.1 as the
    # client; --trusted-proxy decides that (livecert.serve.proxy), for the rate limit only.
    uvicorn.run(
        create_app(service),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )
    return 0
