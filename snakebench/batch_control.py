"""Bringing Redis back in line with the database: reconcile, cancel, retry, purge.

The database says what should happen to each game; Redis only carries jobs. So every
operation here changes the database first (in one transaction, counters included) and
then makes Redis agree: a job for a game that should run is (re-)enqueued under the
game's id, a job for a cancelled game is dropped or stopped. If Redis is lost half-way,
running :func:`reconcile` again finishes the job.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from datetime import UTC, datetime

import redis
from rq import Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import BaseRegistry, FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry

from snakebench.config import Settings
from snakebench.queueing import (
    ENQUEUE_CHUNK,
    LIVE_STATUSES,
    SERIALIZER,
    WORKER_QUEUES,
    enqueue_games,
    live_job_ids,
)
from snakebench.store import (
    Batch,
    active_batch_games,
    batch_max_rounds,
    cancel_batch_games,
    get_batch,
    requeue_batch_games,
)


def enqueue_batch_games(
    batch: Batch,
    game_ids: Sequence[str],
    connection: redis.Redis,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
) -> int:
    """Enqueue these games of ``batch`` on its priority's queue (pipelined)."""
    if not game_ids:
        return 0
    return enqueue_games(
        game_ids,
        max_rounds=batch_max_rounds(batch.id),
        priority=str((batch.params or {}).get("priority", "normal")),
        connection=connection,
        at=at,
        settings=settings,
    )


def reconcile(
    connection: redis.Redis, *, batch_id: str | None = None, settings: Settings | None = None
) -> list[str]:
    """Re-enqueue every ``queued`` or ``running`` batch game that has no live job in
    Redis (after a flushed Redis or a worker that died for good); return their ids.

    Games of a batch run with ``--sync`` are skipped unless that batch is named: they
    have no job by design, and their own process is playing them.
    """
    enqueued: list[str] = []
    for found_batch, game_ids in active_batch_games(batch_id).items():
        batch = get_batch(found_batch)
        params = batch.params or {}
        if batch_id is None and params.get("mode") == "sync":
            continue
        enqueued += _replace_jobs(
            batch, game_ids, connection, at=_still_ahead(params.get("at")), settings=settings
        )
    return enqueued


def _still_ahead(scheduled: object) -> datetime | None:
    """The batch's ``--at`` time if it is still in the future (jobs then wait for it)."""
    if not isinstance(scheduled, str):
        return None
    when = datetime.fromisoformat(scheduled)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when if when > datetime.now(UTC) else None


def _replace_jobs(
    batch: Batch,
    game_ids: Sequence[str],
    connection: redis.Redis,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
) -> list[str]:
    """Enqueue a fresh job for each of ``game_ids`` that has no live one, deleting any
    dead job (finished, failed, stopped) left under the same id first."""
    live = live_job_ids(game_ids, connection)
    missing = [gid for gid in game_ids if gid not in live]
    _delete_jobs(missing, connection)
    enqueue_batch_games(batch, missing, connection, at=at, settings=settings)
    return missing


def cancel_batch(batch_id: str, connection: redis.Redis) -> int:
    """Cancel every queued or running game of the batch: marked ``cancelled`` in the
    database first (so a job that starts meanwhile plays nothing), then queued and
    scheduled jobs are removed from Redis and running ones stopped. Returns how many
    games were cancelled. A game that still ends afterwards is not recorded."""
    cancelled = cancel_batch_games(batch_id)
    running: list[str] = []
    for jobs in _fetched(cancelled, connection):
        with connection.pipeline() as pipe:
            for job in jobs:
                status = job.get_status(refresh=False)
                if status == JobStatus.STARTED:
                    running.append(job.id)
                elif status in LIVE_STATUSES:
                    job.cancel(pipeline=pipe)
            pipe.execute()
    for job_id in running:
        # A job that ended meanwhile cannot be stopped; its result is refused anyway.
        with suppress(InvalidJobOperation, NoSuchJobError):
            send_stop_job_command(connection, job_id, serializer=SERIALIZER)
    return len(cancelled)


def retry_batch(batch_id: str, connection: redis.Redis, settings: Settings | None = None) -> int:
    """Put the batch's ``failed`` and ``void`` games back to ``queued`` under the same
    ids and enqueue them again; returns how many."""
    requeued = requeue_batch_games(batch_id)
    _replace_jobs(get_batch(batch_id), requeued, connection, settings=settings)
    return len(requeued)


# The registries purge empties besides the queues themselves.
_PURGED_REGISTRIES: dict[str, type[BaseRegistry]] = {
    "scheduled": ScheduledJobRegistry,
    "failed": FailedJobRegistry,
    "finished": FinishedJobRegistry,
}


def purge(connection: redis.Redis) -> dict[str, int]:
    """Empty the three game queues and their scheduled, failed and finished registries,
    deleting those jobs; running jobs and the database are left alone (queued games
    stay ``queued``: :func:`reconcile` would enqueue them again). Returns counts."""
    counts: dict[str, int] = dict.fromkeys([*WORKER_QUEUES, *_PURGED_REGISTRIES], 0)
    for name in WORKER_QUEUES:
        queue = Queue(name, connection=connection, serializer=SERIALIZER)
        queued = queue.get_job_ids()
        connection.delete(queue.key)
        _delete_jobs(queued, connection)
        counts[name] = len(queued)
        for label, registry_class in _PURGED_REGISTRIES.items():
            registry = registry_class(queue=queue)
            held = registry.get_job_ids()
            _delete_jobs(held, connection)
            connection.delete(registry.key)
            counts[label] += len(held)
    return counts


def _delete_jobs(job_ids: Sequence[str], connection: redis.Redis) -> None:
    """Delete these jobs (hash, results, registry entries), pipelined per chunk."""
    for jobs in _fetched(job_ids, connection):
        with connection.pipeline() as pipe:
            for job in jobs:
                job.delete(pipeline=pipe, remove_from_queue=False)
            pipe.execute()


def _fetched(job_ids: Sequence[str], connection: redis.Redis) -> Iterator[list[Job]]:
    """The jobs that exist among ``job_ids``, fetched a pipelined chunk at a time."""
    for start in range(0, len(job_ids), ENQUEUE_CHUNK):
        chunk = job_ids[start : start + ENQUEUE_CHUNK]
        found = Job.fetch_many(chunk, connection=connection, serializer=SERIALIZER)
        yield [job for job in found if job is not None]
