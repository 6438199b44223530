"""Several ``livecert serve`` instances on ONE database (a SQLite file, and a throwaway
PostgreSQL server, tests/ledger_pg.py): a session made on one is answered on the other, once;
a challenge nonce is spent exactly once however many processes spend it at the same moment;
an interrupted or duplicated upload gets exactly one answer; a server from before the shared
tables carries its used challenges over."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="livecert serve needs the serve extra (pip install 'livecert[serve]')")
pytest.importorskip("httpx", reason="the API tests need httpx (the serve-test extra)")

import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from livecert.app.cli import main as cli_main  # noqa: E402
from livecert.errors import ChallengeError, InputError  # noqa: E402
from livecert.ledger.db import head_revision  # noqa: E402
from livecert.ledger.nonces import DatabaseNonceStore  # noqa: E402
from livecert.ledger.policy import default_policies  # noqa: E402
from livecert.ledger.store import Ledger  # noqa: E402
from livecert.liveness.challenge import SQLiteNonceStore, generate_key  # noqa: E402
from livecert.liveness.digits import ChallengeOptions  # noqa: E402
from livecert.serve.app import Service, create_app  # noqa: E402
from livecert.serve.claims import ClaimState, UploadLog  # noqa: E402
from livecert.serve.config import ServeConfig  # noqa: E402
from livecert.serve.server import import_legacy, open_ledger  # noqa: E402
from livecert.serve.tokens import SessionGrant  # noqa: E402
from livecert.session.verify import verify  # noqa: E402
from tests.unit.test_serve import make_service  # noqa: E402

from ..ledger_pg import PostgresServer, postgres_server  # noqa: E402, F401
from .paths import SAMPLE  # noqa: E402

#: Processes spending the same nonces at once, and nonces each of them tries.
PROCESSES, NONCES = 4, 40


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One ledger for the module's instances (``livecert ledger init``'s work done first): a
    SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("shared") / "ledger.sqlite")
        Ledger.create(db, policies=default_policies()).close()
        yield db
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    Ledger.create(server.url(name), policies=default_policies()).close()
    yield server.url(name)
    server.drop_database(name)


@dataclass
class Pair:
    """Two instances of one deployment: the same database and signing key, their own workers."""

    db: str
    a: Service
    b: Service
    ca: TestClient
    cb: TestClient


@pytest.fixture(scope="module")
def pair(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    key = generate_key()
    # every session carries a challenge nonce for verify() to spend; no rate limit in the way
    config = ServeConfig(blink_prompts=1, rate_burst=1000)
    a = make_service(tmp_path_factory.mktemp("a"), config=config, db=backend, key=key)
    b = make_service(tmp_path_factory.mktemp("b"), config=config, db=backend, key=key)
    a.clock = b.clock = time.time
    with TestClient(create_app(a)) as ca, TestClient(create_app(b)) as cb:
        yield Pair(backend, a, b, ca, cb)


def _session(client: TestClient) -> tuple[str, dict[str, str]]:
    s = client.post("/api/sessions", json={}).json()
    return s["session_id"], {"Authorization": f"Bearer {s['token']}"}


def _upload(client: TestClient, sid: str, auth: dict[str, str], data: bytes) -> tuple[int, dict[str, object]]:
    r = client.post(f"/api/sessions/{sid}/recording", content=data, headers=auth)
    return r.status_code, r.json()


def _spent(db: str) -> list[str]:
    with DatabaseNonceStore(db) as store:
        return store.spent()


def _reasons(body: dict[str, object]) -> list[str]:
    return [str(r["code"]) for r in body.get("reasons", [])]  # type: ignore[attr-defined]


def test_session_made_on_one_instance_is_answered_on_the_other_once(pair: Pair) -> None:
    data = SAMPLE.read_bytes()
    sid, auth = _session(pair.ca)
    assert pair.cb.get(f"/api/sessions/{sid}", headers=auth).status_code == 200
    status, answer = _upload(pair.cb, sid, auth, data)
    assert status == 200, answer
    assert answer["meta"]["challenge_nonce"] == sid  # type: ignore[index]
    assert "CHALLENGE_REUSED" not in _reasons(answer)
    assert _spent(pair.db).count(sid) == 1
    # the same recording replayed to the other instance: the stored answer, not a second check
    assert _upload(pair.ca, sid, auth, data) == (200, answer)
    # another recording for the session, on either instance: refused with the stable code
    for client in (pair.ca, pair.cb):
        status, body = _upload(client, sid, auth, data + b"\x00")
        assert status == 409 and body["error"]["code"] == "SESSION_USED"  # type: ignore[index]
    # and the challenge itself is spent for every process on the database: verify() refuses it
    grant = SessionGrant.from_token(auth["Authorization"].removeprefix("Bearer "), pair.a.key)
    assert grant.challenge_token is not None
    with DatabaseNonceStore(pair.db) as store:
        again = verify(data, challenge=ChallengeOptions(grant.challenge_token, key=pair.a.key, nonce_store=store))
    assert not again.passed and "CHALLENGE_REUSED" in [r.code for r in again.reasons]


def test_same_recording_to_both_instances_at_once_is_checked_once(pair: Pair) -> None:
    data = SAMPLE.read_bytes()
    sid, auth = _session(pair.cb)
    start = threading.Barrier(2)
    outcomes: list[tuple[int, dict[str, object]]] = []

    def send(client: TestClient) -> None:
        start.wait()
        outcomes.append(_upload(client, sid, auth, data))

    threads = [threading.Thread(target=send, args=(c,)) for c in (pair.ca, pair.cb)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers = [body for status, body in outcomes if status == 200]
    refused = [body["error"]["code"] for status, body in outcomes if status != 200]  # type: ignore[index]
    # one check ran; the other request waited for it (SESSION_BUSY) or got its stored answer
    assert len(answers) >= 1 and set(refused) <= {"SESSION_BUSY"}, outcomes
    final = {json.dumps(_upload(c, sid, auth, data)[1], sort_keys=True) for c in (pair.ca, pair.cb)}
    assert len(final) == 1 and all(json.dumps(a, sort_keys=True) in final for a in answers)
    assert "CHALLENGE_REUSED" not in _reasons(json.loads(final.pop()))
    assert _spent(pair.db).count(sid) == 1


def test_interrupted_upload_gets_exactly_one_answer(pair: Pair) -> None:
    """A killed instance's claim: busy while it may still be running, taken over by the other
    instance once stale; the killed check's late answer is dropped for the stored one."""
    data = SAMPLE.read_bytes()
    sid, auth = _session(pair.ca)
    sha = hashlib.sha256(data).hexdigest()
    fresh = pair.a.uploads.claim(sid, sha)
    assert fresh.state is ClaimState.CLAIMED
    status, body = _upload(pair.cb, sid, auth, data)
    assert status == 409 and body["error"]["code"] == "SESSION_BUSY"  # type: ignore[index]
    pair.a.uploads.release(sid, fresh.claimed_at)
    stale = pair.a.uploads.claim(sid, sha, now=time.time() - 10 * pair.a.config.max_check_s)
    assert stale.state is ClaimState.CLAIMED
    status, answer = _upload(pair.cb, sid, auth, data)  # A "was killed": B takes the claim over
    assert status == 200 and "CHALLENGE_REUSED" not in _reasons(answer), answer
    late = pair.a.uploads.finish(sid, 200, '{"late": true}')
    assert late.state is ClaimState.DONE and json.loads(late.body) == answer
    assert _upload(pair.ca, sid, auth, data) == (200, answer)
    assert _spent(pair.db).count(sid) == 1


