"""``/healthz`` against the real Redis and a real SQLite database."""

from __future__ import annotations

import redis
from rq import Worker

from snakebench.queueing import WORKER_QUEUES

from .conftest import UNREACHABLE_REDIS, MakeClient


def test_healthy_when_redis_and_database_answer(make_client: MakeClient) -> None:
    response = make_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "redis": True, "database": True, "workers": 0}


def test_counts_live_workers(make_client: MakeClient, redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    worker = Worker(list(WORKER_QUEUES), connection=connection)
    worker.register_birth()
    try:
        assert make_client().get("/healthz").json["workers"] == 1  # type: ignore[index]
    finally:
        worker.register_death()


def test_unavailable_when_redis_is_unreachable(make_client: MakeClient) -> None:
    response = make_client(redis_url=UNREACHABLE_REDIS).get("/healthz")
    assert response.status_code == 503
    assert response.json == {
        "status": "unavailable",
        "redis": False,
        "database": True,
        "workers": None,
    }


def test_unavailable_when_the_database_is_unreachable(make_client: MakeClient) -> None:
    response = make_client(database_url="postgres://postgres@127.0.0.1:1/none").get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] is False and response.json["redis"] is True  # type: ignore[index]


def test_answers_without_a_login_when_a_password_is_set(make_client: MakeClient) -> None:
    assert make_client(password="s3cret").get("/healthz").status_code == 200
