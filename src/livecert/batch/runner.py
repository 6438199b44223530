"""Running a batch: one worker function, a process pool or Ray tasks.

:func:`verify_row` is the whole of the work on one manifest row: it calls
:func:`livecert.verify` and turns the result, or the input error, into one
JSON row; it never raises for a bad recording.  :func:`map_tasks` runs any
such function over a list, either in a pool of spawned processes
(:mod:`concurrent.futures`) or as tasks on a Ray cluster, with a bounded
number of rows in flight.  :func:`run_batch` adds the manifest, the
resumable results file, the progress bar and the summary.

Each worker process is started once and runs many rows.  MediaPipe's face
graphs follow one clip's face from frame to frame, so :func:`livecert.verify`
builds them per recording; what can be shared between rows is kept per
process: the enrollments (one descriptor per enrolled photo) and the
single-use challenge store.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Generic, TypeVar

from livecert.batch.journal import Journal, Row, write_parquet
from livecert.batch.manifest import Manifest, ManifestRow
from livecert.batch.progress import ProgressBar
from livecert.config import MatchConfig, MatchPolicy, Mode, VerifyConfig
from livecert.enums import StrEnum
from livecert.errors import ErrorCode, InputError, LivecertError, ModelError
from livecert.identity.enrollment import Enrollment
from livecert.identity.onnx_embedder import default_embedder
from livecert.io.files import check_file
from livecert.liveness.challenge import Challenge, NonceStore, SQLiteNonceStore
from livecert.liveness.digits import ChallengeOptions
from livecert.memory import peak_rss_mb, release_free_memory, rss_mb
from livecert.session.live import load_enrollment
from livecert.session.verify import verify
from livecert.speech.languages import content_check
from livecert.speech.recogniser import DigitRecogniser

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Seconds a worker waits at the start gate for the others to finish warming up.
START_GATE_TIMEOUT_S = 600.0
#: Enrollments kept per worker process (least recently used dropped first).
ENROLLMENT_CACHE_SIZE = 256


class Backend(StrEnum):
    """Where the rows run."""

    PROCESSES = "processes"
    RAY = "ray"


class RowStatus(StrEnum):
    """``"status"`` of a result row: ``ok`` (a verdict, passed or not) or ``error`` (unusable input)."""

    OK = "ok"
    ERROR = "error"


class Lang(StrEnum):
    """Language of the messages in the results, and the one digits are read in."""

    EN = "en"
    ZH = "zh"


@dataclass(frozen=True)
class RowOptions:
    """What every row of a batch shares.

    Attributes
    ----------
    lang : Lang
        Language of the reason and error messages in the results, and
        (digits mode) the one the digits are read in: which recogniser hears
        them, or none (:func:`~livecert.speech.languages.content_check`).
    key : bytes or None
        HMAC key the rows' challenge tokens were signed with.
    nonce_db : Path or None
        SQLite file recording used challenges (single use across runs); see
        :class:`~livecert.liveness.challenge.SQLiteNonceStore`.
    config : VerifyConfig or None
        Passed to :func:`livecert.verify` (default configuration when None).
    speech_model : Path or None
        Digits mode: a speech model folder for ``lang`` (``--speech-model``);
        without one, Chinese readings are not checked for which digits were
        said.
    policy : MatchPolicy or None
        Face-match operating point of the rows with an enrolled face
        (:meth:`~livecert.config.MatchConfig.for_policy`, replacing
        ``config``'s match settings); None: ``config``'s.
    """

    lang: Lang = Lang.EN
    key: bytes | None = field(default=None, repr=False)
    nonce_db: Path | None = None
    config: VerifyConfig | None = None
    speech_model: Path | None = None
    policy: MatchPolicy | None = None

    def verify_config(self) -> VerifyConfig | None:
        """``config`` with ``policy``'s match settings (None: the default configuration)."""
        if self.policy is None:
            return self.config
        return replace(self.config or VerifyConfig(), match=MatchConfig.for_policy(self.policy))


@dataclass(frozen=True)
class TaskFailure:
    """A task that gave no result: its worker process died (twice), or it raised.

    Attributes
    ----------
    code : ErrorCode
        ``WORKER_CRASHED`` when the process died, ``LIVECERT_ERROR`` when the
        function raised (or its result could not be sent back).
    message : str
    """

    code: ErrorCode
    message: str


@dataclass(frozen=True)
class _Task(Generic[T, R]):
    """One call of ``fn(item)``; what a pool worker or a Ray task runs."""

    fn: Callable[[T], R]
    item: T

    def __call__(self) -> R:
        return self.fn(self.item)


# ---------------------------------------------------------------- worker side

_ENROLLMENTS: OrderedDict[tuple[str, int, int], Enrollment] = OrderedDict()
_NONCE_STORES: dict[Path, NonceStore] = {}
_CONTENT: dict[tuple[Lang, Path | None], tuple[DigitRecogniser | None, bool]] = {}
_INITIALIZED: set[str] = set()


def _enrollment(path: Path, config: VerifyConfig) -> Enrollment:
    """The enrollment of a photo or ``.npz`` file, computed once per process.

    Loaded as :func:`livecert.verify` loads it; an unusable file raises
    each time (errors are not cached), a changed file is loaded again.
    """
    st = check_file(path).stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    cached = _ENROLLMENTS.get(key)
    if cached is not None:
        _ENROLLMENTS.move_to_end(key)
        return cached
    enrollment = load_enrollment(path, config, default_embedder())
    _ENROLLMENTS[key] = enrollment
    while len(_ENROLLMENTS) > ENROLLMENT_CACHE_SIZE:
        _ENROLLMENTS.popitem(last=False)
    return enrollment


def _content(options: RowOptions) -> tuple[DigitRecogniser | None, bool]:
    """:func:`~livecert.speech.languages.content_check` for the batch, once per process."""
    key = (options.lang, options.speech_model)
    if key not in _CONTENT:
        _CONTENT[key] = content_check(options.lang.value, options.speech_model)
    return _CONTENT[key]


def _challenge_options(row: ManifestRow, options: RowOptions) -> ChallengeOptions | None:
    if not (row.expect_digits or row.challenge):
        return None
    recogniser, check_content = _content(options) if row.mode is Mode.DIGITS else (None, True)
    if row.expect_digits:
        return ChallengeOptions(
            Challenge.for_known_digits(row.expect_digits), recogniser=recogniser, check_content=check_content
        )
    store = None
    if options.nonce_db is not None:
        store = _NONCE_STORES.get(options.nonce_db)
        if store is None:
            store = _NONCE_STORES[options.nonce_db] = SQLiteNonceStore(options.nonce_db)
    return ChallengeOptions(
        row.challenge, key=options.key, nonce_store=store, recogniser=recogniser, check_content=check_content
    )


def _error(exc: BaseException, lang: Lang) -> dict[str, str]:
    if isinstance(exc, LivecertError):
        return {"code": exc.code.value, "message": exc.message_in(lang.value)}
    return {"code": ErrorCode.LIVECERT_ERROR.value, "message": f"{type(exc).__name__}: {exc}"}


def _worker_info(started: float, cpu_started: float) -> dict[str, object]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "started_unix": started,
        "ended_unix": time.time(),
        "cpu_s": time.process_time() - cpu_started,
    }


