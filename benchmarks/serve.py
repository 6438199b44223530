"""``livecert serve`` under load on loopback, killed and restarted mid-run.

    python -m benchmarks serve [--data DIR] [--clients 4] [--seconds 90] [--workers 2]
                               [--clips 8] [--instances 1] [--postgres] [--no-kill]
                               [--no-baseline] [--out FILE]

``livecert serve`` runs in a subprocess (its own process group) on a free loopback port.
``--clients`` threads each loop: create a session (blink mode with one "blink now" prompt,
so that every session carries a challenge nonce that ``verify()`` spends), upload a ZJU clip
(cycling through the first ``--clips``), read the answer.  A probe thread creates a session
every 0.25 s meanwhile: the latency of ``POST /api/sessions`` while uploads are verified.

* **Several instances** (``--instances N``): N servers, each on its own port with its own
  workers, on one database (the data folder's ``ledger.sqlite``, or with ``--postgres`` a
  throwaway PostgreSQL server as in ``tests/ledger_pg.py``) and one signing key, as behind a
  load balancer: a client creates each session on one instance and uploads to the next.
* **Kill and restart**: halfway through, the first server's process group is killed (SIGKILL)
  and the same command started again on the same data folder.  A client whose request fails
  sends the same recording to the same session again until it gets an answer; an upload
  whose check was killed is checked again once its claim is stale (``--max-check-s``).
* **Nothing lost**: every session a client created and uploaded to has exactly one answer
  (HTTP 200 with a result, or a coded refusal), a second upload of the same recording gets
  the same answer, and the used-challenge table (in the ledger's database) holds each
  session's nonce at most once:
  a challenge spent by a killed check is answered ``CHALLENGE_REUSED`` and is counted.
* **Figures**: sessions per minute (answers over the run's wall time), p50/p95/p99 of the
  upload-to-answer latency and of ``POST /api/sessions``, the server's peak resident memory
  (server and workers, summed per sample), and, with the baseline, ``verify()`` on the same
  clips in 2 parallel processes (answers per minute) for the throughput target.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import default_data_dir, default_out, metadata, positive_int, write_json, zju_clips
from livecert.ledger.nonces import DatabaseNonceStore
from livecert.ledger.policy import default_policies
from livecert.ledger.store import Ledger

log = logging.getLogger("benchmarks.serve")

#: Seconds a client keeps sending one recording again while the server is down or busy.
RETRY_FOR_S = 120.0


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``serve`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=default_data_dir(), help="shared data folder (default LIVECERT_DATA)")
    ap.add_argument("--clients", type=positive_int, default=4, help="concurrent uploading clients (default 4)")
    ap.add_argument("--seconds", type=positive_int, default=90, help="how long clients start new sessions (default 90)")
    ap.add_argument("--workers", type=positive_int, default=2, help="server worker processes (default 2)")
    ap.add_argument("--clips", type=positive_int, default=8, help="ZJU clips uploaded in turn (default 8)")
    ap.add_argument("--instances", type=positive_int, default=1, help="servers on one database (default 1)")
    ap.add_argument("--postgres", action="store_true", help="the servers' database on a throwaway PostgreSQL server")
    ap.add_argument("--no-kill", action="store_true", help="do not kill and restart the server mid-run")
    ap.add_argument("--no-baseline", action="store_true", help="skip verify() in 2 parallel processes")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/serve-DATE-HOST.json)")


@dataclass
class Upload:
    """One session's life, as a client saw it."""

    session_id: str
    clip: str
    sent_at: float
    answered_at: float | None = None
    status: int | None = None
    code: str | None = None
    tries: int = 0
    body: dict[str, Any] = field(default_factory=dict)


