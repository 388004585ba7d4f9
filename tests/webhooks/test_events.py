"""Which events are recorded, when, for which URLs, and the worker watch, in this
process (the real-worker paths are in test_delivery.py): the session's Redis, a
SQLite store and the local receiver."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from rq import Queue, Worker

from jobs.evaluate import on_game_failure, on_game_success
from jobs.maintenance import reconcile_games
from jobs.webhooks import WORKER_SEEN_KEY, check_workers, deliver, sweep_events, watch_interval
from snakebench.config import ConfigError, Settings
from snakebench.games.simulation import GameParams, run_stored_game
from snakebench.queueing import SERIALIZER
from snakebench.queueing.webhooks import delivery_job_id
from snakebench.services.batches import BatchSpec, create_batch_games
from snakebench.services.evaluation import advance, start_evaluation
from snakebench.services.webhooks import DeliveryError, events_after_game
from snakebench.store import Batch, Game, batch_game_ids, complete_game, open_store
from snakebench.store.models import WebhookEvent, utcnow
from snakebench.store.webhook_queries import prune_webhook_events, record_webhook_event
from snakebench.testing.receiver import Receiver


def settings_with(store: Settings, **env: str) -> Settings:
    return Settings.from_env(
        {"DATABASE_URL": store.database_url, "REDIS_URL": store.redis_url, **env}
    )


def test_the_settings_and_their_bad_values() -> None:
    quiet = Settings.from_env({})
    assert (quiet.webhook_url, quiet.webhook_secret, quiet.public_url) == ("", "", "")
    assert quiet.alert_no_worker_minutes is None
    for off in ("0", "off", "OFF", " "):
        settings = Settings.from_env({"SNAKEBENCH_ALERT_NO_WORKER_MINUTES": off})
        assert settings.alert_no_worker_minutes is None
    set_up = Settings.from_env({
        "SNAKEBENCH_WEBHOOK_URL": " https://hooks.example.org/x ",
        "SNAKEBENCH_PUBLIC_URL": "https://snake.example.org/",
        "SNAKEBENCH_WEBHOOK_SECRET": "k3y",
        "SNAKEBENCH_ALERT_NO_WORKER_MINUTES": "7.5",
    })  # fmt: skip
    assert set_up.webhook_url == "https://hooks.example.org/x"
    assert set_up.public_url == "https://snake.example.org"  # links add their own /
    assert (set_up.webhook_secret, set_up.alert_no_worker_minutes) == ("k3y", 7.5)
    bad = {
        "SNAKEBENCH_WEBHOOK_URL": ["ftp://h/", "h/x", "http://", "http://h:port/", "http://a b/"],
        "SNAKEBENCH_PUBLIC_URL": ["javascript:alert(1)", "//h"],
        "SNAKEBENCH_WEBHOOK_SECRET": [" padded", "two\nlines"],
        "SNAKEBENCH_ALERT_NO_WORKER_MINUTES": ["-1", "soon", "nan"],
    }
    for name, values in bad.items():
        for value in values:
            with pytest.raises(ConfigError, match=name) as caught:
                Settings.from_env({name: value})
            assert "\n" not in str(caught.value)


def test_no_url_no_event(store: Settings) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=1))
    (game_id,) = batch_game_ids(batch.id)
    run_stored_game(game_id, settings=store)
    assert events_after_game(game_id, store) == [] and WebhookEvent.select().count() == 0


def test_a_batch_finishes_once_for_each_url(store: Settings, receiver: Receiver) -> None:
    settings = settings_with(store, SNAKEBENCH_WEBHOOK_URL=f"{receiver.url}/all")
    batch = create_batch_games(
        BatchSpec("greedy", "random", count=2, max_rounds=5, webhook=f"{receiver.url}/b")
    )
    first, second = batch_game_ids(batch.id)
    run_stored_game(first, settings=settings)
    assert events_after_game(first, settings) == []  # one game still to play
    run_stored_game(second, settings=settings)
    recorded = events_after_game(second, settings)
    assert len(recorded) == 2
    assert events_after_game(second, settings) == []  # noticed again: recorded once
    assert {e.url for e in WebhookEvent.select()} == {f"{receiver.url}/all", f"{receiver.url}/b"}


def test_an_evaluation_finishing_is_recorded_enqueued_and_delivered(
    store: Settings, real_redis: redis.Redis, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ladder's callback (as a work horse runs it) records the event and enqueues
    its delivery on games-low, the event id its only argument."""
    monkeypatch.setenv("SNAKEBENCH_WEBHOOK_URL", f"{receiver.url}/ev")
    ev = start_evaluation("greedy", 1, params=GameParams(max_rounds=5))
    game_id = advance(ev.id, real_redis).created
    assert game_id is not None
    run_stored_game(game_id, settings=store)
    assert Batch.get_by_id(Game.get_by_id(game_id).batch_id).status == "finished"
    assert events_after_game(game_id) == []  # a ladder's batch: evaluation.finished says it
    job: Any = SimpleNamespace(args=(game_id,), retries_left=3)
    on_game_success(job, real_redis, None)
    open_store(store)  # the callback closed the connection, as a work horse would
    [event] = WebhookEvent.select()
    assert (event.kind, event.subject) == ("evaluation.finished", str(ev.id))
    queued = Queue("games-low", connection=real_redis, serializer=SERIALIZER)
    assert queued.job_ids == [delivery_job_id(event.id)]
    assert queued.jobs[0].args == (event.id,)
    assert deliver(event.id)["status"] == "delivered"
    data = receiver.wait_for(1)[0].payload["data"]
    assert (data["model"], data["status"], data["games_target"]) == ("greedy", "finished", 1)
    assert data["url"] is None  # no SNAKEBENCH_PUBLIC_URL: no link
    assert deliver(event.id)["status"] == "delivered" and len(receiver.received) == 1


