"""What RQ is doing: workers, queue depths, registries, and who answers a health check.

This is what ``celery inspect active/stats`` gave the original. Two kinds of trouble
are named rather than left in counts: *abandoned* jobs (their worker died; RQ moves
them to the failed registry with an ``AbandonedJobError``), and live workers that take
game jobs but cannot run them (started with ``-S json``, say, or unable to import
``jobs.run_game``): RQ records nothing of such a failure while the job has retries
left, so they are found by the mark ``run_game`` leaves on every attempt it starts
(:func:`snakebench.queueing.attempt_never_ran`), at the first game they fail.
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

from snakebench.queueing import (
    HEALTH_CHECK,
    PLAIN_WORKER_COMMAND,
    RUN_GAME,
    SERIALIZER,
    WORKER_COMMAND,
    WORKER_QUEUES,
    GameJob,
    attempt_never_ran,
)

REGISTRIES: dict[str, type[BaseRegistry]] = {
    "scheduled": ScheduledJobRegistry,
    "started": StartedJobRegistry,
    "failed": FailedJobRegistry,
    "deferred": DeferredJobRegistry,
}
# Jobs read for their cause (one pipelined Redis read per chunk): the newest failed
# ones, and the scheduled ones due first (a retry is due within minutes; games
# scheduled with --at for later sort behind them).
FAILED_SCAN = 500
RETRY_SCAN = 500


@dataclass
class QueueStatus:
    """One snapshot of the workers, the game queues and their registries."""

    workers: list[dict[str, Any]]
    queues: dict[str, int]
    registries: dict[str, int]
    abandoned: int = 0
    # live worker -> the games it took and failed before SnakeBench's code ran
    cannot_run: dict[str, list[str]] = field(default_factory=dict)
    failed_scanned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def warnings(self) -> list[str]:
        """A line per live worker that cannot run SnakeBench's jobs."""
        return cannot_run_warnings(self.cannot_run)


def cannot_run_warnings(cannot_run: dict[str, list[str]]) -> list[str]:
    """A warning per worker of :func:`cannot_run`'s answer, naming its games."""
    return [cannot_run_warning(worker, _took(games)) for worker, games in cannot_run.items()]


def cannot_run_warning(worker: str, what: str) -> str:
    """One line naming a worker that cannot run our jobs, what it did, and the remedy."""
    return (
        f"WARNING: worker {worker} cannot run SnakeBench's jobs: {what} before SnakeBench's "
        "code ran (started with -S json? no jobs.run_game to import? its log says why; "
        "nothing is lost). Run workers as "
        f"`{PLAIN_WORKER_COMMAND}` or, hardened, `{WORKER_COMMAND}`"
    )


def _took(games: list[str]) -> str:
    shown = ", ".join(games[:3]) + (f" and {len(games) - 3} more" if len(games) > 3 else "")
    return f"it took game {shown} and failed"


def queue_status(connection: redis.Redis) -> QueueStatus:
    """Workers, the depth of each game queue, registry counts, and the causes of the
    newest failures (abandoned by a dead worker; taken by a worker that cannot run
    our jobs)."""
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


def live_worker_count(connection: redis.Redis) -> int:
    """RQ workers whose heartbeat has not expired: ``Worker.all`` skips one killed
    without a goodbye once its key lapses (within minutes)."""
    return len(Worker.all(connection=connection))


def registered_worker_count(connection: redis.Redis) -> int:
    """RQ workers registered now, read in one command (a worker that just started is
    counted at once; one killed without a goodbye stays until RQ cleans it up)."""
    return int(Worker.count(connection=connection))


def queue_depths(connection: redis.Redis) -> dict[str, dict[str, int]]:
    """Per game queue: jobs queued, started and failed."""
    depths: dict[str, dict[str, int]] = {}
    for name in WORKER_QUEUES:
        queue = Queue(name, connection=connection, serializer=SERIALIZER)
        depths[name] = {
            "queued": queue.count,
            "started": queue.started_job_registry.count,
            "failed": queue.failed_job_registry.count,
        }
    return depths


def cannot_run(connection: redis.Redis) -> dict[str, list[str]]:
    """Live workers that took game jobs and failed them before SnakeBench's code ran,
    with those games (the check ``dispatch status`` and the monitor warn with)."""
    queues = [Queue(name, connection=connection, serializer=SERIALIZER) for name in WORKER_QUEUES]
    live = {worker.name for worker in Worker.all(connection=connection)}
    return _cannot_run(_recent_jobs(queues, connection), live)


