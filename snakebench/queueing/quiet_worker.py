"""Workers that send RQ's bookkeeping once, not three or four times per job.

RQ's work loop refreshes the worker's heartbeat (``HSET`` + two ``EXPIRE``) after each
job, again inside the suspension check, again before and after the blocking pop, and
sets the worker's state ``idle`` twice, all within a few milliseconds: ten of those
commands change nothing (docs/PERFORMANCE.md, "Round trips per game").
:class:`QuietWorker` is stock RQ otherwise; the mixin :class:`FewerCommands` only drops:

- a default heartbeat (the worker's TTL, ``worker_ttl + 60``) sent within
  :data:`HEARTBEAT_COALESCE` seconds of the last one it sent. Any heartbeat with
  another TTL (a job's, while it runs: ``job_monitoring_interval + 60``), and the end
  of every job, make the next default one go out whatever the time, so the worker's
  key always ends a job with the TTL RQ gives it; a worker idle in its blocking pop
  still refreshes it before each pop, as RQ does;
- a state set outside a pipeline to the state it already has;
- the job's look-up of its worker's pid (``is_work_horse``): a horse of
  :class:`QuietWorker`, and a job of a worker that runs jobs in its own process
  (ThreadWorker: :func:`runs_jobs_in_process`), know what they are without asking.

What ``rq info``, rq-dashboard, the started registry's heartbeats and the recovery of
a killed worker read is written as before.
"""

from __future__ import annotations

import os
import time
from typing import Any

from rq.job import Job
from rq.queue import Queue
from rq.worker import BaseWorker, Worker

from snakebench.queueing.database_gate import DatabaseGate

HEARTBEAT_COALESCE = 1.0  # seconds; RQ's worker TTL is minutes

_forked_by: int | None = None  # in a QuietWorker's work horse (and the worker): its pid
_in_process: int | None = None  # the pid of a worker that runs its jobs in itself


def runs_jobs_in_process() -> None:
    """Called by a worker class that performs jobs in its own process, not a horse."""
    global _in_process
    _in_process = os.getpid()


def known_horse() -> bool | None:
    """Whether this process is a work horse forked for its job, when one of these
    workers knows it; None when only the worker's registration can tell."""
    if _in_process == os.getpid():
        return False
    if _forked_by is not None and _forked_by == os.getppid():
        return True
    return None


class FewerCommands(BaseWorker):
    """The mixin: put it before the RQ worker class it quiets."""

    _heartbeat_fresh_until = 0.0  # monotonic time before which a default heartbeat is redundant

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if timeout is None:
            now = time.monotonic()
            if now < self._heartbeat_fresh_until:
                return
            self._heartbeat_fresh_until = now + HEARTBEAT_COALESCE
        else:  # another TTL holds now: the next default heartbeat must go out
            self._heartbeat_fresh_until = 0.0
        super().heartbeat(timeout, pipeline)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is None and state == self.get_state():
            return
        super().set_state(state, pipeline=pipeline)

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:  # the job's heartbeats set a shorter TTL on the worker's key
            self._heartbeat_fresh_until = 0.0


class QuietWorker(DatabaseGate, FewerCommands, Worker):
    """RQ's ``Worker`` (a work horse forked per job) with :class:`FewerCommands`, and
    idle while its database does not answer (:class:`DatabaseGate`):
    ``rq worker -w snakebench.queueing.quiet_worker.QuietWorker`` (WORKER_COMMAND)."""

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        global _forked_by
        _forked_by = os.getpid()  # the horse inherits it: its parent is this worker
        super().fork_work_horse(job, queue)