def test_a_game_given_up_by_the_ladder_is_a_failed_game_event(
    store: Settings, real_redis: redis.Redis, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAKEBENCH_WEBHOOK_URL", f"{receiver.url}/ev")
    ev = start_evaluation("greedy", 2, params=GameParams(max_rounds=5))
    game_id = advance(ev.id, real_redis).created
    job: Any = SimpleNamespace(args=(game_id,), retries_left=0)
    on_game_failure(job, real_redis, RuntimeError, RuntimeError("db down"), None)
    open_store(store)
    [event] = WebhookEvent.select()
    assert (event.kind, event.subject) == ("game.failed", game_id)
    assert "db down" in event.payload["data"]["error"]


def test_a_failed_post_is_recorded_and_raised_for_rq(store: Settings, receiver: Receiver) -> None:
    receiver.statuses = [503]
    event_id = record_webhook_event("game.failed", "g", f"{receiver.url}/x", {"event": "x"})
    assert event_id is not None
    with pytest.raises(DeliveryError, match="HTTP 503"):
        deliver(event_id)
    open_store(store)
    event = WebhookEvent.get_by_id(event_id)
    assert (event.status, event.attempts) == ("failed", 1)  # no job, so no retry left


def test_an_unreachable_url_is_one_line(store: Settings) -> None:
    event_id = record_webhook_event("game.failed", "g", "http://127.0.0.1:1/x", {})
    assert event_id is not None
    with pytest.raises(DeliveryError, match=r"ConnectionRefused|Errno") as caught:
        deliver(event_id)
    assert "\n" not in str(caught.value)


def test_the_sweep_prunes_delivered_events_after_30_days(store: Settings) -> None:
    for subject, status, age in [("old", "delivered", 31), ("new", "delivered", 29),
                                 ("stuck", "pending", 40), ("gave-up", "failed", 40)]:  # fmt: skip
        event_id = record_webhook_event("game.failed", subject, "http://h/", {})
        WebhookEvent.update(status=status, created_at=utcnow() - timedelta(days=age)).where(
            WebhookEvent.id == event_id
        ).execute()
    assert prune_webhook_events() == 1
    assert sorted(e.subject for e in WebhookEvent.select()) == ["gave-up", "new", "stuck"]


def test_the_scheduled_reconcile_enqueues_events_that_lost_their_job(
    store: Settings, real_redis: redis.Redis
) -> None:
    ids = {
        kind: record_webhook_event(kind, "s", "http://h/", {})
        for kind in ("batch.finished", "game.failed", "workers.none")
    }
    assert reconcile_games()["webhooks"]["enqueued"] == 0  # all recent: jobs on their way?
    open_store(store)
    WebhookEvent.update(created_at=utcnow() - timedelta(minutes=20)).execute()
    assert reconcile_games()["webhooks"] == {"pruned": 0, "enqueued": 2}
    queued = Queue("games-low", connection=real_redis, serializer=SERIALIZER).job_ids
    # the watch delivers its own alert: no worker may be there to run a job for it
    assert sorted(queued) == sorted(
        delivery_job_id(ids[kind])
        for kind in ("batch.finished", "game.failed")  # type: ignore[arg-type]
    )
    open_store(store)
    assert sweep_events(real_redis)["enqueued"] == 0  # their jobs are live now


def test_the_worker_watch_alerts_once_per_outage(
    store: Settings, real_redis: redis.Redis, receiver: Receiver
) -> None:
    settings = settings_with(
        store,
        SNAKEBENCH_WEBHOOK_URL=f"{receiver.url}/ops",
        SNAKEBENCH_ALERT_NO_WORKER_MINUTES="5",
    )
    assert watch_interval(settings) == 60.0
    worker = Worker(["games"], connection=real_redis, name="watched")
    worker.register_birth()
    assert check_workers(real_redis, settings, now=1000.0) == []
    assert check_workers(real_redis, settings, now=9000.0) == []  # a live worker: fine
    assert float(real_redis.get(WORKER_SEEN_KEY) or 0) == 9000.0
    worker.register_death()
    assert check_workers(real_redis, settings, now=9000.0 + 299) == []  # not 5 min yet
    [alerted] = check_workers(real_redis, settings, now=9000.0 + 300)
    assert check_workers(real_redis, settings, now=9000.0 + 900) == []  # once per outage
    [post] = receiver.wait_for(1)
    assert post.payload["event"] == "workers.none"
    assert post.payload["data"]["last_seen"] == "1970-01-01T02:30:00Z"
    assert WebhookEvent.get_by_id(alerted).status == "delivered"
    off = settings_with(store, SNAKEBENCH_WEBHOOK_URL=f"{receiver.url}/ops")
    assert check_workers(real_redis, off, now=99999.0) == []


def test_a_game_job_stays_a_game_job_when_alerts_fail(
    store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook problem (here: Redis unreachable for the delivery job) is logged; the
    event stays pending for the sweep; the game's result stands."""
    from jobs.webhooks import after_game

    monkeypatch.setenv("SNAKEBENCH_WEBHOOK_URL", "http://127.0.0.1:1/x")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    batch = create_batch_games(BatchSpec("greedy", "random", count=1, max_rounds=5))
    (game_id,) = batch_game_ids(batch.id)
    complete_game(game_id, rounds=0, replay_path=None, total_cost=0.0, participants=[],
                  status="failed", error="boom")  # fmt: skip
    assert after_game(game_id) == []
    assert Game.get_by_id(game_id).status == "failed"
    assert {e.status for e in WebhookEvent.select()} == {"pending"}