def row_skeleton(row: ManifestRow) -> Row:
    """The manifest fields of a result row, every outcome field empty."""
    return {
        "id": row.id,
        "line": row.line,
        "video": row.video,
        "mode": row.mode.value,
        "status": RowStatus.ERROR.value,
        "passed": None,
        "liveness_passed": None,
        "identity_passed": None,
        "reason_codes": [],
        "error": None,
        "result": None,
        "worker": None,
    }


def verify_row(row: ManifestRow, options: RowOptions = RowOptions()) -> Row:
    """Verify one manifest row: the task of a pool worker or a Ray task.

    Parameters
    ----------
    row : ManifestRow
    options : RowOptions

    Returns
    -------
    dict
        ``id``, ``line``, ``video``, ``mode``; ``status`` (``"ok"`` or
        ``"error"``); ``passed``, ``liveness_passed``, ``identity_passed``
        and ``reason_codes`` of the verdict; ``result``, the
        :meth:`~livecert.results.VerificationResult.to_dict` of the result
        (None for an error row); ``error``, ``{"code", "message"}`` for an
        error row (None otherwise); ``worker``: host, pid, resident and peak
        memory (MiB) after the row, start and end times, CPU seconds (all
        the process's threads).

    Notes
    -----
    Never raises for a bad row: a missing, broken or unusable recording or
    enrollment is an error row with the :class:`~livecert.errors.ErrorCode`
    :func:`livecert.verify` gives it.  The recording is checked to exist
    before the enrollment is loaded; a row with both a broken recording and
    an unusable enrollment reports the enrollment's problem.
    """
    started, cpu_started = time.time(), time.process_time()
    out = row_skeleton(row)
    try:
        chosen = options.verify_config()
        check_file(row.path)
        enrolled = _enrollment(row.enrolled, chosen or VerifyConfig()) if row.enrolled is not None else None
        challenge = _challenge_options(row, options)
        result = verify(str(row.path), mode=row.mode, enrolled=enrolled, config=chosen, challenge=challenge)
    except Exception as exc:  # noqa: BLE001 - one row's failure is that row's error, the batch goes on
        if not isinstance(exc, LivecertError):
            log.warning("row %s (line %d) raised", row.id, row.line, exc_info=True)
        out["error"] = _error(exc, options.lang)
    else:
        out.update(
            status=RowStatus.OK.value,
            passed=result.passed,
            liveness_passed=result.liveness_passed,
            identity_passed=result.identity_passed,
            reason_codes=list(result.reason_codes),
            result=result.to_dict(lang=options.lang.value),
        )
    release_free_memory()
    out["worker"] = _worker_info(started, cpu_started)
    return out


