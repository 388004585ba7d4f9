"""Fixtures for the dispatch tests, over the root conftest's shared ones: its store
(SQLite, or PostgreSQL too where cheap) with REDIS_URL on the session's Redis database,
fakeredis for the logic, and its real Redis (that database, flushed) with real, stock
``rq worker`` processes (PLAIN_WORKER_COMMAND: RQ takes REDIS_URL from the environment) for the
end-to-end paths."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import fakeredis
import pytest
import redis
from typer.testing import Result

from snakebench.cli import dispatch, dispatch_ops, submission
from snakebench.queueing import PLAIN_WORKER_COMMAND
from snakebench.store import Batch, Game
from snakebench.testing.support import Worker

STATUSES = ("queued", "running", "completed", "failed", "void", "cancelled")

Invoke = Callable[..., Result]
StartWorker = Callable[..., Worker]


@pytest.fixture
def fake() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, cli_runner: Callable[..., Invoke]
) -> Callable[[redis.Redis | None], Invoke]:
    """``cli(connection)`` runs ``python -m snakebench.dispatch ARGS`` in-process; with
    a connection, every command uses it instead of REDIS_URL (fakeredis)."""

    def bind(connection: redis.Redis | None) -> Invoke:
        if connection is not None:
            for module in (dispatch_ops, submission):
                monkeypatch.setattr(module, "connect_redis", lambda url=None: connection)
        return cli_runner(dispatch.app)

    return bind


def _counters_match(batch_id: str) -> bool:
    batch = Batch.get_by_id(batch_id)
    actual = {
        status: Game.select().where(Game.batch == batch_id, Game.status == status).count()
        for status in STATUSES
    }
    stored = {status: getattr(batch, status) for status in STATUSES}
    return stored == actual and batch.total_games == sum(actual.values())


@pytest.fixture
def counters_match() -> Callable[[str], bool]:
    """``counters_match(batch_id)``: the batch row's counters equal a count of its
    games by status (and add up to its total)."""
    return _counters_match


@pytest.fixture
def start_worker(start_worker: StartWorker) -> StartWorker:
    """The root conftest's ``start_worker(burst=True, env={...})`` as a real, stock
    ``rq worker``: PLAIN_WORKER_COMMAND (RQ's defaults: pickle, its own Job class, no
    preload), REDIS_URL read from its environment."""
    return partial(start_worker, command=PLAIN_WORKER_COMMAND, from_env=True)
