"""A throwaway PostgreSQL server for the ledger tests (and the ledger benchmark).

``postgres_server`` (session scope) runs Debian's ``postgresql`` server binaries
(``/usr/lib/postgresql/*/bin``, or ``initdb`` on PATH) on a cluster in a temporary folder, on a
free port of 127.0.0.1, and removes it afterwards; as root it runs them as the ``postgres``
user (the server refuses to run as root).  ``postgres_url`` gives each test a database of its
own.  When the server cannot be started the tests skip with the reason, and fail under
``CI=true`` (``scripts/test.sh`` installs the package there).  Import the fixtures into a test
module: ``from ..ledger_pg import postgres_server, postgres_url  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server: ``url(db)`` is a SQLAlchemy URL to one of its databases."""

    host: str
    port: int
    user: str
    data_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its name."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_bin_dir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: Debian's newest, else the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def start_postgres(*, fsync: bool = True) -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and remove its files on exit.

    Raises
    ------
    RuntimeError
        The server cannot be started here (the message says why).
    """
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise RuntimeError("psycopg is not installed (pip install 'livecert[ledger]')") from None
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no 'postgres' user to run the server as") from None
        runuser = shutil.which("runuser") or shutil.which("setpriv")
        if runuser is None:
            raise RuntimeError("running as root without runuser or setpriv to drop to the 'postgres' user")
        prefix = (
            [runuser, "-u", "postgres", "--"]
            if runuser.endswith("runuser")
            else [runuser, f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--init-groups"]
        )
    root = Path(tempfile.mkdtemp(prefix="livecert-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if owner is not None:
        for p in (root, sock):
            os.chown(p, owner.pw_uid, owner.pw_gid)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    user = "livecert"

    def run(*args: str, timeout: float = 60.0) -> None:
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=root)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {(proc.stderr or proc.stdout).strip()[-500:]}")

    port = _free_port()
    started = False
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        started = True
        yield PostgresServer("127.0.0.1", port, user, data)
    finally:
        if started:
            with contextlib.suppress(Exception):
                run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session (skipped, or failed under CI=true,
    when it cannot be started)."""
    try:
        cm = start_postgres(fsync=False)  # a throwaway: no need to survive a power cut, and 10x faster
        server = cm.__enter__()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        message = f"cannot start a throwaway PostgreSQL server: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database on the throwaway server, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
