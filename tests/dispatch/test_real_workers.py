"""The real thing: the machine's Redis (the session's database) and real, stock
``rq worker`` processes (PLAIN_WORKER_COMMAND and a name: RQ's default serializer and
job class, REDIS_URL from the environment).

Small batches only: each job of a plain ``rq worker`` forks a work horse that imports
the game code afresh."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from typer.testing import Result

from snakebench.config import Settings
from snakebench.fakellm.server import FakeLLMServer
from snakebench.queueing import SERIALIZER, WORKER_QUEUES, live_job_ids
from snakebench.store import Game, Participant, batch_game_ids, get_model, upsert_model
from snakebench.testing.support import Worker

Invoke = Callable[..., Result]
StartWorker = Callable[..., Worker]
Bind = Callable[[redis.Redis | None], Invoke]
WORKER_WAIT = 60  # seconds a burst worker may take for a handful of games

pytestmark = pytest.mark.slow


@pytest.fixture
def run(store: Settings, real_redis: redis.Redis, cli: Bind) -> Invoke:
    """The CLI against the real Redis, through REDIS_URL (the session's database)."""
    return cli(None)


def submit(run: Invoke, *args: str) -> str:
    result = run("--model-a", "greedy", "--model-b", "random", "--json", *args)
    assert result.exit_code == 0, result.output
    batch_id: str = json.loads(result.stdout)["batch_id"]
    return batch_id


def test_a_bot_batch_completes_on_two_workers_and_monitor_reports_it(
    run: Invoke, real_redis: redis.Redis, store: Settings, start_worker: StartWorker
) -> None:
    batch_id = submit(run, "--count", "4", "--max-rounds", "30", "--mirror", "--seed", "11")
    workers = [start_worker() for _ in range(2)]
    result = run("monitor", batch_id)
    assert result.exit_code == 0, result.output
    assert f"batch {batch_id} finished: 4 completed, 0 void, 0 failed, 0 cancelled" in result.stdout
    assert "games/min" in result.stdout
    for worker in workers:
        assert worker.process.wait(timeout=WORKER_WAIT) == 0
    ids = batch_game_ids(batch_id)
    assert [Game.get_by_id(gid).status for gid in ids] == ["completed"] * 4
    assert Participant.select().count() == 8  # no duplicate rows
    assert len(list(store.replay_dir.glob("snake_game_*.json"))) == 4
    for game_id in ids:
        job = Job.fetch(game_id, connection=real_redis, serializer=SERIALIZER)
        assert job.get_status() == JobStatus.FINISHED
        assert (job.return_value() or {}).get("game_id") == game_id


def test_cancel_of_a_queued_batch_leaves_no_job_and_nothing_is_played(
    run: Invoke, real_redis: redis.Redis, start_worker: StartWorker
) -> None:
    batch_id = submit(run, "--count", "5")
    assert run("cancel", batch_id).stdout.strip() == f"cancelled 5 games of batch {batch_id}"
    ids = batch_game_ids(batch_id)
    assert live_job_ids(ids, real_redis) == set()
    assert sum(Queue(name, connection=real_redis).count for name in WORKER_QUEUES) == 0
    assert start_worker().process.wait(timeout=WORKER_WAIT) == 0
    assert {Game.get_by_id(gid).status for gid in ids} == {"cancelled"}
    assert get_model("greedy").games_played == 0


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_retry_re_runs_a_failed_game_under_the_same_id(
    run: Invoke,
    real_redis: redis.Redis,
    store: Settings,
    fake_llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    start_worker: StartWorker,
) -> None:
    monkeypatch.setenv("SB_FAKE_KEY", "sk-fake")
    upsert_model("fake-gpt", provider="openai-compatible", model_slug="fake",
                 base_url=f"{fake_llm.url}/v1", api_key_env="SB_FAKE_KEY",
                 price_input_per_m=2.0, price_output_per_m=8.0)  # fmt: skip
    result = run("--model-a", "fake-gpt", "--model-b", "random", "--count", "1",
                 "--max-rounds", "5", "--json")  # fmt: skip
    batch_id = json.loads(result.stdout)["batch_id"]
    (game_id,) = batch_game_ids(batch_id)
    # This worker's environment lacks the key: the game fails (bad data, recorded).
    start_worker(env={"SB_FAKE_KEY": ""}).process.wait(timeout=WORKER_WAIT)
    failed = Game.get_by_id(game_id)
    assert failed.status == "failed" and "MissingApiKeyError" in str(failed.error)
    # ...and a failed RQ job with the reason, where rq-dashboard and `rq info` look,
    # not "Job OK"; failed for good, not retried.
    job = Job.fetch(game_id, connection=real_redis, serializer=SERIALIZER)
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    result = job.latest_result()
    assert result is not None and result.exc_string is not None
    assert "GameFailedError" in result.exc_string and "MissingApiKeyError" in result.exc_string
    assert game_id in FailedJobRegistry("games", connection=real_redis).get_job_ids()
    watched = run("monitor", batch_id, "--json")
    assert watched.exit_code == 1  # a failed game
    [problem] = json.loads(watched.stdout)["problems"]
    assert problem["game_id"] == game_id and problem["status"] == "failed"
    assert "MissingApiKeyError" in problem["error"]
    assert run("retry", batch_id[:8]).stdout.strip() == f"re-queued 1 games of batch {batch_id}"
    start_worker().process.wait(timeout=WORKER_WAIT)
    again = Game.get_by_id(game_id)
    assert (again.status, again.error) == ("completed", None)
    assert again.total_cost > 0 and Path(str(again.replay_path)).exists()
    assert Game.select().count() == 1 and Participant.select().count() == 2
    job = Job.fetch(game_id, connection=real_redis, serializer=SERIALIZER)
    assert job.get_status() == JobStatus.FINISHED
    final = json.loads(run("monitor", batch_id, "--json").stdout)
    assert (final["completed"], final["failed"], final["status"]) == (1, 0, "finished")


def test_local_runs_a_batch_on_a_private_stack_and_stops_it(
    store: Settings, cli: Bind, tmp_path: Path
) -> None:
    result = cli(None)("--model-a", "greedy", "--model-b", "survivor", "--count", "4",
                       "--local", "--workers", "2", "--max-rounds", "30", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["progress"]["completed"] == 4 and report["progress"]["finished"] is True
    assert report["progress"]["games_per_minute"] > 0
    assert not (tmp_path / ".snakebench" / "redis.sock").exists()  # stopped
