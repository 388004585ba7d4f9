"""Fixtures for the evaluation tests, over the root conftest's shared ones: its
``store`` (``any_store``: also on PostgreSQL, a fresh schema of the session's
throw-away database) with REDIS_URL on the session's Redis database, ``real_redis``
(that database, flushed before and after), ``start_worker`` (real ``rq worker``
processes started as the documented, hardened WORKER_COMMAND: its GameJob lets the
ladder's callbacks run and nothing else), and here ``run`` for the ``snakebench`` CLI."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import Result

from snakebench.cli.main import app

Invoke = Callable[..., Result]


@pytest.fixture
def run(cli_runner: Callable[..., Invoke]) -> Invoke:
    """``run(*args)``: ``snakebench ARGS`` in this process."""
    return cli_runner(app)
