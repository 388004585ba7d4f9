"""Fixtures for the dispatch tests, over the root conftest's shared ones: its store
(SQLite, or PostgreSQL too where cheap) with REDIS_URL on db 13, fakeredis for the
logic, and its real Redis (db 13, flushed) with real, stock ``rq worker`` processes
(no flags: RQ takes REDIS_URL from the environment) for the end-to-end paths."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import fakeredis
import pytest
import redis
from typer.testing import Result

from snakebench.cli import dispatch, dispatch_ops, submission
from snakebench.queueing import WORKER_QUEUES
from snakebench.store import Batch, Game

STATUSES = ("queued", "running", "completed", "failed", "void", "cancelled")

Invoke = Callable[..., Result]
StartWorker = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def redis_db() -> int:
    """This folder's database of the machine's Redis, for the root conftest's
    ``store``, ``any_store`` (REDIS_URL) and ``real_redis``."""
    return 13


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
def start_worker(spawn: Callable[..., subprocess.Popen[bytes]], redis_db_url: str) -> StartWorker:
    """``start_worker(burst=True, env={...})``: a real, stock ``rq worker`` on the three
    game queues (RQ's defaults: pickle, its own Job class, no preload), on REDIS_URL,
    in this test's environment plus ``env``, logging to a file under ``tmp_path``; any
    still running are killed afterwards."""

    def start(*, burst: bool = True, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        rq = Path(sys.executable).with_name("rq")
        argv = [str(rq), "worker", *WORKER_QUEUES]
        argv += ["--burst"] if burst else ["--with-scheduler"]
        return spawn(argv, {**os.environ, "REDIS_URL": redis_db_url, **(env or {})})

    return start
