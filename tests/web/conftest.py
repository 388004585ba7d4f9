"""Fixtures for the web tests: the session's database of the real Redis at
127.0.0.1:6379 (the root conftest's, flushed around each test) and a fresh SQLite
database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from snakebench.config import Settings
from snakebench.games import live
from snakebench.services.batches import BatchSpec, create_batch_games, run_batch_sync
from snakebench.store import (
    Game,
    batch_game_ids,
    complete_game,
    create_game,
    database,
    get_game,
    mark_running,
    upsert_model,
)
from snakebench.web import WebConfig, create_app

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # port 1: refused at once

MakeClient = Callable[..., FlaskClient]


@pytest.fixture
def redis_url(real_redis: redis.Redis, redis_db_url: str) -> str:
    """The URL of the test Redis (the root conftest's ``real_redis``: empty, flushed
    after the test)."""
    return redis_db_url


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'sb.db'}"
    if database.obj is not None:
        database.close()


@pytest.fixture
def make_client(redis_url: str, database_url: str) -> MakeClient:
    """A test client for an app on the test Redis and database; keywords override
    :class:`WebConfig` fields."""

    def make(**overrides: str | None) -> FlaskClient:
        fields = {"redis_url": redis_url, "database_url": database_url, **overrides}
        return create_app(WebConfig(**fields)).test_client()  # type: ignore[arg-type]

    return make


# --- a store with real games, for the page tests ---------------------------------------

HOSTILE_RATIONALE = '<script>alert(1)</script><img src=x onerror=alert(2)> & "quoted"'
HOSTILE_MODEL = "<img src=x onerror=alert(3)>"
HOSTILE_ERROR = "provider said: <script>alert(4)</script>"


@dataclass
class Site:
    """A populated store and a client for it (see :func:`site`)."""

    client: FlaskClient
    settings: Settings
    batch_id: str  # greedy vs survivor, 4 games: 3 completed, 1 failed (HOSTILE_ERROR)
    completed: list[str]  # the batch's completed games, newest first
    failed_id: str
    hostile_game: str  # a completed game whose replay has HOSTILE_RATIONALE at round 0
    hostile_model_game: str  # HOSTILE_MODEL (a greedy bot) vs random
    running_id: str  # a running game with a board published to Redis
    queued_id: str  # a queued game (no replay)


def _newest_completed(batch_id: str) -> list[str]:
    return [
        game.id
        for game in Game.select()
        .where((Game.batch == batch_id) & (Game.status == "completed"))
        .order_by(Game.created_at.desc(), Game.id.desc())
    ]


@pytest.fixture
def newest_completed() -> Callable[[str], list[str]]:
    """``newest_completed(batch_id)``: the ids of the batch's completed games, newest
    first."""
    return _newest_completed


@pytest.fixture
def site(redis_url: str, database_url: str, store_env: Callable[[str, str], Settings]) -> Site:
    """Real bot games played in process (``run_batch_sync``) into a fresh SQLite store,
    then: one batch game failed with a hostile error, one replay given a hostile
    rationale, a model with a hostile name that played a game, a running game with a
    live board in Redis and a queued game."""
    settings = store_env(database_url, redis_url)
    batch = create_batch_games(
        BatchSpec("greedy", "survivor", count=4, seed=11, max_rounds=30, name="web-batch")
    )
    failed_id = batch_game_ids(batch.id, ("queued",))[0]
    complete_game(
        failed_id,
        rounds=0,
        replay_path=None,
        total_cost=0.0,
        participants=[{"slot": 0}, {"slot": 1}],
        status="failed",
        error=HOSTILE_ERROR,
    )
    run_batch_sync(batch.id, settings=settings)
    completed = _newest_completed(batch.id)

    hostile_game = completed[0]
    path = Path(get_game(hostile_game).replay_path or "")
    replay = json.loads(path.read_text(encoding="utf-8"))
    replay["frames"][0]["moves"]["0"]["rationale"] = HOSTILE_RATIONALE
    path.write_text(json.dumps(replay), encoding="utf-8")

    upsert_model(HOSTILE_MODEL, provider="bot", model_slug="greedy")
    other = create_batch_games(BatchSpec(HOSTILE_MODEL, "random", count=1, seed=5, max_rounds=20))
    run_batch_sync(other.id, settings=settings)
    hostile_model_game = batch_game_ids(other.id)[0]

    running = create_game(seed=1, players=("random", "greedy"), width=8, height=6)
    mark_running(running.id, "test-worker")
    board = {
        "snakes": {"0": [[1, 1], [1, 2]], "1": [[6, 4]]},
        "apples": [[3, 3]],
        "alive": {"0": True, "1": True},
        "scores": {"0": 1, "1": 0},
    }
    connection = redis.Redis.from_url(redis_url)
    connection.set(
        live.live_key(running.id),
        json.dumps({"game_id": running.id, "round": 7, "state": board, "updated_at": None}),
        ex=60,
    )
    connection.close()
    queued = create_game(seed=2, players=("greedy", "random"))

    client = create_app(WebConfig(redis_url=redis_url, database_url=database_url)).test_client()
    return Site(
        client=client,
        settings=settings,
        batch_id=batch.id,
        completed=completed,
        failed_id=failed_id,
        hostile_game=hostile_game,
        hostile_model_game=hostile_model_game,
        running_id=running.id,
        queued_id=queued.id,
    )
