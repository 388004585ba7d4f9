"""Making Redis agree with the database: the RQ side of enqueueing, cancelling,
reconciling and purging a batch's games.

The database says what should happen to each game; Redis only carries jobs. So the
services change the database first (in one transaction, counters included) and then
call these to make Redis agree: a job for a game that should run is (re-)enqueued under
the game's id (:func:`enqueue_missing`), a job for a cancelled game is dropped or
stopped (:func:`stop_jobs`). If Redis is lost half-way, reconciling again finishes it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import redis
from rq import Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus
from rq.registry import (
    BaseRegistry,
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.results import Result
from rq.utils import parse_composite_key

from snakebench.config import Settings
from snakebench.queueing import (
    ENQUEUE_CHUNK,
    EVALUATION_ON_FAILURE,
    EVALUATION_ON_SUCCESS,
    SERIALIZER,
    WORKER_QUEUES,
    QueueError,
    enqueue_game_with_callbacks,
    enqueue_games,
    job_statuses,
    live_of,
    locks,
)
from snakebench.store import (
    Batch,
    active_batch_games,
    batch_max_rounds,
    get_batch,
    supersede_runs,
)
from snakebench.store.limit_queries import any_limits


def enqueue_batch_games(
    batch: Batch,
    game_ids: Sequence[str],
    connection: redis.Redis,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
    fence: tuple[str, str] | None = None,
) -> int:
    """Enqueue these games of ``batch`` on its priority's queue (pipelined), each chunk
    only while the lock ``fence`` is held (:func:`enqueue_missing` passes the batch's).

    An evaluation's game gets its callbacks again, whoever enqueues it (reconcile after
    a lost Redis, retry): without them the ladder would stop at that game.
    """
    if not game_ids:
        return 0
    params = batch.params or {}
    limited = any_limits()  # moves may wait for provider slots: the jobs get the time
    if params.get("evaluation"):
        for game_id in game_ids:
            enqueue_game_with_callbacks(
                game_id,
                max_rounds=batch_max_rounds(batch.id),
                priority=str(params.get("priority", "normal")),
                connection=connection,
                on_success=EVALUATION_ON_SUCCESS,
                on_failure=EVALUATION_ON_FAILURE,
                settings=settings,
                limited=limited,
            )
        return len(game_ids)
    return enqueue_games(
        game_ids,
        max_rounds=batch_max_rounds(batch.id),
        priority=str((batch.params or {}).get("priority", "normal")),
        connection=connection,
        at=at,
        settings=settings,
        limited=limited,
        fence=fence,
    )


def enqueue_missing(
    batch: Batch,
    game_ids: Sequence[str],
    connection: redis.Redis,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
) -> list[str]:
    """Enqueue a fresh job for each of ``game_ids`` that has no live one (deleting any
    dead job, finished, failed or stopped, left under the same id); return those ids.

    Submit, reconcile and retry all come through here, under the batch's lock: two
    processes that both saw "no live job" would both enqueue, and a game queued twice
    could be played (and paid for) twice.
    """
    with batch_lock(connection, batch.id) as fence:
        missing = _without_job(batch, game_ids, connection)
        _delete_jobs(missing, connection)
        # A run of these games still going somewhere (its worker cut off, not dead) must
        # not play on beside the new one: the next token makes it stale.
        supersede_runs(missing)
        enqueue_batch_games(batch, missing, connection, at=at, settings=settings, fence=fence)
    return missing


def _without_job(batch: Batch, game_ids: Sequence[str], connection: redis.Redis) -> list[str]:
    """The games among ``game_ids`` (of ``batch``) with no live job that are still
    unfinished. The database is read again after Redis: a game the caller listed as
    unfinished may have been played since (reconcile or status beside busy workers); its
    job reads ``finished`` only after its result was committed, so here it shows as over,
    and is neither counted nor enqueued for a second, empty run."""
    live = live_games(game_ids, connection)
    unfinished = set(active_batch_games(batch.id).get(batch.id, ()))
    return [gid for gid in game_ids if gid not in live and gid in unfinished]


def live_games(game_ids: Sequence[str], connection: redis.Redis) -> set[str]:
    """The games among ``game_ids`` whose job RQ still holds, less two kinds of dead one:
    a job still ``started`` whose worker stopped heartbeating (its started-registry
    entry lapsed) is abandoned now, as RQ's own maintenance would find minutes later;
    and a ``scheduled`` job (a retry) long overdue, which means no scheduler is running
    (the worker holding the lock was killed; the others retry the lock only every ten
    minutes): enqueued afresh, the game runs now; and a ``queued`` job stranded in RQ's
    intermediate list (a worker stopped between taking it and starting it)."""
    statuses = job_statuses(game_ids, connection)
    started = {gid for gid, status in statuses.items() if status == "started"}
    queued = {gid for gid, status in statuses.items() if status == "queued"}
    dead = (started - _heartbeating(connection)) | _overdue_scheduled(connection)
    stranded = _stranded(connection, queued)
    return live_of(statuses) - dead - stranded - _unlisted(connection, queued - stranded)


SCHEDULER_GRACE = 60.0  # seconds a due job may wait for the scheduler's next pass


def _overdue_scheduled(connection: redis.Redis) -> set[str]:
    """Scheduled jobs due more than :data:`SCHEDULER_GRACE` ago (no scheduler moved them)."""
    due_before = time.time() - SCHEDULER_GRACE
    overdue: set[str] = set()
    for name in WORKER_QUEUES:
        key = ScheduledJobRegistry(name, connection=connection).key  # type: ignore[no-untyped-call]
        entries: list[bytes] = connection.zrangebyscore(key, "-inf", due_before)  # type: ignore[assignment]
        overdue.update(entry.decode() for entry in entries)
    return overdue


def _stranded(connection: redis.Redis, queued: set[str]) -> set[str]:
    """Queued jobs a worker took off its queue into RQ's intermediate list but never
    started, by RQ's own rule: seen there, unstarted, for over a minute (the first look
    only marks them). RQ's maintenance applies it only every ten minutes or so. The
    id leaves the intermediate list, so RQ does not enqueue it a second time."""
    stranded: set[str] = set()
    for name in WORKER_QUEUES:
        queue = Queue(name, connection=connection, serializer=SERIALIZER)
        waiting = IntermediateQueue(queue.key, connection)
        for job_id in set(waiting.get_job_ids()) & queued:
            if job_id in queue.started_job_registry or waiting.set_first_seen(job_id):
                continue
            if waiting.should_be_cleaned_up(job_id):
                waiting.remove(job_id)
                stranded.add(job_id)
    return stranded


UNLISTED_PREFIX = "snakebench:unlisted:"  # + job id + enqueued_at: first seen in no list
UNLISTED_AFTER = 60.0  # seconds a popped job may take to show as started


def _unlisted(connection: redis.Redis, queued: set[str]) -> set[str]:
    """Queued jobs in no queue and not in RQ's intermediate list: popped by a worker
    whose connection broke before the reply reached it. A worker listening on several
    queues pops with ``BLPOP``: the id leaves the list in Redis, the worker never learns
    of it, and nothing would ever run the game. Found by the slow-link drill (a reset
    on a worker's path). RQ's intermediate rule again: the first look marks the job (by
    its id and enqueue time, so a job enqueued afresh starts over), a look a minute or
    more later that still finds it unlisted and queued takes it as dead; a healthy
    worker that has just popped one marks it started within that minute."""
    if not queued:
        return set()
    listed: set[str] = set()
    for name in WORKER_QUEUES:
        queue = Queue(name, connection=connection, serializer=SERIALIZER)
        listed.update(queue.get_job_ids())
        listed.update(IntermediateQueue(queue.key, connection).get_job_ids())
    gone = sorted(queued - listed)
    if not gone:
        return set()
    with connection.pipeline(transaction=False) as pipe:
        for gid in gone:
            pipe.hget(Job.key_for(gid), "enqueued_at")
        enqueued: list[bytes | None] = pipe.execute()
    now = time.time()
    keys = [
        f"{UNLISTED_PREFIX}{gid}:{(at or b'').decode()}"
        for gid, at in zip(gone, enqueued, strict=True)
    ]
    with connection.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.set(key, now, nx=True, ex=int(10 * UNLISTED_AFTER))
            pipe.get(key)
        marks = pipe.execute()[1::2]
    return {gid for gid, mark in zip(gone, marks, strict=True)
            if mark is not None and now - float(mark) >= UNLISTED_AFTER}  # fmt: skip


def _heartbeating(connection: redis.Redis) -> set[str]:
    """Jobs whose worker heartbeat keeps their started-registry entry in the future."""
    now = time.time()
    beating: set[str] = set()
    for name in WORKER_QUEUES:
        key = StartedJobRegistry(name, connection=connection).key
        entries: list[bytes] = connection.zrangebyscore(key, now, "+inf")  # type: ignore[assignment]
        beating.update(parse_composite_key(entry.decode())[0] for entry in entries)
    return beating


def games_without_jobs(connection: redis.Redis, *, limit: int = 10_000) -> int:
    """How many ``queued`` or ``running`` batch games have no live job in Redis: what
    reconciling would enqueue again (a flushed or replaced Redis, a dead worker's game).
    Reads no more than ``limit`` games, so a status stays quick at any size; a batch
    being submitted right now may show here for a moment."""
    found = 0
    for batch, game_ids in unfinished_batches():
        ids = game_ids[:limit]
        limit -= len(ids)
        found += len(_without_job(batch, ids, connection))
        if limit <= 0:
            break
    return found


def unfinished_batches(batch_id: str | None = None) -> Iterator[tuple[Batch, list[str]]]:
    """Each batch with ``queued`` or ``running`` games, and those games: the ones
    reconciling looks after. A batch run with ``--sync`` is left out unless it is the
    one named: its games have no job by design, their own process plays them."""
    for found_batch, game_ids in active_batch_games(batch_id).items():
        batch = get_batch(found_batch)
        if batch_id is None and (batch.params or {}).get("mode") == "sync":
            continue
        yield batch, game_ids


def still_ahead(scheduled: object) -> datetime | None:
    """The batch's ``--at`` time if it is still in the future (jobs then wait for it)."""
    if not isinstance(scheduled, str):
        return None
    when = datetime.fromisoformat(scheduled)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when if when > datetime.now(UTC) else None


LOCK_WAIT = 60.0  # seconds to wait for another process enqueueing the same batch


@contextmanager
def batch_lock(
    connection: redis.Redis, batch_id: str, *, wait: float = LOCK_WAIT
) -> Iterator[tuple[str, str]]:
    """Hold the batch's enqueue lock (:mod:`snakebench.queueing.locks`: in Redis, where
    the jobs are, renewed while held); :class:`QueueError` if another process keeps it
    longer than ``wait``. Yields its (key, token): the fence of what is enqueued under it."""
    key, token = f"snakebench:enqueue-lock:{batch_id}", locks.new_token()
    deadline = time.monotonic() + wait
    while not connection.set(key, token, nx=True, ex=locks.LOCK_TTL):
        if time.monotonic() > deadline:
            raise QueueError(f"batch {batch_id} is being enqueued by another process; try later")
        time.sleep(0.05)
    try:
        with locks.kept(connection, key, token):
            yield key, token
    finally:
        locks.release(connection, key, token)


def stop_jobs(game_ids: Sequence[str], connection: redis.Redis) -> None:
    """Take the jobs of these (just cancelled) games out of Redis: waiting ones are
    cancelled, running ones are sent RQ's stop command. A job that ended meanwhile
    cannot be stopped; its result is refused anyway, its game being cancelled."""
    running: list[str] = []
    for jobs in _fetched(game_ids, connection):
        running += _cancel_waiting(jobs, connection)
    for job_id in running:
        with suppress(InvalidJobOperation, NoSuchJobError):
            send_stop_job_command(connection, job_id, serializer=SERIALIZER)


# Where a waiting job sits, by status: taken out of there when it is cancelled.
_WAITING_REGISTRIES: dict[JobStatus, type[BaseRegistry]] = {
    JobStatus.SCHEDULED: ScheduledJobRegistry,
    JobStatus.DEFERRED: DeferredJobRegistry,
}


def _cancel_waiting(jobs: list[Job], connection: redis.Redis) -> list[str]:
    """Cancel the jobs still waiting (queued, scheduled, deferred) as ``Job.cancel``
    does, but in ONE pipeline with no read per job (10,000 jobs in a second, not
    many); return the ids of those already started, which must be stopped instead."""
    started: list[str] = []
    with connection.pipeline() as pipe:
        for job in jobs:
            status = job.get_status(refresh=False)
            if status == JobStatus.STARTED:
                started.append(job.id)
                continue
            if status == JobStatus.QUEUED:
                Queue(job.origin, connection=connection).remove(job.id, pipeline=pipe)
            elif status in _WAITING_REGISTRIES:
                registry = _WAITING_REGISTRIES[status](job.origin, connection=connection)
                registry.remove(job.id, pipeline=pipe)
            else:
                continue  # ended already
            job.set_status(JobStatus.CANCELED, pipeline=pipe)
            CanceledJobRegistry(job.origin, connection=connection).add(job, pipeline=pipe)
        pipe.execute()
    return started


# The registries purge empties besides the queues themselves.
_PURGED_REGISTRIES: dict[str, type[BaseRegistry]] = {
    "scheduled": ScheduledJobRegistry,
    "failed": FailedJobRegistry,
    "finished": FinishedJobRegistry,
}


def purge(connection: redis.Redis) -> dict[str, int]:
    """Empty the three game queues and their scheduled, failed and finished registries,
    deleting those jobs; running jobs and the database are left alone (queued games
    stay ``queued``: reconciling would enqueue them again). Returns counts."""
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
                try:
                    # remove_from_queue: a scheduler may have just moved an overdue
                    # job into its queue; the id must not end up listed twice.
                    job.delete(pipeline=pipe, remove_from_queue=True)
                except ValueError:  # RQ cannot find the expired execution of a dead worker
                    _delete_dead_job(job, pipe, connection)
            pipe.execute()


def _delete_dead_job(job: Job, pipe: Any, connection: redis.Redis) -> None:
    """What ``Job.delete`` does, by hand, for a job whose worker died so long ago that
    its execution record expired: its started-registry entries, then its keys."""
    for name in WORKER_QUEUES:
        key = StartedJobRegistry(name, connection=connection).key
        entries: list[bytes] = connection.zrange(key, 0, -1)  # type: ignore[assignment]
        mine = [e for e in entries if parse_composite_key(e.decode())[0] == job.id]
        if mine:
            pipe.zrem(key, *mine)
    results = Result.get_key(job.id)  # type: ignore[no-untyped-call]
    pipe.delete(job.key, job.execution_registry.key, results)


def _fetched(job_ids: Sequence[str], connection: redis.Redis) -> Iterator[list[Job]]:
    """The jobs that exist among ``job_ids``, fetched a pipelined chunk at a time."""
    for start in range(0, len(job_ids), ENQUEUE_CHUNK):
        chunk = job_ids[start : start + ENQUEUE_CHUNK]
        found = Job.fetch_many(chunk, connection=connection, serializer=SERIALIZER)
        yield [job for job in found if job is not None]
