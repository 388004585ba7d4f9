"""Fixtures for the JSON API tests: a store filled with real bot games (played in
process by ``run_batch_sync``), and clients for apps with or without an API token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import redis
from flask.testing import FlaskClient

from snakebench.config import Settings
from snakebench.engine import Rules, new_game
from snakebench.games.live import LivePublisher, mark_watched
from snakebench.services.batches import BatchSpec, create_batch_games, run_batch_sync
from snakebench.store import (
    batch_game_ids,
    complete_game,
    create_game,
    mark_running,
)
from snakebench.web import WebConfig, create_app

TOKEN = "tok-api-123"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Filled:
    """What :func:`filled` put in the store."""

    settings: Settings
    batch_id: str  # greedy v random, 4 games: 3 completed, 1 failed
    completed: list[str]  # newest first
    failed_id: str
    running_id: str  # running, its board published through LivePublisher
    queued_id: str


@pytest.fixture
def filled(
    redis_url: str,
    database_url: str,
    store_env: Callable[[str, str], Settings],
    newest_completed: Callable[[str], list[str]],
) -> Filled:
    settings = store_env(database_url, redis_url)
    batch = create_batch_games(BatchSpec("greedy", "random", count=4, seed=3, max_rounds=30))
    failed_id = batch_game_ids(batch.id, ("queued",))[0]
    complete_game(
        failed_id, rounds=0, replay_path=None, total_cost=0.0,
        participants=[], status="failed", error="boom",
    )  # fmt: skip
    run_batch_sync(batch.id, settings=settings)
    completed = newest_completed(batch.id)
    running = create_game(seed=1, players=("random", "greedy"), width=8, height=6)
    mark_running(running.id, "test-worker")
    connection = redis.Redis.from_url(redis_url)
    state = new_game(Rules(width=8, height=6), 1, ("0", "1"))
    mark_watched(connection)  # someone watches: the board is published
    LivePublisher(connection, running.id, remote=True)(state, {})
    connection.close()
    queued = create_game(seed=2, players=("greedy", "random"))
    return Filled(settings, batch.id, completed, failed_id, running.id, queued.id)


ApiClient = Callable[..., FlaskClient]


@pytest.fixture
def api_client(redis_url: str, database_url: str) -> ApiClient:
    """A client of an app on the test Redis and database, with the API token set
    unless overridden (keywords are :class:`WebConfig` fields)."""

    def make(**overrides: str | None) -> FlaskClient:
        fields = {"redis_url": redis_url, "database_url": database_url, "api_token": TOKEN}
        fields.update(overrides)
        return create_app(WebConfig(**fields)).test_client()  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(filled: Filled, api_client: ApiClient) -> FlaskClient:
    return api_client()