def _spend_all(db: str, nonces: list[str], start: object, out: object) -> None:
    """In a spawned process: open the store, wait for the others, spend every nonce."""
    store = DatabaseNonceStore(db)
    start.wait()  # type: ignore[attr-defined]
    now = time.time()
    won = [n for n in nonces if store.consume(n, now + 600, now)]
    out.put(won)  # type: ignore[attr-defined]
    store.close()


def test_nonce_spent_by_several_processes_at_once_is_won_once(backend: str) -> None:
    """Measured: 4 processes x 40 nonces, each won exactly once, on SQLite and PostgreSQL."""
    ctx = multiprocessing.get_context("spawn")
    nonces = [f"race-{backend[:6]}-{i:03d}-{time.time_ns()}" for i in range(NONCES)]
    start, out = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_spend_all, args=(backend, nonces, start, out)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    won = [n for _ in procs for n in out.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    assert sorted(won) == sorted(nonces)  # every nonce once: no double spend, none lost
    spent = _spent(backend)
    assert all(spent.count(n) == 1 for n in nonces)


def test_store_upgrades_a_ledger_and_refuses_bad_input(backend: str) -> None:
    with DatabaseNonceStore(backend) as store:
        assert store.consume("once", 2e9, 1e9) and not store.consume("once", 2e9, 1e9)
        with pytest.raises(ChallengeError):
            store.consume("x" * 129, 2e9, 1e9)
        # expired nonces are forgotten after the grace period, the others kept
        assert store.consume("old", 100.0, 1e9)
        assert store.purge(1e9) >= 1 and "old" not in store.spent() and "once" in store.spent()
    engine = sa.create_engine(backend if "://" in backend else f"sqlite:///{backend}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    engine.dispose()
    with pytest.raises(InputError):
        DatabaseNonceStore("mysql://host/db")


def test_unreachable_database_is_a_coded_error() -> None:
    with pytest.raises(ChallengeError) as err:
        UploadLog("postgresql://nobody@127.0.0.1:1/none")
    assert err.value.code == "NONCE_STORE_UNAVAILABLE" and "127.0.0.1" in str(err.value)


def test_an_older_servers_files_are_carried_over(tmp_path: Path) -> None:
    """A server from before 0003 kept nonces.sqlite and uploads.sqlite in its data folder:
    what they hold stays spent and answered after the upgrade."""
    now = time.time()
    with SQLiteNonceStore(tmp_path / "nonces.sqlite") as old:
        assert old.consume("spent-before", now + 300, now)
    with closing(sqlite3.connect(tmp_path / "uploads.sqlite")) as conn, conn:
        conn.execute(
            "CREATE TABLE uploads (session_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
            "claimed_at REAL NOT NULL, finished_at REAL, status INTEGER, body TEXT) WITHOUT ROWID"
        )
        conn.execute("INSERT INTO uploads VALUES ('s1', 'abc', ?, ?, 200, '{\"passed\": true}')", (now - 5, now - 4))
    db = str(tmp_path / "ledger.sqlite")
    uploads = UploadLog(db)
    import_legacy(tmp_path, db, uploads)
    import_legacy(tmp_path, db, uploads)  # again (the next start): nothing twice
    with DatabaseNonceStore(db) as store:
        assert not store.consume("spent-before", now + 300, now)
    done = uploads.claim("s1", "abc")
    assert done.state is ClaimState.DONE and json.loads(done.body) == {"passed": True}
    assert uploads.claim("s1", "other").state is ClaimState.USED
    assert uploads.count() == (1, 1)
    uploads.close()


@pytest.mark.parametrize("attempt", range(8))
def test_two_servers_starting_at_once_open_one_ledger(tmp_path: Path, attempt: int) -> None:
    """Instances started together on a missing SQLite file: one creates it, the others open it
    once it is whole (without the lock, 4 tries in 78 found it created but still empty, "not a
    livecert ledger"; 8 tries make that show)."""
    db = str(tmp_path / "ledger.sqlite")
    start = threading.Barrier(4)
    opened: list[object] = []

    def open_it() -> None:
        start.wait()
        try:
            ledger = open_ledger(db)
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            opened.append(exc)
            return
        opened.append(ledger.dialect)
        ledger.close()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert opened == ["sqlite"] * 4


@pytest.mark.parametrize("attempt", range(8))
def test_ledger_init_and_a_server_starting_at_once_make_one_ledger(
    tmp_path: Path, attempt: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """`livecert ledger init` and a server started together on a missing SQLite file take the
    same lock: one creates the ledger; the server then opens it, or init says it is a ledger
    already.  Never both creating it at once (duplicate settings) or a half-made file."""
    db = str(tmp_path / "ledger.sqlite")
    start = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def serve() -> None:
        start.wait()
        try:
            with open_ledger(db) as ledger:
                outcome["serve"] = ledger.dialect
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            outcome["serve"] = exc

    def init() -> None:
        start.wait()
        try:
            outcome["init"] = cli_main(["ledger", "init", "--db", db, "--json"])
        except BaseException as exc:  # noqa: BLE001 - a traceback is a failure here
            outcome["init"] = exc

    threads = [threading.Thread(target=serve), threading.Thread(target=init)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    said = capsys.readouterr().out  # --json: the answer or the error object
    assert outcome["serve"] == "sqlite", outcome
    assert outcome["init"] in (0, 2), (outcome, said)
    if outcome["init"] == 2:
        assert "is a ledger already" in said, said
    with Ledger.open(db) as ledger:
        assert ledger.settings.time_zone and len(ledger.policies()) == len(default_policies())
