"""A bounded process pool for :func:`livecert.verify`: the event loop never waits on a check.

``workers`` spawned processes run the jobs; at most ``workers + max_queue`` jobs are admitted
at once, and one more is refused at once with ``SERVER_BUSY`` (HTTP 503) instead of queueing
without bound.  A worker that dies (killed, out of memory) fails only its own job
(``WORKER_CRASHED``); the pool is rebuilt for the next ones.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from livecert.serve.errors import ApiError, ApiErrorCode

log = logging.getLogger(__name__)

_J = TypeVar("_J")
_R = TypeVar("_R")


class VerifierPool:
    """Worker processes behind an admission limit.

    Parameters
    ----------
    workers : int
        Processes (spawned: no state inherited from the server).
    max_queue : int
        Jobs admitted beyond those running.
    """

    def __init__(self, workers: int, max_queue: int) -> None:
        self.workers = workers
        self.capacity = workers + max_queue
        self._admitted = 0
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._executor

    @property
    def in_flight(self) -> int:
        """Jobs admitted and not yet finished."""
        return self._admitted

    async def run(self, fn: Callable[[_J], _R], job: _J) -> _R:
        """Run ``fn(job)`` in a worker process.

        Raises
        ------
        ApiError
            ``SERVER_BUSY`` when ``workers + max_queue`` jobs are in already;
            ``WORKER_CRASHED`` when the worker died during this job.
        """
        if self._admitted >= self.capacity:
            raise ApiError(
                ApiErrorCode.SERVER_BUSY,
                f"all {self.workers} workers are busy and {self.capacity - self.workers} recordings wait; "
                "send it again in a few seconds",
                retry_after_s=5.0,
            )
        self._admitted += 1
        executor = self._pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, job)
        except BrokenProcessPool:
            log.error("a worker process died; starting new ones")
            if self._executor is executor:
                self._executor = None
                executor.shutdown(wait=False, cancel_futures=True)
            raise ApiError(
                ApiErrorCode.WORKER_CRASHED, "the check stopped because its worker died; send the recording again"
            ) from None
        finally:
            self._admitted -= 1

    def close(self) -> None:
        """Stop the workers (waits for running jobs)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
