"""``cancel_batch`` and ``retry_batch`` against real workers: cancel stops the
spending (queued games never start, running ones stop mid-game, nothing is counted),
retry plays failed and void games again under the same ids, counted once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from rq import Queue, Worker

from snakebench.engine.replay import read_replay
from snakebench.engine.verify import verify_replay
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.queueing import SERIALIZER, WORKER_QUEUES
from snakebench.services.batches import (
    BatchSpec,
    batch_progress,
    cancel_batch,
    retry_batch,
    submit_batch,
)
from snakebench.store import Game, Model, Participant, upsert_model

from .conftest import Stack, wait_until

pytestmark = pytest.mark.slow

ANTHROPIC_KEY = "sk-test-anthropic-not-a-secret"


@pytest.fixture
def slow_llm(stack: Stack) -> Iterator[FakeLLMServer]:
    """Two OpenAI-compatible models whose moves take ~100 ms: games last seconds."""
    with FakeLLMServer(FakeOptions(latency_ms=100, strategy="survivor", seed=2)) as server:
        for name in ("fake-a", "fake-b"):
            upsert_model(name, provider="openai", model_slug=name, base_url=f"{server.url}/v1")
        yield server


def total_requests(server: FakeLLMServer) -> int:
    return int(server.stats()["total"]["requests"])


def busy_workers(stack: Stack) -> list[str]:
    return [w.name for w in Worker.all(connection=stack.redis) if w.get_state() == "busy"]


def test_cancel_drops_queued_games_and_stops_running_ones(
    stack: Stack, slow_llm: FakeLLMServer
) -> None:
    spec = BatchSpec("fake-a", "fake-b", count=8, max_rounds=60, seed=30)
    batch = submit_batch(spec, stack.redis)
    stack.start_workers(2)
    wait_until(lambda: batch_progress(batch.id).running == 2, 60, "two games running")
    wait_until(lambda: total_requests(slow_llm) >= 12, 30, "both games under way")

    assert cancel_batch(batch.id, stack.redis) == 8
    progress = batch_progress(batch.id)
    assert (progress.cancelled, progress.queued, progress.running) == (8, 0, 0)
    assert progress.finished and progress.status == "cancelled"

    # The two running games are stopped mid-game, the queued ones never start.
    wait_until(lambda: not busy_workers(stack), 30, "the workers to stop their games")
    spent = total_requests(slow_llm)
    time.sleep(1.5)  # anything still playing would ask for more moves meanwhile
    assert total_requests(slow_llm) == spent
    for name in WORKER_QUEUES:
        assert Queue(name, connection=stack.redis, serializer=SERIALIZER).count == 0

    games = list(Game.select().where(Game.batch == batch.id))
    assert {game.status for game in games} == {"cancelled"}
    assert all(game.replay_path is None for game in games)
    assert not stack.replay_dir.exists() or not list(stack.replay_dir.iterdir())
    assert {p.result for p in Participant.select()} == {None}
    for name in ("fake-a", "fake-b"):
        assert Model.get(Model.name == name).games_played == 0
    assert all(worker.alive() for worker in stack.workers)
    # Cancelling again finds nothing left to cancel.
    assert cancel_batch(batch.id, stack.redis) == 0


def test_retry_replays_failed_and_void_games_under_the_same_ids(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed: the workers lack OPENAI_API_KEY (bad configuration, our side).
    Void: the provider answers 500 to everything. Both are fixed, then retried."""
    with (
        FakeLLMServer(FakeOptions(strategy="greedy")) as good,
        FakeLLMServer(FakeOptions(error_rate=1.0)) as broken,
    ):
        upsert_model("fake-a", provider="openai", model_slug="a", base_url=f"{good.url}/v1")
        upsert_model("fake-b", provider="openai", model_slug="b", base_url=f"{good.url}/v1")
        upsert_model("flaky", provider="anthropic", model_slug="c", base_url=broken.url)
        stack.env["ANTHROPIC_API_KEY"] = ANTHROPIC_KEY
        monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
        failing = submit_batch(BatchSpec("fake-a", "fake-b", count=3, max_rounds=15), stack.redis)
        voiding = submit_batch(BatchSpec("flaky", "greedy", count=3, max_rounds=15), stack.redis)
        first_ids = {g.id: g.batch_id for g in Game.select(Game.id, Game.batch)}

        stack.start_workers(2, burst=True, env={"OPENAI_API_KEY": None})
        stack.wait_workers_exit(timeout=60)
        failed, void = batch_progress(failing.id), batch_progress(voiding.id)
        assert (failed.failed, failed.completed) == (3, 0)
        assert (void.void, void.completed) == (3, 0)
        for game in Game.select().where(Game.batch == failing.id):
            assert "OPENAI_API_KEY" in (game.error or "")
        assert Model.get(Model.name == "flaky").games_played == 0

        upsert_model("flaky", provider="anthropic", model_slug="c", base_url=good.url)
        assert retry_batch(failing.id, stack.redis) == 3
        assert retry_batch(voiding.id, stack.redis) == 3
        assert batch_progress(failing.id).queued == batch_progress(voiding.id).queued == 3
        stack.start_workers(2, burst=True)
        stack.wait_workers_exit(timeout=60)

    assert {g.id: g.batch_id for g in Game.select(Game.id, Game.batch)} == first_ids
    for batch in (failing, voiding):
        progress = batch_progress(batch.id)
        assert (progress.completed, progress.failed, progress.void) == (3, 0, 0)
        assert progress.finished
    for game in Game.select():
        assert game.status == "completed" and game.error is None and game.replay_path
        replay = read_replay(game.replay_path)
        assert replay.game["status"] == "completed" and verify_replay(replay) is None
    assert Participant.select().count() == 12
    for name in ("fake-a", "fake-b", "flaky", "greedy"):
        assert Model.get(Model.name == name).games_played == 3
    assert len(list(stack.replay_dir.iterdir())) == 6
    assert retry_batch(failing.id, stack.redis) == 0  # nothing left to retry