class Server:
    """``livecert serve`` in a subprocess that can be killed and started again."""

    def __init__(self, data: Path, port: int, workers: int, db: str | None = None) -> None:
        self.data, self.port, self.workers, self.db = data, port, workers, db
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss_mib = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start it; seconds until ``/healthz`` answered."""
        import httpx

        cmd = [sys.executable, "-m", "livecert", "serve", "--port", str(self.port), "--data-dir", str(self.data)]
        cmd += ["--workers", str(self.workers), "--queue", "64", "--rate-per-minute", "1000000", "--max-check-s", "20"]
        cmd += ["--blink-prompts", "1"] + ([] if self.db is None else ["--db", self.db])
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                raise RuntimeError(f"livecert serve exited with {self.proc.returncode}")
        if not self._sampler.is_alive():
            self._sampler.start()
        return time.perf_counter() - t0

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            proc = self.proc
            if proc is None or proc.poll() is not None:
                continue
            self.peak_rss_mib = max(self.peak_rss_mib, _group_rss_mib(proc.pid))


def _group_rss_mib(pgid: int) -> float:
    """Resident memory of every process in process group ``pgid``, MiB."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # field 5: process group
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # field 24: rss pages
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


def _client(
    servers: list[Server], first: int, clips: list[Path], until: float, uploads: list[Upload], lock: threading.Lock
) -> None:
    """Sessions on one instance, their uploads to the next (the same one when there is one); a
    retry after a failed connection goes to the next instance, as a load balancer's would, and
    the second upload of a recording to another one than the first."""
    import httpx

    i = 0
    with httpx.Client(timeout=120) as http:
        while time.monotonic() < until:
            maker, target = (first + i) % len(servers), (first + i + 1) % len(servers)
            clip = clips[i % len(clips)]
            i += 1
            try:
                s = http.post(f"{servers[maker].url}/api/sessions", json={}).json()
            except (httpx.HTTPError, ValueError):
                time.sleep(0.5)  # the server is down: try again
                continue
            up = Upload(s["session_id"], clip.name, time.monotonic())
            with lock:
                uploads.append(up)
            data = clip.read_bytes()
            path = f"/api/sessions/{s['session_id']}/recording"
            headers = {"Authorization": f"Bearer {s['token']}"}
            while time.monotonic() - up.sent_at < RETRY_FOR_S:
                up.tries += 1
                try:
                    r = http.post(servers[target].url + path, content=data, headers=headers)
                except httpx.HTTPError:
                    target = (target + 1) % len(servers)
                    time.sleep(1.0)
                    continue
                body = r.json()
                code = body.get("error", {}).get("code") if "error" in body else None
                if code in ("SESSION_BUSY", "SERVER_BUSY", "WORKER_CRASHED"):
                    time.sleep(1.0)
                    continue
                up.answered_at, up.status, up.code, up.body = time.monotonic(), r.status_code, code, body
                break
            # the same recording again (to another instance when there are several): the same
            # answer, not a second check
            if up.status == 200:
                try:
                    again = http.post(servers[(target + 1) % len(servers)].url + path, content=data, headers=headers)
                    if again.json() != up.body:
                        up.code = "SECOND_ANSWER_DIFFERS"
                except httpx.HTTPError:
                    pass  # that instance is down (being restarted): nothing to compare


def _probe(servers: list[Server], until: float, latencies: list[float]) -> None:
    import httpx

    i = 0
    with httpx.Client(timeout=30) as http:
        while time.monotonic() < until:
            server = servers[i % len(servers)]
            i += 1
            t0 = time.perf_counter()
            try:
                ok = http.post(f"{server.url}/api/sessions", json={}).status_code == 201
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - t0) * 1e3)
            time.sleep(0.25)


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    a = np.asarray(values)
    return {
        "p50": round(float(np.percentile(a, 50)), 1),
        "p95": round(float(np.percentile(a, 95)), 1),
        "p99": round(float(np.percentile(a, 99)), 1),
        "n": len(values),
    }


def _verify_clip(path: str) -> float:
    import livecert

    t0 = time.perf_counter()
    livecert.verify(path)
    return time.perf_counter() - t0


