"""Workers that stop taking games while their database does not answer.

A worker host that reaches Redis but not PostgreSQL (the half-partition drill,
docs/RELIABILITY.md) would otherwise be a black hole: each game it takes fails within
seconds on its first query, and being free again at once, that worker takes the next
game sooner than any healthy one. A batch's queue drains into it, every game burning
a retry, and the games whose retries run out fail for good although nothing was wrong
with them.

So after a job of this worker fails on a lost database (:data:`LOST_DATABASE`: one
of :data:`snakebench.store.DATABASE_DOWN_ERRORS` mid-game, or the ``StoreError`` of
the connection a fresh work horse opens first), :class:`DatabaseGate` checks the
database before its next dequeue, on a connection of its own
(:func:`snakebench.store.unreachable_reason`), and while it does not answer it takes
nothing: it says why in one log line, shows ``suspended`` in ``rq info`` and keeps
its heartbeat, checks again every :data:`PROBE_INTERVAL` seconds and goes back to
work when the database answers. A burst worker exits instead, leaving the queue as it
is (as RQ's own ``rq suspend`` makes it do). Only a failure turns the check on, so a
healthy worker's games cost no extra query. The one game that failed runs again under
its RQ retry, somewhere the database answers.

A work horse learns of its job's failure, not the worker that forked it: the horse
raises the flag in a page of memory shared with its parent (an anonymous shared map,
inherited across the fork), which costs no Redis command.
"""

from __future__ import annotations

import mmap
import time
from types import TracebackType
from typing import Any

from rq.exceptions import StopRequested
from rq.job import Job
from rq.queue import Queue
from rq.worker import BaseWorker, WorkerStatus

from snakebench.config import get_settings
from snakebench.store import DATABASE_DOWN_ERRORS, StoreError, unreachable_reason

PROBE_INTERVAL = 5.0  # seconds between checks while the database does not answer
_STEP = 0.5  # seconds between checks for a stop request meanwhile
LOST_DATABASE: tuple[type[Exception], ...] = (*DATABASE_DOWN_ERRORS, StoreError)


class DatabaseGate(BaseWorker):
    """The mixin: put it before the RQ worker class it guards."""

    probe_interval = PROBE_INTERVAL
    _waiting = False  # for the database: the state stays "suspended" meanwhile

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._database_lost = mmap.mmap(-1, 1)  # shared with every horse forked later

    def handle_exception(
        self,
        job: Job,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> Any:
        if exc_type is not None and issubclass(exc_type, LOST_DATABASE):
            self._database_lost[0] = 1
        return super().handle_exception(job, exc_type, exc_value, tb)

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        if self._database_lost[0]:
            self._database_lost[0] = 0  # a job failing from now on raises it again
            self._wait_for_database(burst=timeout is None)  # RQ's burst mode: no timeout
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def _wait_for_database(self, *, burst: bool) -> None:
        url = get_settings().database_url
        reason = unreachable_reason(url)
        if reason is None:
            return
        if burst:
            self.log.warning(
                "Worker %s: database unreachable (%s): burst worker exiting, its queues "
                "left as they are",
                self.name,
                reason,
            )
            raise StopRequested()
        self.log.warning(
            "Worker %s: database unreachable (%s): taking no jobs until it answers, "
            "checking every %g s",
            self.name,
            reason,
            self.probe_interval,
        )
        before = self.get_state()
        self.set_state(WorkerStatus.SUSPENDED)
        self._waiting = True
        started = time.monotonic()
        try:
            while reason is not None:
                self._sleep_unless_stopped(self.probe_interval)
                self.heartbeat()
                reason = unreachable_reason(url)
        finally:
            self._waiting = False
        self.set_state(before)
        self.log.info(
            "Worker %s: database answers again after %.0f s: taking jobs",
            self.name,
            time.monotonic() - started,
        )

    def set_state(self, state: str, pipeline: Any = None) -> None:
        """While waiting for the database, "suspended" whatever else asks: a ThreadWorker's
        game ending meanwhile would set "idle" (``rq info`` showing a worker that takes
        nothing as ready)."""
        if self._waiting and state != WorkerStatus.SUSPENDED:
            return
        super().set_state(state, pipeline=pipeline)

    def _sleep_unless_stopped(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._stop_requested:
                raise StopRequested()
            time.sleep(min(_STEP, max(0.0, end - time.monotonic())))
