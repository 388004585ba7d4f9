"""A worker cut off mid-game past its heartbeat, its game handed to another worker by
``reconcile``, then back (issue 19, ``partition-heal``): the game runs once.

The database side is fenced (tests/games/test_fencing.py: a stale run's result is
refused). This is the Redis side, with real ``rq worker`` processes: the stale work
horse must not mark the job finished or failed, since the job under the game's id is
now the new run's. Frozen with SIGSTOP (no heartbeat, no round played, as behind a
pulled cable) and thawed with SIGCONT; ``fast_forward`` stands in for the 65-90 s
the heartbeat takes to lapse.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator

import pytest
from rq.job import Job

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.queueing import RUN_GAME, SERIALIZER, game_queue, job_taken_over, mark_run_started
from snakebench.services.batches import BatchSpec, submit_batch
from snakebench.services.reconcile import reconcile
from snakebench.store import Game, Participant, RatingChange, upsert_model
from snakebench.testing import support as support

from .conftest import Stack, Worker, fast_forward, wait_until

pytestmark = pytest.mark.slow

HEARTBEAT_EXPIRY = 100  # seconds: past a busy RQ worker's heartbeat (90 s by default)


@pytest.fixture
def fake_llm(stack: Stack) -> Iterator[FakeLLMServer]:
    """Long games (the survivor strategy), ~100 ms a move: a freeze finds one mid-game."""
    with FakeLLMServer(FakeOptions(latency_ms=100, strategy="survivor", seed=1)) as server:
        for name in ("fake-a", "fake-b"):
            upsert_model(name, provider="openai", model_slug=name, base_url=f"{server.url}/v1")
        yield server


def freeze(worker: Worker, sig: signal.Signals) -> None:
    """SIGSTOP or SIGCONT a worker and all its children (horse, scheduler)."""
    for pid in [*worker.children(), worker.pid]:
        support.kill_pid(pid, sig)


def job_oks(stack: Stack, game_id: str) -> int:
    logs = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(w.output() for w in stack.workers))
    return len(re.findall(rf"Job OK \({game_id}\)", logs))


def test_a_healed_workers_stale_run_neither_records_nor_reports(
    stack: Stack, fake_llm: FakeLLMServer
) -> None:
    spec = BatchSpec("fake-a", "fake-b", count=1, max_rounds=60, seed=11)
    batch = submit_batch(spec, stack.redis)
    (game_id,) = [g.id for g in Game.select(Game.id).where(Game.batch == batch.id)]
    (stale,) = stack.start_workers(1)
    wait_until(lambda: int(fake_llm.stats()["total"]["requests"]) >= 10, 60, "the game")
    stale_attempt = Game.get_by_id(game_id).attempt
    freeze(stale, signal.SIGSTOP)
    try:
        fast_forward(stack.redis, HEARTBEAT_EXPIRY)
        assert reconcile(stack.redis, batch_id=str(batch.id)) == [game_id]
        (other,) = stack.start_workers(1)
        wait_until(lambda: job_oks(stack, game_id) == 1, 120, "the game's replay")
    finally:
        freeze(stale, signal.SIGCONT)
    wait_until(lambda: not stale.horses(), 60, "the stale horse to exit")

    game = Game.get_by_id(game_id)
    assert (game.status, game.worker) == ("completed", other.name), stack.logs()
    assert game.attempt > stale_attempt + 1  # reconcile's, then the new run's
    assert Participant.select().where(Participant.game == game_id).count() == 2
    assert RatingChange.select().where(RatingChange.game == game_id).count() == 2
    # Redis: the new run's finish stands, the stale one told RQ nothing.
    assert job_oks(stack, game_id) == 1, stack.logs()
    assert "left to its new run unreported" in stale.output()
    job = Job.fetch(game_id, connection=stack.redis, serializer=SERIALIZER)
    assert job.get_status() == "finished" and job.worker_name == other.name
    assert job.started_job_registry.get_job_ids(cleanup=False) == []  # none left behind
    assert stale.alive(), stale.output()


def test_a_job_enqueued_again_is_taken_over(stack: Stack) -> None:
    queue = game_queue("normal", stack.redis)
    job = queue.enqueue(RUN_GAME, "g1", job_id="g1")
    job.started_at = job.enqueued_at  # as RQ sets it when a worker starts the job
    mark_run_started(job)
    assert not job_taken_over(job)
    job.delete()
    assert job_taken_over(job)  # deleted by reconcile
    queue.enqueue(RUN_GAME, "g1", job_id="g1")
    assert job_taken_over(job)  # and enqueued again, not started yet