def baseline(clips: list[Path], n: int) -> dict[str, float]:
    """``verify()`` on ``n`` clips in 2 parallel processes (models loaded before timing)."""
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_verify_clip, [str(clips[0])] * 2))  # load the models in both
        t0 = time.perf_counter()
        times = list(pool.map(_verify_clip, [str(clips[i % len(clips)]) for i in range(n)]))
        wall = time.perf_counter() - t0
    return {"clips": n, "per_minute": round(n / wall * 60, 1), "verify_s_median": round(float(np.median(times)), 3)}


def run(args: argparse.Namespace) -> int:
    """Run the load test; write its JSON; exit 0 when nothing was lost."""
    clips = zju_clips(args.data, args.clips)
    if not clips:
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="livecert-serve-bench-")))
        db = None
        if args.postgres:
            from tests.ledger_pg import start_postgres

            pg = stack.enter_context(start_postgres(fsync=True))
            db = pg.url(pg.create_database())
            Ledger.create(db, policies=default_policies(), actor="bench").close()  # `livecert ledger init`
        servers = [Server(folder, _free_port(), args.workers, db) for _ in range(args.instances)]
        start_s = max(server.start() for server in servers)  # one after the other: the first makes the keys
        uploads: list[Upload] = []
        probe_ms: list[float] = []
        lock = threading.Lock()
        t0 = time.monotonic()
        until = t0 + args.seconds
        threads = [
            threading.Thread(target=_client, args=(servers, k, clips, until, uploads, lock))
            for k in range(args.clients)
        ]
        threads.append(threading.Thread(target=_probe, args=(servers, until, probe_ms)))
        for t in threads:
            t.start()
        restart_s = None
        if not args.no_kill:
            time.sleep(args.seconds / 2)
            log.info("killing the first server (SIGKILL) and starting it again")
            servers[0].kill()
            restart_s = servers[0].start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        for server in servers:
            server.stop()
        with DatabaseNonceStore(db or folder / "ledger.sqlite") as store:
            nonces = store.spent()
        peak_rss = sum(server.peak_rss_mib for server in servers)
    answered = [u for u in uploads if u.answered_at is not None]
    codes: dict[str, int] = {}
    for u in uploads:
        key = "NO_ANSWER" if u.answered_at is None else (u.code or ("passed" if u.body.get("passed") else "not_passed"))
        codes[key] = codes.get(key, 0) + 1
    reused = sum(1 for u in answered if "CHALLENGE_REUSED" in [r["code"] for r in u.body.get("reasons", [])])
    lost = len(uploads) - len(answered)
    ok = [u for u in answered if u.status == 200]
    nonce_mismatch = sum(1 for u in ok if u.body.get("meta", {}).get("challenge_nonce") != u.session_id)
    report = {
        "metadata": metadata(
            clients=args.clients,
            seconds=args.seconds,
            workers=args.workers,
            instances=args.instances,
            database="postgresql" if args.postgres else "sqlite",
            clips=[c.name for c in clips],
        ),
        "start_s": round(start_s, 2),
        "restart_s": None if restart_s is None else round(restart_s, 2),
        "wall_s": round(wall, 1),
        "sessions_uploaded": len(uploads),
        "answered": len(answered),
        "lost": lost,
        "answers_per_minute": round(len(answered) / wall * 60, 1),
        "outcomes": codes,
        "challenge_reused_after_kill": reused,
        "nonces_spent": len(nonces),
        "nonces_unique": len(set(nonces)) == len(nonces),
        "results_whose_nonce_is_not_their_session": nonce_mismatch,
        "upload_to_answer_ms": _pct([(u.answered_at - u.sent_at) * 1e3 for u in answered if u.answered_at]),
        "create_session_ms_under_load": _pct(probe_ms),
        "peak_rss_mib": round(peak_rss, 1),
    }
    if not args.no_baseline:
        report["baseline_verify_2_processes"] = baseline(clips, max(8, len(clips)))
    out = write_json(report, args.out or default_out("serve"))
    print(json.dumps({k: v for k, v in report.items() if k != "metadata"}, indent=1))
    log.info("wrote %s", out)
    return 0 if lost == 0 and nonce_mismatch == 0 and "SECOND_ANSWER_DIFFERS" not in codes else 1
