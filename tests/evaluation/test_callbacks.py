"""jobs.evaluate's failure callback: no move while RQ will retry; a job given up
for good fails its game, and the ladder replaces it instead of stalling."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import redis
from rq.job import Job

from jobs.evaluate import on_game_failure
from snakebench.config import Settings
from snakebench.games.simulation import GameParams
from snakebench.queueing import SERIALIZER
from snakebench.services.evaluation import advance, start_evaluation
from snakebench.services.reconcile import reconcile
from snakebench.store import Evaluation, Game, open_store


def _start(connection: redis.Redis) -> tuple[str, str]:
    """An evaluation of greedy over 2 games, and its first game, enqueued."""
    ev = start_evaluation("greedy", 2, params=GameParams(max_rounds=10))
    game_id = advance(ev.id, connection).created
    assert game_id is not None
    return ev.id, game_id


def test_failure_callback_waits_for_retries_then_gives_the_game_up(
    store: Settings, real_redis: redis.Redis
) -> None:
    ev_id, first = _start(real_redis)
    job: Any = SimpleNamespace(args=(first,), retries_left=2)
    on_game_failure(job, real_redis, RuntimeError, RuntimeError("db down"), None)
    open_store(store)  # the callback closed the connection, as a work horse would
    assert Game.get_by_id(first).status == "queued"
    job.retries_left = 0
    on_game_failure(job, real_redis, RuntimeError, RuntimeError("db down"), None)
    open_store(store)
    gave_up = Game.get_by_id(first)
    assert gave_up.status == "failed" and "db down" in str(gave_up.error)
    assert Evaluation.get_by_id(ev_id).games_started == 2  # a replacement is on its way
    assert real_redis.exists(f"rq:job:{advance(ev_id).pending[0]}")


def test_reconcile_gives_an_evaluation_game_its_callbacks_again(
    store: Settings, real_redis: redis.Redis
) -> None:
    """After a lost Redis, the game reconcile re-enqueues must still drive the ladder."""
    game_id = _start(real_redis)[1]
    real_redis.flushdb()
    assert reconcile(real_redis) == [game_id]
    job = Job.fetch(game_id, connection=real_redis, serializer=SERIALIZER)
    assert job._success_callback_name == "jobs.evaluate.on_game_success"
    assert job._failure_callback_name == "jobs.evaluate.on_game_failure"
