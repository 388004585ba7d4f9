"""``ThreadWorker``: one RQ worker process that plays several games at once.

An LLM game spends nearly all its time waiting for model replies. RQ's default
``Worker`` forks a work horse per job, so 128 concurrent games need 128 worker
processes plus 128 horses (~40 MB of real memory per game, docs/PERFORMANCE.md) and
each job pays a fork. This worker runs up to ``SNAKEBENCH_WORKER_THREADS`` jobs (16
by default) in threads of one process instead::

    rq worker -w snakebench.queueing.thread_worker.ThreadWorker \\
        -S snakebench.queueing.RestrictedPickle -j snakebench.queueing.GameJob \\
        -c jobs.run_game --connection-class snakebench.queueing.WorkerRedis \\
        games-high games games-low

(``rq worker -w snakebench.queueing.thread_worker.ThreadWorker games`` works too.)

It is an ordinary RQ worker otherwise: each job gets its own RQ ``Execution`` (RQ 3
tracks several per worker), a heartbeat thread keeps every running job's
started-registry entry alive, and success, failure, retries and callbacks go through
RQ's own ``perform_job``. Timeouts use ``TimerDeathPenalty`` because SIGALRM only
reaches the main thread.

Shutdown: the first SIGTERM/SIGINT stops taking jobs and waits for the running games
(warm); a second exits at once (cold), and the games it held are re-run, as after a
killed work horse (``dispatch reconcile``, or RQ's abandoned-job clean-up).

What threads give up against a horse per job: the games share one interpreter and its
lock, so one process uses at most one core, and a reply waits for the lock while other
games hold it (run a few processes per core: ``rq worker-pool -n 4 -w ...`` on two
cores measured 98% of the ideal at 64 games and 93% at 128, against 94% and 76% with
2; docs/PERFORMANCE.md, part 2); bot games, which are CPU-bound, gain nothing; and a
crash of the process stops all of its games at once (each is then re-run like any
other).
"""

from __future__ import annotations

import ctypes
import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from rq.command import parse_payload
from rq.exceptions import StopRequested
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.timeouts import TimerDeathPenalty
from rq.worker import BaseWorker, WorkerStatus

from snakebench.config import get_settings
from snakebench.queueing.database_gate import DatabaseGate
from snakebench.queueing.quiet_worker import FewerCommands, runs_jobs_in_process

WAIT_STEP = 1.0  # seconds between checks for a stop request while waiting on games


@dataclass(frozen=True)
class Running:
    """A job this worker runs: its RQ execution and the thread playing it."""

    job: Job
    execution: Execution
    thread: threading.Thread


class JobStopped(BaseException):
    """Raised inside a job's thread by a ``stop-job`` command (``dispatch cancel``).
    Not an ``Exception``: the game loop turns those into a failed game and plays on
    to record it; a stop must end the job itself."""


