"""Fixtures for the web tests: the real Redis at 127.0.0.1:6379 (db 12, flushed around
each test) and a fresh SQLite database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from snakebench.store import database
from snakebench.web import WebConfig, create_app

REDIS_URL = os.environ.get("SNAKEBENCH_TEST_WEB_REDIS_URL", "redis://127.0.0.1:6379/12")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # port 1: refused at once

MakeClient = Callable[..., FlaskClient]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis, empty; skipped without one, except under CI where it must be."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {REDIS_URL} unavailable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} unavailable: {exc}")
    yield REDIS_URL
    client.flushdb()
    client.close()


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
