"""A worker that dies mid-game (SIGKILL, no chance to clean up) still leaves exactly
one completed game: played again under the same id, counted once, one replay.

Games here are slow on purpose: two LLM players behind the fake provider server
with 100 ms per move, so a game runs for seconds and the kill lands mid-game.
Three deaths: the work horse alone (its worker notices at once), and the whole
machine (worker, horse and scheduler), which nobody notices until the worker's
heartbeats expire; then either a new worker's start-up maintenance or
``reconcile`` must bring the game back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from rq.job import Job

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.localstack.processes import process_identity
from snakebench.queueing import SERIALIZER
from snakebench.services.batches import BatchSpec, batch_progress, submit_batch
from snakebench.services.reconcile import reconcile
from snakebench.store import Game, Model, Participant, upsert_model
from snakebench.testing import support as support

from .conftest import Stack, Worker, fast_forward, wait_until

pytestmark = pytest.mark.slow

ROUNDS = 40
# A busy RQ worker's heartbeat (worker key, started-job entry) lasts 90 s.
HEARTBEAT_EXPIRY = 100


@pytest.fixture
def fake_llm(stack: Stack) -> Iterator[FakeLLMServer]:
    """Two OpenAI-compatible models behind one fake server that plays the survivor
    strategy (long games) and answers each move after ~100 ms."""
    with FakeLLMServer(FakeOptions(latency_ms=100, strategy="survivor", seed=1)) as server:
        for name in ("fake-a", "fake-b"):
            upsert_model(name, provider="openai", model_slug=name, base_url=f"{server.url}/v1")
        yield server


def moves_served(server: FakeLLMServer) -> int:
    return int(server.stats()["total"]["requests"])


def start_one_game(stack: Stack, server: FakeLLMServer, *, preload: bool = True) -> str:
    """Submit a one-game batch, start a worker, return once the game is under way."""
    spec = BatchSpec("fake-a", "fake-b", count=1, max_rounds=ROUNDS, seed=11)
    batch = submit_batch(spec, stack.redis)
    (game_id,) = [g.id for g in Game.select(Game.id).where(Game.batch == batch.id)]
    stack.start_workers(1, preload=preload)
    wait_until(lambda: moves_served(server) >= 16, 60, "the game to be under way")
    assert Game.get_by_id(game_id).status == "running"
    return game_id


def kill_mid_game(stack: Stack, worker: Worker, *, parent: bool) -> None:
    assert len(stack.kill(worker, parent=parent)) == 1, "no work horse to kill"


def assert_played_once_more(
    stack: Stack, server: FakeLLMServer, game_id: str, served_before: int
) -> None:
    """One completed game, one replay, two participants, each model counted once,
    and the provider saw the killed attempt's moves plus a whole second game."""
    wait_until(
        lambda: Game.get_by_id(game_id).status not in ("queued", "running"),
        60,
        "the game to be played again",
    )
    game = Game.get_by_id(game_id)
    assert game.status == "completed", (game.error, stack.logs())
    assert Game.select().count() == 1
    participants = list(Participant.select().where(Participant.game == game_id))
    assert sorted(p.slot for p in participants) == [0, 1]
    assert {p.moves for p in participants} == {game.rounds}
    for name in ("fake-a", "fake-b"):
        assert Model.get(Model.name == name).games_played == 1
    assert [p.name for p in stack.replay_dir.iterdir()] == [f"snake_game_{game_id}.json"]
    assert moves_served(server) >= served_before + 2 * game.rounds
    assert game.batch_id is not None
    progress = batch_progress(game.batch_id)
    assert (progress.completed, progress.running, progress.queued) == (1, 0, 0)
    # The horse commits the game, then its worker records the job: a moment later.
    job = Job.fetch(game_id, connection=stack.redis, serializer=SERIALIZER)
    wait_until(lambda: job.get_status() == "finished", 10, "RQ to record the job finished")


def test_a_killed_work_horse_is_played_again_by_its_worker(
    stack: Stack, fake_llm: FakeLLMServer
) -> None:
    """The worker sees its horse die and hands the job to RQ's retry (7-22 s later,
    jittered): the same worker, the bare command, plays the game from its seed."""
    game_id = start_one_game(stack, fake_llm, preload=False)
    (worker,) = stack.workers
    kill_mid_game(stack, worker, parent=False)
    served = moves_served(fake_llm)
    assert_played_once_more(stack, fake_llm, game_id, served)
    assert worker.alive()
    assert Game.get_by_id(game_id).worker == worker.name


def test_a_dead_machine_is_noticed_by_the_next_worker_to_start(
    stack: Stack, fake_llm: FakeLLMServer
) -> None:
    """After the heartbeats expire, a new worker's start-up maintenance finds the job
    abandoned and retries it: RQ alone recovers, no operator needed."""
    game_id = start_one_game(stack, fake_llm)
    (dead,) = stack.workers
    kill_mid_game(stack, dead, parent=True)
    served = moves_served(fake_llm)
    fast_forward(stack.redis, HEARTBEAT_EXPIRY)
    (fresh,) = stack.start_workers(1)
    assert_played_once_more(stack, fake_llm, game_id, served)
    assert Game.get_by_id(game_id).worker == fresh.name


def test_reconcile_replays_a_game_whose_worker_died(stack: Stack, fake_llm: FakeLLMServer) -> None:
    """``reconcile`` (the documented cure for a killed worker) leaves a job alone while
    its worker may still be alive, and re-enqueues it once the heartbeats expired."""
    game_id = start_one_game(stack, fake_llm)
    (dead,) = stack.workers
    batch_id = Game.get_by_id(game_id).batch_id
    kill_mid_game(stack, dead, parent=True)
    served = moves_served(fake_llm)
    assert reconcile(stack.redis, batch_id=batch_id) == []  # it might still be playing

    fast_forward(stack.redis, HEARTBEAT_EXPIRY)
    assert reconcile(stack.redis, batch_id=batch_id) == [game_id]
    stack.start_workers(1)
    assert_played_once_more(stack, fake_llm, game_id, served)


@pytest.mark.parametrize("preload", [True, False], ids=["recommended", "plain"])
def test_a_killed_workers_horse_and_scheduler_die_with_it(
    stack: Stack, fake_llm: FakeLLMServer, preload: bool
) -> None:
    """SIGKILL of the worker's main process alone (the OOM killer's choice): its work
    horse must not play on, billing moves while reconcile hands the game to another
    worker; with -c jobs.run_game its scheduler child goes too (a plain worker's is
    RQ's own, beyond our reach). The game is then played once."""
    game_id = start_one_game(stack, fake_llm, preload=preload)
    (dead,) = stack.workers
    children = {pid: process_identity(pid) for pid in dead.children()}
    [horse] = dead.horses()
    support.kill_pid(dead.pid)
    dead.process.wait(10)
    try:
        must_die = children if preload else {horse: children[horse]}
        wait_until(
            lambda: all(process_identity(pid) != born for pid, born in must_die.items()),
            10,
            "the worker's children to die with it",
        )
        served = moves_served(fake_llm)
        time.sleep(1)
        assert moves_served(fake_llm) == served, "a dead worker's horse is still playing"
    finally:  # the plain worker's scheduler, orphaned
        for pid, born in children.items():
            if process_identity(pid) == born:
                support.kill_pid(pid)
    fast_forward(stack.redis, HEARTBEAT_EXPIRY)
    batch_id = Game.get_by_id(game_id).batch_id
    assert reconcile(stack.redis, batch_id=batch_id) == [game_id]
    stack.start_workers(1)
    assert_played_once_more(stack, fake_llm, game_id, served)
