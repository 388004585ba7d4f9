"""Webhook payloads received by a real local HTTP server from real ``rq worker``
processes (the hardened WORKER_COMMAND: the restricted reader and the GameJob
allow-list must let ``jobs.webhooks.deliver`` through), on the session's Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from typer.testing import Result

from snakebench.cli import dispatch
from snakebench.config import Settings
from snakebench.queueing import SERIALIZER, WORKER_COMMAND
from snakebench.queueing.webhooks import delivery_job_id
from snakebench.services.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from snakebench.store import batch_game_ids, upsert_model
from snakebench.store.models import Batch, WebhookEvent
from snakebench.testing.receiver import WAIT, Receiver
from snakebench.testing.support import Worker, wait_until

Invoke = Callable[..., Result]
StartWorker = Callable[..., Worker]
WORKER_WAIT = 120  # seconds a burst worker may take for a handful of games
SECRET = "s3cret-for-tests"
PUBLIC = "https://snake.example.org"

pytestmark = pytest.mark.slow


@pytest.fixture
def run(
    store: Settings,
    real_redis: redis.Redis,
    cli_runner: Callable[..., Invoke],
    monkeypatch: pytest.MonkeyPatch,
) -> Invoke:
    """``python -m snakebench.dispatch`` in this process; the secret and the public URL
    set for it and for the workers started after (they inherit the environment)."""
    monkeypatch.setenv("SNAKEBENCH_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SNAKEBENCH_PUBLIC_URL", PUBLIC + "/")
    return cli_runner(dispatch.app)


def submit(run: Invoke, *args: str) -> str:
    result = run("--model-b", "random", "--max-rounds", "20", "--json", *args)
    assert result.exit_code == 0, result.output
    batch_id: str = json.loads(result.stdout)["batch_id"]
    return batch_id


def burst(start_worker: StartWorker, **env: str) -> None:
    worker = start_worker(command=WORKER_COMMAND, env=env)
    assert worker.process.wait(timeout=WORKER_WAIT) == 0, worker.output()


def test_a_finished_batch_is_posted_signed_to_its_url_and_the_global_one(
    run: Invoke,
    receiver: Receiver,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SNAKEBENCH_WEBHOOK_URL", f"{receiver.url}/global")
    batch_id = submit(run, "--model-a", "greedy", "--count", "2", "--seed", "3",
                      "--webhook", f"{receiver.url}/batch?team=7")  # fmt: skip
    assert Batch.get_by_id(batch_id).webhook_url == f"{receiver.url}/batch?team=7"
    assert "webhook" not in (Batch.get_by_id(batch_id).params or {})  # URLs may hold tokens
    burst(start_worker)
    posts = receiver.wait_for(2)
    assert sorted(p.path for p in posts) == ["/batch?team=7", "/global"]
    for received in posts:
        body = received.payload
        assert body["event"] == "batch.finished" and body["subject"] == batch_id
        data = body["data"]
        assert (data["batch_id"], data["status"], data["total"]) == (batch_id, "finished", 2)
        assert (data["completed"], data["failed"], data["models"]) == (2, 0, ["greedy", "random"])
        assert data["url"] == f"{PUBLIC}/batches/{batch_id}"
        headers = {k.lower(): v for k, v in received.headers.items()}
        assert headers["x-snakebench-event"] == "batch.finished"
        expected = signature(SECRET, headers[TIMESTAMP_HEADER.lower()], received.body)
        assert headers[SIGNATURE_HEADER.lower()] == expected
        assert signature("another key", headers[TIMESTAMP_HEADER.lower()], received.body) != (
            expected
        )
    events = list(WebhookEvent.select())
    assert len(events) == 2  # one per URL, though two games ended
    assert {(e.status, e.attempts) for e in events} == {("delivered", 1)}


def test_a_failed_game_is_posted_with_its_error(
    run: Invoke,
    receiver: Receiver,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SB_HOOK_KEY", "sk-fake")
    upsert_model("keyed", provider="openai-compatible", model_slug="fake",
                 base_url="http://127.0.0.1:9/v1", api_key_env="SB_HOOK_KEY")  # fmt: skip
    batch_id = submit(run, "--model-a", "keyed", "--count", "1",
                      "--webhook", f"{receiver.url}/hook")  # fmt: skip
    (game_id,) = batch_game_ids(batch_id)
    burst(start_worker, SB_HOOK_KEY="")  # the worker lacks the key: the game fails
    receiver.wait_for(2)
    [failed] = receiver.events("game.failed")
    data = failed.payload["data"]
    assert (data["game_id"], data["batch_id"], data["status"]) == (game_id, batch_id, "failed")
    assert "MissingApiKeyError" in data["error"] and data["models"] == ["keyed", "random"]
    assert data["url"] == f"{PUBLIC}/games/{game_id}"
    [finished] = receiver.events("batch.finished")
    assert finished.payload["data"]["failed"] == 1
    assert SECRET not in failed.body.decode() and SECRET not in finished.body.decode()


def test_a_500_is_retried_by_rq_and_delivered_the_second_time(
    run: Invoke,
    receiver: Receiver,
    real_redis: redis.Redis,
    start_worker: StartWorker,
) -> None:
    receiver.statuses = [500]
    submit(run, "--model-a", "greedy", "--count", "1", "--webhook", f"{receiver.url}/x")
    burst(start_worker)
    receiver.wait_for(1)
    [event] = WebhookEvent.select()
    assert (event.status, event.attempts) == ("pending", 1)
    assert "HTTP 500" in str(event.last_error)
    job_id = delivery_job_id(event.id)
    job = Job.fetch(job_id, connection=real_redis, serializer=SERIALIZER)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 4
    assert job.args == (event.id,)  # the id only: no URL, payload or secret on the wire
    registry = ScheduledJobRegistry("games-low", connection=real_redis)
    assert job_id in registry.get_job_ids()
    real_redis.zadd(registry.key, {job_id: 0})  # its retry is due now
    burst(start_worker)  # a burst worker with --with-scheduler enqueues due jobs first
    second = receiver.wait_for(2)[1]
    assert second.body == receiver.received[0].body  # the stored payload, sent again
    event = WebhookEvent.get_by_id(event.id)
    assert (event.status, event.attempts, event.last_error) == ("delivered", 2, None)


def test_no_live_worker_is_alerted_by_the_rq_cron_process(
    store: Settings,
    real_redis: redis.Redis,
    redis_db_url: str,
    receiver: Receiver,
    spawn: Callable[..., subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No worker at all on this Redis: within the (tiny) delay the cron process POSTs
    ``workers.none`` itself; no worker could have run a job for it."""
    env = {
        **os.environ,
        "REDIS_URL": redis_db_url,
        "SNAKEBENCH_WEBHOOK_URL": f"{receiver.url}/ops",
        "SNAKEBENCH_ALERT_NO_WORKER_MINUTES": "0.02",  # 1.2 s
        "SNAKEBENCH_RECONCILE_EVERY": "3600",
    }
    rq = str(Path(sys.executable).with_name("rq"))
    spawn([rq, "cron", "jobs.cron", "--url", redis_db_url], env)
    [alert] = receiver.wait_for(1)
    assert alert.path == "/ops"
    body = alert.payload
    assert body["event"] == "workers.none"
    assert body["data"]["minutes"] == 0.02 and body["data"]["last_seen"].endswith("Z")
    assert body["subject"] == body["data"]["last_seen"]
    [event] = WebhookEvent.select()
    assert event.kind == "workers.none"
    delivered = wait_until(lambda: WebhookEvent.get_by_id(event.id).status == "delivered",
                           WAIT, "the alert's row marked delivered")  # fmt: skip
    assert delivered and len(receiver.received) == 1  # once per outage


def test_an_evaluation_run_by_workers_posts_evaluation_finished(
    store: Settings,
    real_redis: redis.Redis,
    cli: Invoke,
    receiver: Receiver,
    start_worker: StartWorker,
) -> None:
    """``snakebench evaluate --webhook``: the ladder's callbacks, in the workers' horses,
    record and enqueue the event; the same burst of workers delivers it."""
    result = cli("evaluate", "greedy", "--games", "2", "--max-rounds", "10",
                 "--webhook", f"{receiver.url}/ladder")  # fmt: skip
    assert result.exit_code == 0, result.output
    burst(start_worker)
    [post] = receiver.wait_for(1)
    assert post.path == "/ladder" and post.payload["event"] == "evaluation.finished"
    data = post.payload["data"]
    assert (data["model"], data["status"], data["games_target"]) == ("greedy", "finished", 2)
    assert {e.kind for e in WebhookEvent.select()} == {"evaluation.finished"}  # no batch.finished
