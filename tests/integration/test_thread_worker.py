"""``rq worker -w snakebench.queueing.thread_worker.ThreadWorker``: several games at once in
one real worker process, with RQ's guarantees intact.

Each test runs the documented worker command plus ``-w``, against LLM players behind
the fake provider (100 ms per move), so games overlap for seconds: all complete
once; a warm shutdown lets the running games finish; a killed process's games are
played again; a cancel stops running games inside the process.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest
from rq import Worker as RQWorker
from rq.job import Job

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.queueing import SERIALIZER
from snakebench.services.batches import (
    BatchSpec,
    batch_progress,
    cancel_batch,
    submit_batch,
)
from snakebench.services.reconcile import reconcile
from snakebench.store import Game, upsert_model

from .checks import assert_batch_completed
from .conftest import BACKENDS, Stack, fast_forward, wait_until

pytestmark = pytest.mark.slow

THREAD_WORKER = "snakebench.queueing.thread_worker.ThreadWorker"
MODELS = ("fake-a", "fake-b")
HEARTBEAT_EXPIRY = 100  # seconds: a busy worker's started-job entries last 90


@pytest.fixture
def fake_llm(stack: Stack) -> Iterator[FakeLLMServer]:
    with FakeLLMServer(FakeOptions(latency_ms=100, strategy="survivor", seed=3)) as server:
        for name in MODELS:
            upsert_model(name, provider="openai", model_slug=name, base_url=f"{server.url}/v1")
        yield server


def requests(server: FakeLLMServer) -> int:
    return int(server.stats()["total"]["requests"])


def submit(stack: Stack, count: int, rounds: int, seed: int) -> str:
    spec = BatchSpec(*MODELS, count=count, max_rounds=rounds, seed=seed)
    return submit_batch(spec, stack.redis).id


def start_thread_worker(stack: Stack, threads: int, *, burst: bool = False) -> None:
    stack.start_workers(
        1, burst=burst, worker_class=THREAD_WORKER, env={"SNAKEBENCH_WORKER_THREADS": str(threads)}
    )


def start_games(stack: Stack, count: int, rounds: int, seed: int, threads: int) -> str:
    """Submit a batch and start one ThreadWorker; return once ``threads`` of its games
    run at once (the rest wait in the queue)."""
    batch_id = submit(stack, count=count, rounds=rounds, seed=seed)
    start_thread_worker(stack, threads=threads)
    wait_until(lambda: batch_progress(batch_id).running == threads, 60, f"{threads} games running")
    return batch_id


def peak_running(batch_id: str, until: float) -> int:
    """The most games the batch had running at once, sampled until it finished."""
    peak = 0
    while time.monotonic() < until and not batch_progress(batch_id).finished:
        peak = max(peak, batch_progress(batch_id).running)
        time.sleep(0.05)
    return peak


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_one_process_plays_its_threads_worth_of_games_at_once(
    stack: Stack, fake_llm: FakeLLMServer
) -> None:
    batch_id = submit(stack, count=12, rounds=15, seed=40)
    start_thread_worker(stack, threads=6, burst=True)
    peak = peak_running(batch_id, time.monotonic() + 90)
    stack.wait_workers_exit(timeout=90)

    assert_batch_completed(batch_id, 12, stack.replay_dir, MODELS, stack.redis)
    assert peak == 6, f"at most {peak} games at once with 6 threads"
    (worker,) = stack.workers
    assert {game.worker for game in Game.select(Game.worker)} == {worker.name}


def test_a_warm_shutdown_lets_the_running_games_finish(
    stack: Stack, fake_llm: FakeLLMServer
) -> None:
    batch_id = start_games(stack, count=6, rounds=25, seed=41, threads=4)
    (worker,) = stack.workers
    worker.process.send_signal(signal.SIGTERM)

    assert worker.process.wait(60) == 0, worker.output()
    progress = batch_progress(batch_id)
    assert (progress.completed, progress.queued, progress.running) == (4, 2, 0), progress
    for game in Game.select().where(Game.status == "completed"):
        job = Job.fetch(game.id, connection=stack.redis, serializer=SERIALIZER)
        assert job.get_status() == "finished"
    assert RQWorker.all(connection=stack.redis) == []  # it registered its death


def test_the_games_of_a_killed_process_are_played_again(
    stack: Stack, fake_llm: FakeLLMServer
) -> None:
    batch_id = start_games(stack, count=3, rounds=30, seed=42, threads=3)
    wait_until(lambda: requests(fake_llm) >= 30, 30, "the games to be under way")
    (dead,) = stack.workers
    stack.kill(dead, parent=True)
    stack.workers.remove(dead)  # gone with its scheduler; not one to wait for
    assert reconcile(stack.redis, batch_id=batch_id) == []  # heartbeats still fresh

    fast_forward(stack.redis, HEARTBEAT_EXPIRY)
    assert len(reconcile(stack.redis, batch_id=batch_id)) == 3
    start_thread_worker(stack, threads=3, burst=True)
    stack.wait_workers_exit(timeout=90)
    assert_batch_completed(batch_id, 3, stack.replay_dir, MODELS, stack.redis)


def test_cancel_stops_the_games_running_in_threads(stack: Stack, fake_llm: FakeLLMServer) -> None:
    batch_id = start_games(stack, count=5, rounds=80, seed=43, threads=3)
    wait_until(lambda: requests(fake_llm) >= 20, 30, "the games to be under way")

    assert cancel_batch(batch_id, stack.redis) == 5
    running = [g.id for g in Game.select().where(Game.worker.is_null(False))]
    assert len(running) == 3

    def stopped() -> bool:
        jobs = [Job.fetch(i, connection=stack.redis, serializer=SERIALIZER) for i in running]
        return all(job.get_status() == "stopped" for job in jobs)

    wait_until(stopped, 30, "RQ to record the three jobs stopped")
    spent = requests(fake_llm)
    time.sleep(1.5)  # a game still playing would ask for more moves meanwhile
    assert requests(fake_llm) == spent
    assert {g.status for g in Game.select()} == {"cancelled"}
    (worker,) = stack.workers
    assert worker.alive()
