"""The certification ledger at scale: due list, suspension batch, concurrent writes, audit.

    python -m benchmarks ledger [--people 100000,1000000] [--writes 1000] [--threads 16]
                                [--backends sqlite,postgresql] [--no-audit] [--out FILE]

For each backend (a SQLite file in a temporary folder; a throwaway PostgreSQL server started
from Debian's binaries as in ``tests/ledger_pg.py``, fsync on) and each size in ``--people``
(the smaller sizes are the baseline measured in the same run), that many generated people
(fixed seed: 60 % enterprise, 10 % civil service, 25 % residents, 5 % dependants, registered
uniformly over the two years before 1 March 2026) are registered through
``Ledger.add_persons`` in chunks of 50,000 (timed as ``load``, audit entries included).  Then,
on 2026-03-01, timed once each (``*_s`` wall, ``*_cpu_s`` this process's CPU seconds):
``counts`` (people per status), ``due_200`` (the first 200 rows, what ``livecert ledger due``
prints), ``due`` (every due or overdue person, all rows fetched), ``suspend_overdue`` (the
backlog: everyone overdue, more than half of the people, since nobody in the generated ledger
ever certified), ``suspend_overdue_again`` (the same date again: nobody), then
``suspend_overdue_next_month`` (2026-04-01: those whose deadline passed in March, the run a
bureau makes every month).  Then ``--writes`` attempts are
recorded by ``--threads`` threads at once, spread over 100 people (so several threads write
to the same person at the same time): **the attempts carry a precomputed result** (the JSON of
one real ``verify()`` of the sample clip, made once before timing), so this measures the
ledger, not the face checks.  Checked: exactly ``--writes`` new attempts, no uuid missing or
twice; and (unless ``--no-audit``) the whole audit chain and every row verified, timed.
Targets (issue 15): ``due`` and ``suspend_overdue`` under 10 s for 1,000,000 people on SQLite.
Each run records the load average before and after it (the machine is shared).
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, default_out, load_average, metadata, positive_int, write_json
from livecert.ledger.policy import BenefitType, Channel, default_policies
from livecert.ledger.records import AttemptInput, NewPerson
from livecert.ledger.store import Ledger

log = logging.getLogger("benchmarks.ledger")

ON = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
NEXT_MONTH = date(2026, 4, 1)
GOAL_S = 10.0
_MIX = [BenefitType.ENTERPRISE] * 12 + [BenefitType.CIVIL_SERVICE] * 2 + [BenefitType.RESIDENT] * 5
_MIX += [BenefitType.DEPENDANT]


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``ledger`` subcommand's options."""
    ap.add_argument(
        "--people",
        type=_sizes,
        default=(100_000, 1_000_000),
        help="comma-separated ledger sizes to measure (default 100000,1000000)",
    )
    ap.add_argument("--writes", type=positive_int, default=1000, help="concurrent attempts to record (default 1000)")
    ap.add_argument("--threads", type=positive_int, default=16, help="writer threads (default 16)")
    ap.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    ap.add_argument("--no-audit", action="store_true", help="skip the full audit at the end")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/ledger-DATE-HOST.json)")


def _sizes(text: str) -> tuple[int, ...]:
    """argparse type: comma-separated positive whole numbers."""
    return tuple(positive_int(part.strip()) for part in text.split(",") if part.strip())


class _Clock:
    """The ledger's clock, moved by the benchmark (10:00 in Shanghai on ``day``)."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at

    def set_day(self, day: date) -> None:
        self.at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc)


def people(n: int, seed: int = 15) -> Iterator[list[NewPerson]]:
    """``n`` generated people in chunks of 50,000 (ids P0000000, ...; names are not real)."""
    rng = random.Random(seed)
    start = ON - timedelta(days=730)
    chunk: list[NewPerson] = []
    for i in range(n):
        benefit = rng.choice(_MIX)
        registered = start + timedelta(days=rng.randrange(729))
        chunk.append(NewPerson(f"P{i:07d}", f"Person {i}", benefit, f"{330100 + rng.randrange(10)}", registered))
        if len(chunk) == 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _timed(out: dict[str, Any], name: str, fn: Any) -> Any:
    """Run ``fn``; store its wall seconds as ``name_s`` and this process's CPU seconds as
    ``name_cpu_s`` in ``out`` (on a shared machine the wall time includes waiting for a core)."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    out[f"{name}_s"], out[f"{name}_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    return result


def precomputed_result() -> str:
    """One real verify() result JSON (the sample clip), made once before anything is timed."""
    import json

    import livecert

    result = livecert.verify(ROOT / "samples" / "astronaut_blink.mp4")
    return json.dumps(result.to_dict(), sort_keys=True)