def failure_row(row: ManifestRow, failure: TaskFailure) -> Row:
    """The error row of a row whose task gave no result."""
    out = row_skeleton(row)
    out["error"] = {"code": failure.code.value, "message": failure.message}
    return out


def _limit_threads(threads: int) -> None:
    """Thread pools of native libraries sized to this worker's share of the CPUs (unless set by the user)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))


def _initialize_once(initializer: Callable[..., object] | None, initargs: tuple[object, ...]) -> None:
    if initializer is None:
        return
    name = f"{initializer.__module__}.{initializer.__qualname__}"
    if name not in _INITIALIZED:
        initializer(*initargs)
        _INITIALIZED.add(name)


def _init_process(
    threads: int,
    initializer: Callable[..., object] | None,
    initargs: tuple[object, ...],
    gate: threading.Barrier | None,
) -> None:
    """Process-pool initializer: Ctrl-C is the parent's to handle, threads
    limited, the caller's initializer run, then wait for the other workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads(threads)
    _initialize_once(initializer, initargs)
    if gate is not None:
        try:
            gate.wait(timeout=START_GATE_TIMEOUT_S)
        except threading.BrokenBarrierError:
            log.warning("not every worker started in time; going on without waiting")


def _ray_call(task: _Task[T, R], initializer: Callable[..., object] | None, initargs: tuple[object, ...]) -> R:
    _initialize_once(initializer, initargs)
    return task()


def _ray_warm(initializer: Callable[..., object] | None, initargs: tuple[object, ...]) -> int:
    _initialize_once(initializer, initargs)
    return os.getpid()


# ---------------------------------------------------------------- driver side


def available_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def map_tasks(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[object, ...] = (),
    max_tasks_per_worker: int | None = None,
) -> Iterator[tuple[int, R | TaskFailure]]:
    """Run ``fn(item)`` for every item in worker processes; yield results as they finish.

    Parameters
    ----------
    fn : callable
        A module-level function (or a ``functools.partial`` of one): it is
        pickled by reference into each worker.
    items : sequence
        Picklable arguments, one task each.
    workers : int, optional
        Tasks running at once; default: one per CPU (processes), or the
        cluster's CPUs (Ray).  At most one per item.
    ray_address : str, optional
        None: a pool of spawned processes on this machine.  Otherwise the
        address of an existing Ray cluster (``"auto"``, ``"host:port"``,
        ``"ray://host:port"``), each item a Ray task of one CPU; when this
        process is already connected to Ray (``ray.init()`` was called),
        that connection is used, whatever the address.
    initializer : callable, optional
        Run once in each worker process before its first task (a warm-up,
        logging set-up); every worker finishes it before any task starts
        (unless ``max_tasks_per_worker`` is set).
    initargs : tuple
        Its arguments.
    max_tasks_per_worker : int, optional
        Replace a worker process after this many tasks (bounds memory that
        native code does not give back); default never.

    Yields
    ------
    index : int
        Position of the item in ``items``.
    result : R or TaskFailure
        What ``fn`` returned, or why it gave nothing: a task whose worker
        died is run again alone in a fresh process (Ray: retried once), and
        is a ``WORKER_CRASHED`` failure if it dies again.

    Raises
    ------
    ModelError
        ``MISSING_DEPENDENCY``: a Ray address without ``ray`` installed.
    InputError
        ``BAD_ARGUMENT``: ``workers`` below 1, or Ray cannot connect.
    """
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, not {workers}", code=ErrorCode.BAD_ARGUMENT)
    if not items:
        return iter(())
    if ray_address is not None:
        return _run_ray(fn, items, workers, ray_address, initializer, initargs, max_tasks_per_worker)
    n = min(workers or available_cpus(), len(items))
    return _run_pool(fn, items, n, initializer, initargs, max_tasks_per_worker)


