"""What RQ is doing: workers, queue depths, registries, and who answers a health check.

This is what ``celery inspect active/stats`` gave the original. Two kinds of trouble
are named rather than left in counts: *abandoned* jobs (their worker died; RQ moves
them to the failed registry with an ``AbandonedJobError``), and jobs a worker could
not read because it was started without ``-S json`` (a ``DeserializationError``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus
from rq.registry import (
    BaseRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.worker import BaseWorker

from snakebench.queueing import HEALTH_CHECK, SERIALIZER, WORKER_COMMAND, WORKER_QUEUES, GameJob

REGISTRIES: dict[str, type[BaseRegistry]] = {
    "scheduled": ScheduledJobRegistry,
    "started": StartedJobRegistry,
    "failed": FailedJobRegistry,
    "deferred": DeferredJobRegistry,
}
FAILED_SCAN = 500  # newest failed jobs read for their cause (one Redis read each)


@dataclass
class QueueStatus:
    """One snapshot of the workers, the game queues and their registries."""

    workers: list[dict[str, Any]]
    queues: dict[str, int]
    registries: dict[str, int]
    abandoned: int = 0
    wrong_serializer: list[str] = field(default_factory=list)
    failed_scanned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def warnings(self) -> list[str]:
        """Lines an operator must act on. (A game's job is retried before it lands in
        the failed registry, so ``health`` spots such a worker sooner than this.)"""
        if not self.wrong_serializer:
            return []
        games = ", ".join(self.wrong_serializer[:3])
        more = len(self.wrong_serializer) - 3
        games += f" and {more} more" if more > 0 else ""
        return [wrong_serializer_warning(f"took game {games}")]


def wrong_serializer_warning(what: str) -> str:
    return f"WARNING: a worker without -S json {what}: start workers with `{WORKER_COMMAND}`"


def health_warnings(reports: list[dict[str, Any]]) -> list[str]:
    """A warning per worker that could not even read its health check (no ``-S json``)."""
    workers = {
        str(report.get("worker") or "unnamed")
        for report in reports
        if "DeserializationError" in str(report.get("error", ""))
    }
    return [wrong_serializer_warning(f"({name}) took a health check") for name in sorted(workers)]


def queue_status(connection: redis.Redis) -> QueueStatus:
    """Workers, the depth of each game queue, registry counts, and the causes of the
    newest failures (abandoned by a dead worker; unreadable by a pickle worker)."""
    queues = {
        name: Queue(name, connection=connection, serializer=SERIALIZER, job_class=GameJob)
        for name in WORKER_QUEUES
    }
    # cleanup=False: counting must not run RQ's registry clean-up here, which would call
    # the failure callback a job names in this process (workers check it; see GameJob).
    registries = {
        label: sum(
            registry_class(queue=queue).get_job_count(cleanup=False) for queue in queues.values()
        )
        for label, registry_class in REGISTRIES.items()
    }
    status = QueueStatus(
        workers=[_worker_info(worker) for worker in Worker.all(connection=connection)],
        queues={name: queue.count for name, queue in queues.items()},
        registries=registries,
    )
    _classify_failures(status, list(queues.values()), connection)
    return status


def _worker_info(worker: BaseWorker) -> dict[str, Any]:
    heartbeat = worker.last_heartbeat
    return {
        "name": worker.name,
        "state": worker.get_state(),
        "current_game": worker.get_current_job_id(),
        "queues": worker.queue_names(),
        "last_heartbeat": heartbeat.isoformat() if heartbeat else None,
    }


def _classify_failures(status: QueueStatus, queues: list[Queue], connection: redis.Redis) -> None:
    ids: list[str] = []
    for queue in queues:
        ids += FailedJobRegistry(queue=queue).get_job_ids(-FAILED_SCAN, -1)
    ids = ids[-FAILED_SCAN:]
    status.failed_scanned = len(ids)
    for job in Job.fetch_many(ids, connection=connection, serializer=SERIALIZER):
        result = job.latest_result() if job is not None else None
        cause = (result.exc_string or "") if result is not None else ""
        if "AbandonedJobError" in cause:
            status.abandoned += 1
        elif "DeserializationError" in cause and job is not None:
            status.wrong_serializer.append(job.id)


def health_check(connection: redis.Redis, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Enqueue ``jobs.run_game.health_check`` on each game queue and wait up to
    ``timeout`` seconds for the answers: one report per queue, with ``answered``
    False for a queue no worker served. Unanswered jobs are deleted, so a worker
    that starts later does not run stale checks."""
    jobs = {
        name: Queue(name, connection=connection, serializer=SERIALIZER).enqueue(
            HEALTH_CHECK,
            job_id=f"health-{uuid.uuid4().hex[:12]}",
            ttl=max(1, int(timeout)),  # not started by then: expires instead of running late
            job_timeout=60,
            result_ttl=300,
            failure_ttl=300,
        )
        for name in WORKER_QUEUES
    }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(_ended(job) for job in jobs.values()):
        time.sleep(0.2)
    reports = [_answer(name, job) for name, job in jobs.items()]
    for job in jobs.values():
        if not _ended(job):
            job.delete()
    return reports


def _ended(job: Job) -> bool:
    return _status(job) in (JobStatus.FINISHED, JobStatus.FAILED, None)


def _status(job: Job) -> JobStatus | None:
    """The job's status now; None once it expired (nobody took it within its ttl)."""
    try:
        return job.get_status(refresh=True)
    except InvalidJobOperation:
        return None


def _answer(queue: str, job: Job) -> dict[str, Any]:
    """The worker's report; for a check that raised, who took it and why it failed
    (e.g. a worker without ``-S json`` cannot even read it)."""
    status = _status(job)
    value = job.return_value() if status == JobStatus.FINISHED else None
    if isinstance(value, dict):
        return {"queue": queue, "answered": True, **value}
    result = job.latest_result() if status == JobStatus.FAILED else None
    if result is None:
        return {"queue": queue, "answered": False, "status": "no answer"}
    lines = (result.exc_string or "").strip().splitlines()
    return {
        "queue": queue,
        "answered": True,
        "status": "failed",
        "worker": result.worker_name or None,
        "error": lines[-1] if lines else "failed",
    }
