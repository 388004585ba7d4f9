"""Whole batches through real Redis and real ``rq worker`` processes: every game
done exactly once, even when Redis loses everything half-way.

The 200-game run is the main claim of the product (many workers, one SQLite file,
no game lost or doubled); it runs again, smaller, on PostgreSQL, as does the
flushed-Redis run.
"""

from __future__ import annotations

import time

import pytest

from snakebench.services.batches import BatchSpec, batch_progress, submit_batch
from snakebench.services.reconcile import reconcile
from snakebench.store import Game

from .checks import assert_batch_completed
from .conftest import BACKENDS, Stack, wait_until

pytestmark = pytest.mark.slow

BOTS = ("greedy", "random")


@pytest.mark.parametrize(
    ("db_url", "count"),
    [("sqlite", 200), pytest.param("postgres", 60, marks=pytest.mark.postgres)],
    indirect=["db_url"],
)
def test_a_bot_batch_across_four_workers_completes_every_game_once(
    stack: Stack, count: int
) -> None:
    spec = BatchSpec(*BOTS, count=count, max_rounds=60, seed=1000)
    batch = submit_batch(spec, stack.redis)
    assert batch_progress(batch.id).queued == count
    workers = stack.start_workers(4, burst=True)
    stack.wait_workers_exit(timeout=120)

    assert_batch_completed(batch.id, count, stack.replay_dir, BOTS, stack.redis)
    # The games really were shared out (the job id, hence the game, went to one of them).
    played_by = {game.worker for game in Game.select(Game.worker)}
    assert played_by <= {w.name for w in workers}
    assert len(played_by) >= 2, played_by


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_redis_flushed_mid_batch_then_reconcile_loses_nothing(stack: Stack) -> None:
    count = 120
    batch = submit_batch(BatchSpec(*BOTS, count=count, max_rounds=60, seed=2000), stack.redis)
    stack.start_workers(2)

    wait_until(lambda: batch_progress(batch.id).completed >= 15, 60, "15 games done", 0.01)
    stack.redis.flushdb()  # every queued job, registry and worker key: gone
    left = batch_progress(batch.id)
    assert left.completed < count, "the batch finished before Redis was flushed"
    time.sleep(0.5)  # let games that were running at the flush end (or not)

    requeued = reconcile(stack.redis, batch_id=batch.id)
    still_open = {
        game.id
        for game in Game.select(Game.id).where(
            (Game.batch == batch.id) & Game.status.in_(["queued", "running"])
        )
    }
    assert set(requeued) >= still_open and still_open, (len(requeued), len(still_open))
    assert reconcile(stack.redis, batch_id=batch.id) == [], "a second reconcile re-enqueued"

    # The same workers carry on once the jobs are back.
    wait_until(lambda: batch_progress(batch.id).finished, 90, "the batch to finish", 0.2)
    assert_batch_completed(batch.id, count, stack.replay_dir, BOTS)