def _executor(
    n: int,
    threads: int,
    initializer: Callable[..., object] | None,
    initargs: tuple[object, ...],
    max_tasks: int | None,
    gate: bool,
) -> ProcessPoolExecutor:
    ctx = mp.get_context("spawn")  # no fork: native libraries' threads and locks do not survive it
    barrier = ctx.Barrier(n) if gate and n > 1 and initializer is not None else None
    return ProcessPoolExecutor(
        max_workers=n,
        mp_context=ctx,
        initializer=_init_process,
        initargs=(threads, initializer, initargs, barrier),
        max_tasks_per_child=max_tasks,
    )


def _run_pool(
    fn: Callable[[T], R],
    items: Sequence[T],
    n: int,
    initializer: Callable[..., object] | None,
    initargs: tuple[object, ...],
    max_tasks: int | None,
) -> Iterator[tuple[int, R | TaskFailure]]:
    threads = max(1, available_cpus() // n)
    window = 2 * n  # enough queued to keep every worker busy; bounds what a broken pool takes down
    pending = deque(range(len(items)))
    while pending:
        suspects: list[int] = []
        # A start gate only for the first workers: a replacement (max_tasks) would wait at it for ever.
        pool = _executor(n, threads, initializer, initargs, max_tasks, gate=max_tasks is None)
        clean = False
        try:
            in_flight: dict[Future[R], int] = {}
            while (pending or in_flight) and not suspects:
                while pending and len(in_flight) < window:
                    i = pending.popleft()
                    in_flight[pool.submit(_Task(fn, items[i]))] = i
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = in_flight.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        suspects.append(i)
                        continue
                    except Exception as exc:  # noqa: BLE001 - the task raised, or its result did not pickle
                        yield i, TaskFailure(ErrorCode.LIVECERT_ERROR, f"{type(exc).__name__}: {exc}")
                        continue
                    yield i, result
            suspects.extend(in_flight.values())  # a broken pool fails every task it held
            clean = True
        finally:
            # Interrupted (Ctrl-C, the caller stopped): do not wait for queued tasks.
            pool.shutdown(wait=clean, cancel_futures=True)
        for i in sorted(suspects):
            log.warning("a worker process died; running task %d again on its own", i)
            yield i, _run_alone(fn, items[i], threads, initializer, initargs)


def _run_alone(
    fn: Callable[[T], R],
    item: T,
    threads: int,
    initializer: Callable[..., object] | None,
    initargs: tuple[object, ...],
) -> R | TaskFailure:
    with _executor(1, threads, initializer, initargs, None, gate=False) as pool:
        try:
            return pool.submit(_Task(fn, item)).result()
        except BrokenProcessPool:
            return TaskFailure(
                ErrorCode.WORKER_CRASHED,
                "the worker process died twice while running this row (a crash in native code, or out of "
                "memory); run it alone with `livecert verify` to see the error",
            )
        except Exception as exc:  # noqa: BLE001 - as in _run_pool
            return TaskFailure(ErrorCode.LIVECERT_ERROR, f"{type(exc).__name__}: {exc}")


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ModelError(
            "--ray needs the ray package; install it with pip install 'livecert[ray]' (-c constraints.txt)",
            code=ErrorCode.MISSING_DEPENDENCY,
        ) from None
    module: ModuleType = ray
    return module


def _run_ray(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int | None,
    address: str | None,
    initializer: Callable[..., object] | None,
    initargs: tuple[object, ...],
    max_tasks: int | None,
) -> Iterator[tuple[int, R | TaskFailure]]:
    ray = _import_ray()
    connected_here = not ray.is_initialized()
    if connected_here:
        try:
            ray.init(address=address, logging_level=logging.WARNING, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(
                f"cannot connect to the Ray cluster at {address!r} ({exc}); start one (ray start --head) "
                "or check the address",
                code=ErrorCode.BAD_ARGUMENT,
            ) from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n = min(workers or cpus, len(items))
        # A task whose process dies is retried once by Ray (the pool runs it again alone);
        # exceptions are not retried: verify_row returns input errors as rows.
        options: dict[str, object] = {"num_cpus": 1, "max_retries": 1, "retry_exceptions": False}
        if max_tasks is not None:
            options["max_calls"] = max_tasks
        call = ray.remote(**options)(_ray_call)
        if initializer is not None:  # warm every worker up before the first row, as the pool does
            ray.get([ray.remote(num_cpus=1)(_ray_warm).remote(initializer, initargs) for _ in range(n)])
        # Backpressure: a bounded number of tasks submitted at a time.  With ``workers`` given,
        # exactly that many (at most that many run at once); else twice the cluster's CPUs, so
        # that each worker has its next row queued (Ray runs at most one task per CPU anyway).
        window = n if workers is not None else 2 * n
        pending = deque(range(len(items)))
        in_flight: dict[object, int] = {}
        while pending or in_flight:
            while pending and len(in_flight) < window:
                i = pending.popleft()
                in_flight[call.remote(_Task(fn, items[i]), initializer, initargs)] = i
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                i = in_flight.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    yield i, TaskFailure(ErrorCode.LIVECERT_ERROR, str(exc.cause if exc.cause else exc))
                except ray.exceptions.RayError as exc:
                    yield (
                        i,
                        TaskFailure(ErrorCode.WORKER_CRASHED, f"the Ray task died twice ({type(exc).__name__}): {exc}"),
                    )
                else:
                    yield i, result
    finally:
        if connected_here:
            ray.shutdown()


# ---------------------------------------------------------------- a batch


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did (``livecert batch`` prints it at the end).

    Attributes
    ----------
    rows : int
        Rows in the manifest.
    skipped : int
        Rows already in the results file when the run started (not run again).
    ran : int
        Rows run and written this time.
    passed, not_passed, errors : int
        Over every manifest row in the results file: verdicts that passed,
        verdicts that did not, and error rows (unusable input).
    error_codes : dict of str to int
        Error rows by code.
    wall_s : float
        This run's wall-clock time, seconds (start-up included).
    backend : Backend
    workers : int
        Worker processes that ran rows this time.
    peak_rss_mb : dict of str to float
        Peak resident memory of each worker process, MiB, by ``host:pid``.
    out : Path
        The results file.
    """

    rows: int
    skipped: int
    ran: int
    passed: int
    not_passed: int
    errors: int
    error_codes: dict[str, int]
    wall_s: float
    backend: Backend
    workers: int
    peak_rss_mb: dict[str, float]
    out: Path

    @property
    def complete(self) -> bool:
        """Every manifest row has a result row."""
        return self.skipped + self.ran == self.rows

    @property
    def rows_per_s(self) -> float | None:
        """Rows run per wall-clock second this time."""
        return self.ran / self.wall_s if self.ran and self.wall_s > 0 else None

    def to_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "skipped": self.skipped,
            "ran": self.ran,
            "complete": self.complete,
            "passed": self.passed,
            "not_passed": self.not_passed,
            "errors": self.errors,
            "error_codes": dict(self.error_codes),
            "wall_s": round(self.wall_s, 3),
            "rows_per_s": None if self.rows_per_s is None else round(self.rows_per_s, 4),
            "backend": self.backend.value,
            "workers": self.workers,
            "peak_rss_mb": {k: round(v, 1) for k, v in self.peak_rss_mb.items()},
            "out": str(self.out),
        }


def check_parquet() -> None:
    """Raise ``ModelError`` ``MISSING_DEPENDENCY`` unless pyarrow can be imported."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ModelError(
            "Parquet output needs pyarrow; install it with pip install 'livecert[parquet]' (-c constraints.txt)",
            code=ErrorCode.MISSING_DEPENDENCY,
        ) from None


def run_batch(
    manifest: Manifest,
    out: str | Path,
    *,
    options: RowOptions = RowOptions(),
    workers: int | None = None,
    ray_address: str | None = None,
    progress: bool = True,
    max_rows_per_worker: int | None = None,
    parquet: str | Path | None = None,
    on_row: Callable[[Row], None] | None = None,
) -> BatchSummary:
    """Verify every manifest row not yet in the results file, appending each as it finishes.

    Parameters
    ----------
    manifest : Manifest
        From :func:`~livecert.batch.manifest.load_manifest`.
    out : str or Path
        The JSON Lines results file; rows already in it are skipped (a
        torn last line is cut off and its row run again).
    options : RowOptions
    workers : int, optional
        See :func:`map_tasks`.
    ray_address : str, optional
        Run on this Ray cluster instead of a local process pool.
    progress : bool
        Progress bar on stderr.
    max_rows_per_worker : int, optional
        Replace each worker process after this many rows.
    parquet : str or Path, optional
        Also write every manifest row's result as Parquet (needs pyarrow),
        in manifest order, when the run ends.
    on_row : callable, optional
        Called with each row after it is written.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        Before any row runs: ``NO_KEY`` (a row has a challenge token and
        ``options.key`` is None), ``CANNOT_WRITE`` or ``BAD_RESULTS_FILE``
        (the results file cannot be used).  ``CANNOT_WRITE`` during the run
        when the disk refuses (rows written so far are kept: run again).
    ModelError
        ``MISSING_DEPENDENCY``: Parquet without pyarrow, Ray without ray.
    """
    t0 = time.monotonic()
    if manifest.needs_key and options.key is None:
        lines = ", ".join(str(r.line) for r in manifest.rows if r.challenge)
        raise InputError(
            f"{manifest.name}: rows with a challenge token (lines {lines}) need the key they were signed with "
            "(--key-file)",
            code=ErrorCode.NO_KEY,
        )
    if parquet is not None:
        check_parquet()
    backend = Backend.RAY if ray_address is not None else Backend.PROCESSES
    pids: dict[str, float] = {}
    with Journal(out) as journal:
        todo = [r for r in manifest.rows if r.id not in journal]
        skipped = len(manifest.rows) - len(todo)
        stray = len(set(journal.rows) - {r.id for r in manifest.rows})
        if stray:
            log.warning("%s holds %d row(s) whose id is not in %s", journal.path, stray, manifest.name)
        if skipped:
            log.info("%d of %d rows are already in %s: running the other %d", skipped, len(manifest), out, len(todo))
        bar = ProgressBar(len(todo), "livecert batch", enabled=progress)
        try:
            fn = functools.partial(verify_row, options=options)
            tasks = map_tasks(
                fn, todo, workers=workers, ray_address=ray_address, max_tasks_per_worker=max_rows_per_worker
            )
            for i, result in tasks:
                row = failure_row(todo[i], result) if isinstance(result, TaskFailure) else result
                journal.append(row)
                worker = row.get("worker")
                if isinstance(worker, dict):
                    key = f"{worker['host']}:{worker['pid']}"
                    pids[key] = max(pids.get(key, 0.0), float(worker["peak_rss_mb"]))
                bar.update(todo[i].id, error=row["status"] != RowStatus.OK.value)
                if on_row is not None:
                    on_row(row)
        finally:
            bar.close()
        ran = bar.done
        rows = [journal.rows[r.id] for r in manifest.rows if r.id in journal]
    if parquet is not None:
        write_parquet(rows, Path(parquet))
    codes: dict[str, int] = {}
    for row in rows:
        error = row.get("error")
        if isinstance(error, dict):
            codes[str(error["code"])] = codes.get(str(error["code"]), 0) + 1
    ok = [r for r in rows if r.get("status") == RowStatus.OK.value]
    return BatchSummary(
        rows=len(manifest.rows),
        skipped=skipped,
        ran=ran,
        passed=sum(r.get("passed") is True for r in ok),
        not_passed=sum(r.get("passed") is not True for r in ok),
        errors=len(rows) - len(ok),
        error_codes=dict(sorted(codes.items())),
        wall_s=time.monotonic() - t0,
        backend=backend,
        workers=len(pids),
        peak_rss_mb=pids,
        out=Path(out),
    )