def _worker_info(worker: BaseWorker) -> dict[str, Any]:
    heartbeat = worker.last_heartbeat
    return {
        "name": worker.name,
        "state": worker.get_state(),
        "current_game": worker.get_current_job_id(),
        "queues": worker.queue_names(),
        "last_heartbeat": heartbeat.isoformat() if heartbeat else None,
    }


def _recent_jobs(queues: list[Queue], connection: redis.Redis) -> tuple[list[Job], list[Job]]:
    """The newest failed jobs and the scheduled jobs due first, across ``queues``."""
    failed: list[str] = []
    scheduled: list[str] = []
    for queue in queues:
        failed += queue.failed_job_registry.get_job_ids(-FAILED_SCAN, -1, cleanup=False)
        scheduled += queue.scheduled_job_registry.get_job_ids(0, RETRY_SCAN - 1, cleanup=False)
    return _fetch(failed[-FAILED_SCAN:], connection), _fetch(scheduled, connection)


def _fetch(ids: list[str], connection: redis.Redis) -> list[Job]:
    jobs = Job.fetch_many(ids, connection=connection, serializer=SERIALIZER)
    return [job for job in jobs if job is not None]


def _classify_failures(status: QueueStatus, queues: list[Queue], connection: redis.Redis) -> None:
    failed, scheduled = _recent_jobs(queues, connection)
    status.failed_scanned = len(failed)
    status.abandoned = sum("AbandonedJobError" in _failure_of(job) for job in failed)
    status.cannot_run = _cannot_run((failed, scheduled), {w["name"] for w in status.workers})


def _cannot_run(jobs: tuple[list[Job], list[Job]], live: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for job in (job for group in jobs for job in group):
        worker = job.worker_name
        if worker in live and _is_game(job) and attempt_never_ran(job):
            found.setdefault(worker, []).append(job.id)
    return found


def _is_game(job: Job) -> bool:
    """A SnakeBench game's job (not a health probe, nor something planted that the
    restricted reader refuses to load)."""
    try:
        return bool(job.func_name == RUN_GAME)
    except Exception:  # DeserializationError: not ours to judge
        return False


def _failure_of(job: Job) -> str:
    try:
        result = job.latest_result()
    except Exception:  # a result the restricted reader refuses: not one of ours
        return ""
    return (result.exc_string or "") if result is not None else ""


def health_warnings(reports: list[dict[str, Any]]) -> list[str]:
    """A warning per worker that took a health check and failed it (it could not read
    the job, or not import ``jobs.run_game``): it cannot run games either."""
    failed = [report for report in reports if report.get("status") == "failed"]
    names = sorted({str(report.get("worker") or "unnamed") for report in failed})
    return [cannot_run_warning(name, "it failed a health check") for name in names]


def health_check(connection: redis.Redis, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Enqueue ``jobs.run_game.health_check`` on each game queue and wait up to
    ``timeout`` seconds for the answers: one report per queue, with ``answered``
    False for a queue no worker served.

    It leaves nothing behind: every probe is deleted at the end, answered or not, even
    when the wait is interrupted. So no probe waits in a queue nobody serves (to be run
    late by a worker that starts later, or counted by ``rq info``), and no failed probe
    stays in the failed registry to be reported after its worker is gone."""
    queues = [Queue(name, connection=connection, serializer=SERIALIZER) for name in WORKER_QUEUES]
    jobs: dict[str, Job] = {}
    try:
        for queue in queues:
            jobs[queue.name] = queue.enqueue(
                HEALTH_CHECK,
                job_id=f"health-{uuid.uuid4().hex[:12]}",
                # Outlives the wait (it is deleted then); a crash of this process still
                # cannot leave a probe to be run hours later.
                ttl=int(timeout) + 60,
                job_timeout=60,
                result_ttl=300,
                failure_ttl=300,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(_ended(job) for job in jobs.values()):
            time.sleep(0.2)
        return [_answer(name, job) for name, job in jobs.items()]
    finally:
        for job in jobs.values():
            job.delete()


def _ended(job: Job) -> bool:
    return _status(job) in (JobStatus.FINISHED, JobStatus.FAILED)


def _status(job: Job) -> JobStatus | None:
    """The job's status now; None once it is gone."""
    try:
        return job.get_status(refresh=True)
    except InvalidJobOperation:
        return None


def _answer(queue: str, job: Job) -> dict[str, Any]:
    """The worker's report; for a check that raised, who took it and why it failed
    (e.g. a worker started with ``-S json`` cannot even read it)."""
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