class ThreadWorker(DatabaseGate, FewerCommands, BaseWorker):
    """An RQ worker that keeps up to ``threads`` jobs running in threads of itself
    (its heartbeats and states sent once, not again and again: :class:`FewerCommands`;
    idle while its database does not answer: :class:`DatabaseGate`)."""

    death_penalty_class = TimerDeathPenalty

    def __init__(self, *args: Any, threads: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        runs_jobs_in_process()  # is_work_horse: no horse here, no need to ask Redis
        self.threads = threads or get_settings().worker_threads
        self._running: dict[str, Running] = {}  # execution id -> what runs it
        self._changed = threading.Condition()  # notified when a game ends
        self._beating = threading.Event()  # set: stop the heartbeat thread
        self._heart: threading.Thread | None = None
        self._stopping: set[str] = set()  # job ids stopped on request
        self._failing = threading.Lock()  # RQ keeps one "stopped job" per worker
        self._cold = False
        # Everything imported so far lives as long as the process: out of the collector's
        # sight, a full collection no longer walks it (in a fresh process, 0.17 of an
        # LLM round's ~5 ms: docs/PERFORMANCE.md, "CPU per round: the ledger's SQL").
        gc.collect()
        gc.freeze()

    # --- taking jobs ------------------------------------------------------------------

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Start ``job`` in a thread, then return once another job fits: the work
        loop's next dequeue only happens when there is a free slot for it."""
        execution = self.prepare_execution(job)
        thread = threading.Thread(
            target=self._perform, args=(job, queue, execution), name=f"job-{job.id}", daemon=True
        )  # daemon: a cold shutdown must not wait for the games
        with self._changed:
            self._running[execution.id] = Running(job, execution, thread)
        self._start_heart()
        thread.start()
        self._wait_until(lambda: len(self._running) < self.threads)

    def _perform(self, job: Job, queue: Queue, execution: Execution) -> None:
        try:
            self.perform_job(job, queue, execution)
        except Exception:  # perform_job handles the job's own errors; this is RQ's
            self.log.exception("Worker %s: job %s ended in error", self.name, job.id)
        finally:
            with self._changed:
                self._running.pop(execution.id, None)
                self.executions.pop(execution.id, None)
                self._changed.notify_all()
            if not self._running:
                self.set_state(WorkerStatus.IDLE)

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        """RQ's dequeue, but a stop request made while games run ends the wait:
        RQ's own loop only checks for one between jobs, after a blocking pop."""
        if timeout is None or not self._running:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while True:
            if self._stop_requested:
                raise StopRequested()
            found = super().dequeue_job_and_maintain_ttl(int(WAIT_STEP), int(WAIT_STEP))
            if found is not None:
                return found
            if not self._running:  # the last game ended: wait as RQ would
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    # --- stopping one job -------------------------------------------------------------

    def handle_payload(self, message: Any) -> None:
        """RQ's ``stop-job`` command kills the one work horse; here it raises
        :class:`JobStopped` in the job's thread (at its next Python instruction: a
        game waiting on a move stops when the reply arrives)."""
        payload = parse_payload(message)
        if payload.get("command") != "stop-job":
            super().handle_payload(message)  # type: ignore[no-untyped-call]
            return
        job_id = payload.get("job_id")
        with self._changed:
            found = [r for r in self._running.values() if r.job.id == job_id]
        if not found or found[0].thread.ident is None:
            self.log.warning("Worker %s: not running job %s, command ignored", self.name, job_id)
            return
        self._stopping.add(found[0].job.id)
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(found[0].thread.ident), ctypes.py_object(JobStopped)
        )

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        """RQ marks a job "stopped" (never retried) when it is the worker's one
        ``_stopped_job_id``; with several jobs at once, set it job by job."""
        with self._failing:
            self._stopped_job_id = job.id if job.id in self._stopping else None
            self._stopping.discard(job.id)
            super().handle_job_failure(job, queue, *args, **kwargs)

    # --- state and shutdown -----------------------------------------------------------

    def set_state(self, state: str, pipeline: Any = None) -> None:
        """Busy while any game runs: RQ sets "idle" whenever it waits for a job,
        and a warm shutdown of an idle worker would not wait for the games."""
        if state == WorkerStatus.IDLE and self._running:
            state = WorkerStatus.BUSY
        super().set_state(state, pipeline=pipeline)

    @property
    def execution(self) -> Execution | None:
        running = list(self.executions.values())  # one atomic copy: threads add and remove
        return running[0] if running else None

    @execution.setter
    def execution(self, execution: Execution | None) -> None:
        BaseWorker.execution.fset(self, execution)  # type: ignore[attr-defined]

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        try:
            super().request_force_stop(signum, frame)
        except SystemExit:
            self._cold = True  # teardown must not wait for the games
            raise

    def teardown(self) -> None:
        """Let the running games finish (a warm shutdown, or the end of a burst);
        after a cold shutdown leave them to be re-run."""
        if self._running and not self._cold:
            self.log.info("Worker %s: waiting for %d games", self.name, len(self._running))
            self._wait_until(lambda: not self._running or self._cold)
        self._beating.set()
        super().teardown()  # type: ignore[no-untyped-call]

    def _wait_until(self, condition: Callable[[], bool]) -> None:
        """Wait in short steps, so the main thread still handles signals."""
        with self._changed:
            while not condition():
                self._changed.wait(WAIT_STEP)

    # --- heartbeats -------------------------------------------------------------------

    def _start_heart(self) -> None:
        if self._heart is None:
            self._heart = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
            self._heart.start()

    def _beat(self) -> None:
        """Every ``job_monitoring_interval``, extend each running job's heartbeat: what a
        forked worker does for its one horse while it waits for it."""
        while not self._beating.wait(self.job_monitoring_interval):
            with self._changed:
                running = list(self._running.values())
            for each in running:
                try:
                    self.maintain_heartbeats(each.job, each.execution)
                except Exception:  # Redis away: try again next beat, as RQ's loop does
                    self.log.warning("Worker %s: heartbeat for %s failed", self.name, each.job.id)
