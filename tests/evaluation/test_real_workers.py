"""The callback chain with real components: the machine's Redis (the session's
database) and real ``rq worker`` processes started as WORKER_COMMAND. Nothing polls the ladder: each
game's job ends by calling jobs.evaluate, which enqueues the next game."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import redis
from rq.job import Job
from typer.testing import Result

from snakebench.config import Settings
from snakebench.queueing import SERIALIZER
from snakebench.store import Evaluation, Game, get_model, upsert_model
from snakebench.testing.support import Worker

Invoke = Callable[..., Result]
StartWorker = Callable[..., Worker]
WORKER_WAIT = 120  # seconds a burst worker may take for a handful of bot games

pytestmark = pytest.mark.slow


def _evaluations(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.stdout)["evaluations"]
    return found


def test_a_burst_worker_plays_the_whole_ladder_through_callbacks(
    store: Settings, real_redis: redis.Redis, run: Invoke, start_worker: StartWorker
) -> None:
    (started,) = _evaluations(run("evaluate", "greedy", "--games", "3", "--max-rounds", "20",
                                  "--json"))  # fmt: skip
    ev_id = int(str(started["evaluation_id"]))
    assert Evaluation.get_by_id(ev_id).games_started == 1  # only the first game exists
    # A burst worker stops when the queues are empty; each callback enqueues the next
    # game before the worker looks again, so one burst plays the whole ladder.
    assert start_worker().process.wait(timeout=WORKER_WAIT) == 0
    ev = Evaluation.get_by_id(ev_id)
    assert (ev.status, ev.games_started) == ("finished", 3)
    assert get_model("greedy").test_status == "ranked"
    games = list(Game.select().where(Game.batch == ev.batch_id))
    assert [g.status for g in games] == ["completed"] * 3
    for game in games:
        job = Job.fetch(game.id, connection=real_redis, serializer=SERIALIZER)
        assert job.success_callback is not None
        assert job.success_callback.__name__ == "on_game_success"
    (facts,) = _evaluations(run("evaluate", "--status", "greedy", "--json"))
    assert (facts["status"], facts["completed"]) == ("finished", 3)


def test_queue_places_two_models_on_the_same_workers(
    store: Settings, real_redis: redis.Redis, run: Invoke, start_worker: StartWorker
) -> None:
    upsert_model("newcomer", provider="bot", model_slug="survivor")
    evs = _evaluations(run("evaluate", "--queue", "newcomer", "random", "--games", "2",
                           "--max-rounds", "20", "--json"))  # fmt: skip
    assert [e["model"] for e in evs] == ["newcomer", "random"]
    assert {e["test_status"] for e in evs} == {"testing"}
    workers = [start_worker(burst=False) for _ in range(2)]
    try:
        final = _evaluations(run("evaluate", "--status", "--json"))  # nothing done yet
        assert len(final) == 2
        watched = run("evaluate", "--resume", "--json")  # harmless: the games have jobs
        assert watched.exit_code == 0, watched.output
        _wait_over([int(str(e["evaluation_id"])) for e in evs])
    finally:
        for worker in workers:
            worker.process.terminate()
            worker.process.wait(timeout=30)
    for name in ("newcomer", "random"):
        assert get_model(name).test_status == "ranked"
    assert [e.status for e in Evaluation.select()] == ["finished", "finished"]
    assert Game.select().count() == 4


def _wait_over(ids: list[int], timeout: float = WORKER_WAIT) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = {Evaluation.get_by_id(i).status for i in ids}
        if statuses <= {"finished", "failed", "cancelled"}:
            return
        time.sleep(0.5)
    raise AssertionError(f"evaluations {ids} not over after {timeout}s")


def test_monitor_watches_the_ladder_to_its_end(
    store: Settings, real_redis: redis.Redis, run: Invoke, start_worker: StartWorker
) -> None:
    worker = start_worker(burst=False)
    try:
        result = run("evaluate", "survivor", "--games", "2", "--max-rounds", "20", "--monitor")
    finally:
        worker.process.terminate()
        worker.process.wait(timeout=30)
    assert result.exit_code == 0, result.output
    assert "survivor: finished, 2/2 completed" in result.stdout
    assert "(ranked)" in result.stdout
