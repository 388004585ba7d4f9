"""Fixtures for the dispatch tests: a store (SQLite, or PostgreSQL too where cheap),
fakeredis for the logic, and the real Redis (db 13, flushed) with real
``rq worker -S json`` processes for the end-to-end paths."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis
from typer.testing import CliRunner, Result

from snakebench import dispatch, dispatch_ops
from snakebench.config import Settings
from snakebench.queueing import WORKER_QUEUES, connect_redis
from snakebench.store import Batch, Game, open_store

REAL_REDIS_URL = "redis://127.0.0.1:6379/13"
STATUSES = ("queued", "running", "completed", "failed", "void", "cancelled")


def _store_fixtures() -> Any:
    """tests/store/conftest.py, for its PostgreSQL fixtures (one throw-away database
    per session, a fresh schema per test) rather than a second copy of them."""
    path = Path(__file__).parents[1] / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_dispatch_store_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_store = _store_fixtures()
pg_url = _store.pg_url


def _use_store(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    env = {
        "DATABASE_URL": url,
        "SNAKEBENCH_REPLAY_DIR": str(tmp_path / "replays"),
        "REDIS_URL": REAL_REDIS_URL,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    open_store(settings)
    return settings


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh SQLite store; the environment (DATABASE_URL, replays, REDIS_URL) points
    at it, as for a command run in this directory."""
    return _use_store(f"sqlite:///{tmp_path / 'sb.db'}", tmp_path, monkeypatch)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """:func:`store`, once on SQLite and once on PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'sb.db'}"
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
    return _use_store(url, tmp_path, monkeypatch)


@pytest.fixture
def fake() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def real_redis() -> Iterator[redis.Redis]:
    """The machine's Redis, db 13, flushed before and after."""
    client = connect_redis(REAL_REDIS_URL)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()


Invoke = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[[redis.Redis | None], Invoke]:
    """``cli(connection)`` runs ``python -m snakebench.dispatch ARGS`` in-process; with
    a connection, every command uses it instead of REDIS_URL (fakeredis)."""

    def bind(connection: redis.Redis | None) -> Invoke:
        if connection is not None:
            for module in (dispatch, dispatch_ops):
                monkeypatch.setattr(module, "connect_redis", lambda url=None: connection)

        def invoke(*args: str) -> Result:
            return CliRunner().invoke(dispatch.app, list(args), catch_exceptions=False)

        return invoke

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


StartWorker = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """``start_worker(burst=True, env={...})``: a real ``rq worker -S json`` on the three
    game queues, in this test's environment plus ``env``, logging to a file under
    ``tmp_path``; any still running are killed afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*, burst: bool = True, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        rq = Path(sys.executable).with_name("rq")
        argv = [str(rq), "worker", "-S", "json", *WORKER_QUEUES, "--url", REAL_REDIS_URL]
        argv += ["--burst"] if burst else ["--with-scheduler"]
        with (tmp_path / f"worker-{len(started)}.log").open("wb") as log:
            process = subprocess.Popen(
                argv, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
            )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()