@contextmanager
def _target(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield str(folder / "ledger.sqlite")
        return
    from tests.ledger_pg import start_postgres

    with start_postgres(fsync=True) as server:
        yield server.url(server.create_database())


def run_backend(backend: str, people_n: int, args: argparse.Namespace, result_json: str) -> dict[str, Any]:
    """Every measurement on one backend and one ledger size."""
    out: dict[str, Any] = {"backend": backend, "people": people_n, "load_average_start": load_average()}
    clock = _Clock()
    with tempfile.TemporaryDirectory(prefix="livecert-bench-ledger-") as tmp, _target(backend, Path(tmp)) as target:
        ledger = Ledger.create(target, policies=default_policies(), clock=clock)
        _timed(out, "load", lambda: [ledger.add_persons(chunk, actor="bench") for chunk in people(people_n)])
        log.info("%s: loaded %d people in %.1f s", backend, people_n, out["load_s"])
        counts = _timed(out, "counts", lambda: ledger.counts(ON))
        out["counts"] = {s.value: n for s, n in counts.items()}
        _timed(out, "due_200", lambda: ledger.due(ON, limit=200))
        due = _timed(out, "due", lambda: ledger.due(ON))
        out["due_rows"] = len(due)
        out["load_average_before_suspend"] = load_average()
        report = _timed(out, "suspend_overdue", lambda: ledger.suspend_overdue(ON, actor="bench"))
        out["suspended"] = len(report.suspended)
        again = _timed(out, "suspend_overdue_again", lambda: ledger.suspend_overdue(ON, actor="bench"))
        out["suspended_again"] = len(again.suspended)
        clock.set_day(NEXT_MONTH)
        month = _timed(out, "suspend_overdue_next_month", lambda: ledger.suspend_overdue(NEXT_MONTH, actor="bench"))
        out["suspended_next_month"] = len(month.suspended)
        clock.set_day(ON)
        log.info(
            "%s %d: due %.2f s (%d rows), suspend-overdue %.2f s (%d people), next month %.2f s (%d people)",
            backend,
            people_n,
            out["due_s"],
            out["due_rows"],
            out["suspend_overdue_s"],
            out["suspended"],
            out["suspend_overdue_next_month_s"],
            out["suspended_next_month"],
        )
        out["concurrent"] = _concurrent(ledger, people_n, args, result_json)
        if not args.no_audit:
            audit = _timed(out, "audit", ledger.audit)
            out["audit"] = {"intact": audit.intact, "entries": audit.entries, "problems": len(audit.problems)}
            log.info("%s: audit %.1f s, intact %s, %d entries", backend, out["audit_s"], audit.intact, audit.entries)
        ledger.close()
    out["load_average_end"] = load_average()
    return out


def _concurrent(ledger: Ledger, people_n: int, args: argparse.Namespace, result_json: str) -> dict[str, Any]:
    targets = [f"P{i * (people_n // 100):07d}" for i in range(min(100, people_n))]
    uuids = [str(uuid.uuid4()) for _ in range(args.writes)]
    before = sum(len(ledger.attempts(p)) for p in set(targets))
    errors: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(args.threads)

    def work(k: int) -> None:
        barrier.wait()
        for i in range(k, args.writes, args.threads):
            attempt = AttemptInput(
                Channel.ONLINE,
                passed=True,
                result_json=result_json,
                recording_sha256=f"{i:064x}",
                challenge_id=uuids[i][:8],
                attempt_uuid=uuids[i],
            )
            t0 = time.perf_counter()
            try:
                ledger.record_attempt(targets[i % len(targets)], attempt, actor="bench")
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(args.threads)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stored = [a.attempt_uuid for p in set(targets) for a in ledger.attempts(p)]
    new = len(stored) - before
    latencies.sort()
    return {
        "writes": args.writes,
        "threads": args.threads,
        "people": len(targets),
        "wall_s": wall,
        "writes_per_s": args.writes / wall,
        "latency_ms_median": 1e3 * latencies[len(latencies) // 2] if latencies else None,
        "latency_ms_p99": 1e3 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else None,
        "errors": errors[:10],
        "new_attempts": new,
        "lost": len(set(uuids) - set(stored)),
        "duplicated": len(stored) - len(set(stored)),
        "precomputed_results": True,
    }


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; write the JSON; exit 0."""
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown backend {b!r}; use sqlite and/or postgresql")
    report: dict[str, Any] = {"metadata": metadata(people=list(args.people), writes=args.writes, threads=args.threads)}
    for name in ("sqlalchemy", "alembic", "psycopg"):
        report["metadata"]["libraries"][name] = _version(name)
    result_json = precomputed_result()
    report["goal_s"] = GOAL_S
    report["runs"] = []
    for b in backends:
        for n in sorted(args.people):
            try:
                report["runs"].append(run_backend(b, n, args, result_json))
            except RuntimeError as exc:  # no PostgreSQL server here
                log.error("%s: %s", b, exc)
                report["runs"].append({"backend": b, "people": n, "skipped": str(exc)})
    report["metadata"]["load_average_1_5_15min"]["end"] = load_average()
    path = write_json(report, args.out or default_out("ledger"))
    log.info("wrote %s", path)
    return 0


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
