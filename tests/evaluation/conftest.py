"""Fixtures for the evaluation tests, over the root conftest's shared ones: its
``store`` (``any_store``: also on PostgreSQL, a fresh schema of the session's
throw-away database) with REDIS_URL on db 10, the machine's Redis on db 10 (flushed
before and after; no other test folder uses it), ``run`` for the ``snakebench`` CLI
and real ``rq worker`` processes started as the documented, hardened WORKER_COMMAND (its
GameJob lets the ladder's callbacks run and nothing else)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from snakebench.cli import app
from snakebench.queueing import WORKER_COMMAND

Invoke = Callable[..., Result]
StartWorker = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def redis_db() -> int:
    """This folder's database of the machine's Redis, for the root conftest's
    ``store``, ``any_store`` (REDIS_URL) and ``real_redis``."""
    return 10


@pytest.fixture
def run(cli_runner: Callable[..., Invoke]) -> Invoke:
    """``run(*args)``: ``snakebench ARGS`` in this process."""
    return cli_runner(app)


@pytest.fixture
def start_worker(spawn: Callable[..., subprocess.Popen[bytes]], redis_db_url: str) -> StartWorker:
    """``start_worker(burst=True)``: a real ``rq worker`` as WORKER_COMMAND says, on the
    game queues of db 10, logging under ``tmp_path``; killed afterwards if still alive."""

    def start(*, burst: bool = True) -> subprocess.Popen[bytes]:
        rq = Path(sys.executable).with_name("rq")
        argv = [str(rq), *shlex.split(WORKER_COMMAND)[1:]]
        argv += ["--url", redis_db_url, *(["--burst"] if burst else [])]
        return spawn(argv, dict(os.environ))

    return start
