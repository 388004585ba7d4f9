"""Fixtures for the evaluation tests: a fresh SQLite store per test (``any_store``:
also on PostgreSQL, a fresh schema of the session's throw-away database), the
machine's Redis on db 10 (flushed before and after; no other test folder uses it) and
real ``rq worker -S json -c jobs.run_game`` processes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner, Result

from snakebench.cli import app
from snakebench.config import Settings
from snakebench.queueing import WORKER_QUEUES, connect_redis
from snakebench.store import open_store

REAL_REDIS_URL = "redis://127.0.0.1:6379/10"


def _store_fixtures() -> Any:
    """tests/store/conftest.py, for its PostgreSQL fixtures (one throw-away database
    per session, a fresh schema per test) rather than a second copy of them."""
    path = Path(__file__).parents[1] / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_evaluation_store_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pg_url = _store_fixtures().pg_url


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
def real_redis() -> Iterator[redis.Redis]:
    """The machine's Redis, db 10, flushed before and after."""
    client = connect_redis(REAL_REDIS_URL)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()


Invoke = Callable[..., Result]


@pytest.fixture
def run() -> Invoke:
    """``run(*args)``: ``snakebench ARGS`` in this process."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)

    return invoke


StartWorker = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """``start_worker(burst=True)``: a real ``rq worker -S json -c jobs.run_game`` on the
    game queues of db 10, logging under ``tmp_path``; killed afterwards if still alive."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*, burst: bool = True) -> subprocess.Popen[bytes]:
        rq = Path(sys.executable).with_name("rq")
        argv = [str(rq), "worker", "-S", "json", "-c", "jobs.run_game", *WORKER_QUEUES]
        argv += ["--url", REAL_REDIS_URL, *(["--burst"] if burst else [])]
        with (tmp_path / f"worker-{len(started)}.log").open("wb") as log:
            process = subprocess.Popen(
                argv, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT
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
