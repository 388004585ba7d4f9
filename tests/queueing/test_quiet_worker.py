"""QuietWorker against the real Redis: what it no longer sends, and what it still must
(the worker's TTL after a job, a state that changes)."""

from __future__ import annotations

import pytest
import redis
from rq.worker import Worker

from snakebench.queueing.quiet_worker import QuietWorker, known_horse


@pytest.fixture
def worker(real_redis: redis.Redis) -> QuietWorker:
    return QuietWorker(["games"], connection=real_redis)


def beat(connection: redis.Redis, worker: QuietWorker) -> object:
    return connection.hget(worker.key, "last_heartbeat")


def test_a_heartbeat_right_after_one_is_not_sent(
    worker: QuietWorker, real_redis: redis.Redis
) -> None:
    worker.heartbeat()
    first = beat(real_redis, worker)
    worker.heartbeat()
    assert first is not None and beat(real_redis, worker) == first
    assert real_redis.ttl(worker.key) > worker.worker_ttl  # RQ's TTL: worker_ttl + 60


def test_after_a_shorter_ttl_the_next_default_heartbeat_goes_out(
    worker: QuietWorker, real_redis: redis.Redis
) -> None:
    worker.heartbeat()
    worker.heartbeat(worker.job_monitoring_interval + 60)  # a job's, as RQ sends it
    assert real_redis.ttl(worker.key) <= worker.job_monitoring_interval + 60
    worker.heartbeat()
    assert real_redis.ttl(worker.key) > worker.worker_ttl


def test_after_a_job_the_next_default_heartbeat_goes_out(
    worker: QuietWorker, real_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A horse's heartbeats shorten the worker's TTL where this process cannot see
    them: the end of every job makes the next default heartbeat due."""
    monkeypatch.setattr(Worker, "execute_job", lambda self, job, queue: None)
    worker.heartbeat()
    real_redis.expire(worker.key, 90)  # what the horse did meanwhile
    worker.execute_job(None, None)  # type: ignore[arg-type]
    worker.heartbeat()
    assert real_redis.ttl(worker.key) > worker.worker_ttl


def test_a_state_is_sent_when_it_changes_only(worker: QuietWorker, real_redis: redis.Redis) -> None:
    worker.set_state("idle")
    real_redis.hdel(worker.key, "state")
    worker.set_state("idle")  # unchanged: not sent
    assert real_redis.hget(worker.key, "state") is None
    worker.set_state("busy")
    assert real_redis.hget(worker.key, "state") == b"busy"
    with real_redis.pipeline() as pipe:  # in RQ's pipelines: always, as RQ wrote it
        worker.set_state("busy", pipeline=pipe)
        assert len(pipe) == 1


def test_this_process_is_no_work_horse_it_knows_of() -> None:
    assert known_horse() is None  # neither a QuietWorker's horse nor a ThreadWorker
