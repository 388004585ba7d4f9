"""The workers' Redis client (``WORKER_COMMAND``'s ``--connection-class``) through the
drills' lossy proxy (scripts/drills/proxy.py) in front of the real Redis: a reset
connection is retried, where redis-py's ``from_url`` client fails at once (and
``rq worker`` exits on it)."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from snakebench.queueing import WORKER_COMMAND, WorkerRedis

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from drills.proxy import Proxy


def proxied(url: str) -> tuple[Proxy, str]:
    parts = urlsplit(url)
    proxy = Proxy(("127.0.0.1", 0), (parts.hostname or "", parts.port or 6379),
                  delay=0.0, reset_rate=0.05, seed=3)  # fmt: skip
    port = proxy.start_in_thread()
    return proxy, f"redis://127.0.0.1:{port}{parts.path}"


def test_the_worker_command_uses_it() -> None:
    assert "--connection-class snakebench.queueing.WorkerRedis" in WORKER_COMMAND


def test_a_reset_is_retried_on_a_new_connection(real_redis: redis.Redis, redis_db_url: str) -> None:
    proxy, url = proxied(redis_db_url)
    client = WorkerRedis.from_url(url)
    try:
        for i in range(200):
            client.set(f"k{i}", i)
            assert client.get(f"k{i}") == str(i).encode()
    finally:
        client.close()
        proxy.stop()
    assert proxy.stats.resets > 5  # each one retried, none seen by the caller


def test_a_stock_client_fails_at_the_first_reset(
    real_redis: redis.Redis, redis_db_url: str
) -> None:
    proxy, url = proxied(redis_db_url)
    client = redis.Redis.from_url(url)
    try:
        with pytest.raises(redis.ConnectionError):
            for i in range(200):
                client.set(f"k{i}", i)
    finally:
        client.close()
        proxy.stop()
