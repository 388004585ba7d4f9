"""Repairing a ladder whose chain broke: ``reconcile`` and ``evaluate --resume``
(review findings 4, 5 and 6)."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from typer.testing import Result

from snakebench.config import Settings
from snakebench.games.simulation import GameParams
from snakebench.queueing import SERIALIZER
from snakebench.services.evaluation import advance, start_evaluation
from snakebench.services.reconcile import reconcile
from snakebench.store import Evaluation, Game

Invoke = Callable[..., Result]
PARAMS = GameParams(max_rounds=10)


def _callbacks(game_id: str, connection: redis.Redis) -> tuple[str | None, str | None]:
    job = Job.fetch(game_id, connection=connection, serializer=SERIALIZER)
    return job._success_callback_name, job._failure_callback_name


def test_reconcile_moves_on_a_ladder_whose_last_callback_was_lost(
    store: Settings, real_redis: redis.Redis
) -> None:
    """Finding 4: the game ended but its callback never ran (a killed work horse runs
    none in RQ 3): nothing was pending, so reconcile had nothing to repair."""
    ev = start_evaluation("greedy", 3, params=PARAMS)
    first = advance(ev.id, real_redis).created
    Game.update(status="completed").where(Game.id == first).execute()
    real_redis.flushdb()  # the job, and with it any trace of the callback, gone
    (created,) = reconcile(real_redis)
    assert created != first and Evaluation.get_by_id(ev.id).games_started == 2
    assert _callbacks(created, real_redis) == (
        "jobs.evaluate.on_game_success",
        "jobs.evaluate.on_game_failure",
    )
    assert reconcile(real_redis) == []  # idempotent


def test_reconcile_leaves_a_sync_ladder_alone_unless_its_batch_is_named(
    store: Settings, real_redis: redis.Redis
) -> None:
    ev = start_evaluation("greedy", 3, params=PARAMS, sync=True)
    Game.update(status="completed").where(Game.id == advance(ev.id).created).execute()
    assert reconcile(real_redis) == []
    assert Evaluation.get_by_id(ev.id).games_started == 1
    assert len(reconcile(real_redis, batch_id=str(ev.batch_id))) == 1


def _dead_worker_took(game_id: str, connection: redis.Redis) -> None:
    """What a worker that died long ago leaves: the job ``started``, its heartbeat
    lapsed, and the execution record the job points to expired (``Job.delete`` then
    raises ValueError)."""
    Queue("games", connection=connection, serializer=SERIALIZER).remove(game_id)
    job = Job.fetch(game_id, connection=connection, serializer=SERIALIZER)
    job.set_status(JobStatus.STARTED)
    started = StartedJobRegistry("games", connection=connection).key
    connection.zadd(started, {f"{game_id}:exec-1": time.time() - 1})
    connection.zadd(job.execution_registry.key, {"exec-1": time.time() + 60})


def test_resume_replaces_a_dead_workers_job(
    store: Settings, real_redis: redis.Redis, run: Invoke
) -> None:
    """Finding 5: ``evaluate --resume`` crashed with ValueError on such a job."""
    ev = start_evaluation("greedy", 3, params=PARAMS)
    game_id = advance(ev.id, real_redis).created
    assert game_id is not None
    Game.update(status="running").where(Game.id == game_id).execute()
    _dead_worker_took(game_id, real_redis)
    result = run("evaluate", "--resume", "--json")
    assert result.exit_code == 0, result.output
    assert '"enqueued": [\n        "' + game_id in result.stdout
    job = Job.fetch(game_id, connection=real_redis, serializer=SERIALIZER)
    assert job.get_status() == "queued" and _callbacks(game_id, real_redis)[0] is not None
    assert game_id in Queue("games", connection=real_redis).job_ids


def test_resume_takes_over_a_sync_ladder_only_when_its_model_is_named(
    store: Settings, real_redis: redis.Redis, run: Invoke
) -> None:
    """Finding 6: a --sync ladder's current game has no job by design; resuming every
    ladder enqueued it, and a worker played it alongside the sync process."""
    ev = start_evaluation("greedy", 3, params=PARAMS, sync=True)
    game_id = advance(ev.id).created
    assert game_id is not None
    result = run("evaluate", "--resume")
    assert result.exit_code == 0, result.output
    assert not real_redis.exists(Job.key_for(game_id))
    result = run("evaluate", "--resume", "greedy")
    assert result.exit_code == 0, result.output
    assert "1 enqueued" in result.stdout and real_redis.exists(Job.key_for(game_id))
