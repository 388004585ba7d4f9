"""Fixtures for the evaluation tests: a fresh SQLite store per test, the machine's
Redis on db 10 (flushed before and after; no other test folder uses it) and real
``rq worker -S json -c jobs.run_game`` processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner, Result

from snakebench.cli import app
from snakebench.config import Settings
from snakebench.queueing import WORKER_QUEUES, connect_redis
from snakebench.store import open_store

REAL_REDIS_URL = "redis://127.0.0.1:6379/10"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh SQLite store; the environment (DATABASE_URL, replays, REDIS_URL) points
    at it, as for a command run in this directory."""
    monkeypatch.chdir(tmp_path)
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}",
        "SNAKEBENCH_REPLAY_DIR": str(tmp_path / "replays"),
        "REDIS_URL": REAL_REDIS_URL,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    open_store(settings)
    return settings


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
