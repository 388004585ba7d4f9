"""status and health with fakeredis: failure causes told apart (abandoned, a worker
without -S json), and health checks answered by an in-process worker."""

from __future__ import annotations

import threading
import time
from typing import Any

import fakeredis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.job_lifecycle import record_job_failure

from snakebench.config import Settings
from snakebench.queue_status import health_check, health_warnings, queue_status
from snakebench.queueing import SERIALIZER, WORKER_QUEUES, enqueue_games

ABANDONED = "Moved to FailedJobRegistry, due to AbandonedJobError, at 2026-05-01 12:00:00"
UNREADABLE = "Traceback ...\nrq.exceptions.DeserializationError\n"


def fail_job(connection: fakeredis.FakeRedis, game_id: str, exc_string: str) -> None:
    job = Job.fetch(game_id, connection=connection, serializer=SERIALIZER)
    Queue("games", connection=connection).remove(game_id)
    with connection.pipeline() as pipe:
        record_job_failure(job, exc_string, pipe)
        pipe.execute()


def test_failures_are_told_apart_by_cause(fake: fakeredis.FakeRedis) -> None:
    enqueue_games(["a", "b", "c", "d"], max_rounds=10, connection=fake)
    fail_job(fake, "a", ABANDONED)
    fail_job(fake, "b", UNREADABLE)
    fail_job(fake, "c", "ValueError: ordinary")
    status = queue_status(fake)
    assert status.queues == {"games-high": 0, "games": 1, "games-low": 0}
    assert status.registries["failed"] == 3 and status.abandoned == 1
    assert status.wrong_serializer == ["b"]
    (warning,) = status.warnings()
    assert "a worker without -S json took game b" in warning
    assert "rq worker -S json" in warning
    assert status.workers == []


def answered_by(fake: fakeredis.FakeRedis, **worker_options: Any) -> list[dict[str, Any]]:
    """Ask for health while an in-process worker (built with ``worker_options``) works
    the queues once: the question in a thread, the worker here (it wants signals)."""
    answers: list[dict[str, Any]] = []
    asking = threading.Thread(target=lambda: answers.extend(health_check(fake, timeout=20)))
    asking.start()
    queues = [Queue(name, connection=fake, serializer=SERIALIZER) for name in WORKER_QUEUES]
    deadline = time.monotonic() + 5
    while sum(q.count for q in queues) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    SimpleWorker(queues, connection=fake, **worker_options).work(burst=True)
    asking.join(timeout=20)
    return answers


def test_health_is_answered_on_every_queue_by_a_worker(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    answers = answered_by(fake, serializer=SERIALIZER)
    assert [a["queue"] for a in answers] == list(WORKER_QUEUES)
    for answer in answers:
        assert answer["answered"] is True and answer["status"] == "healthy"
        assert answer["database"] is True and answer["redis"] is True
        assert {"host", "pid", "worker", "versions"} <= set(answer)
    assert health_warnings(answers) == []


def test_a_worker_without_json_is_named_by_health(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    answers = answered_by(fake, name="pickly")  # RQ's default serializer: pickle
    assert {(a["answered"], a["status"], a["worker"]) for a in answers} == {
        (True, "failed", "pickly")
    }
    (warning,) = health_warnings(answers)
    assert "a worker without -S json (pickly) took a health check" in warning


def test_health_with_no_worker_says_so_and_leaves_no_job(fake: fakeredis.FakeRedis) -> None:
    answers = health_check(fake, timeout=0.5)
    assert [a["answered"] for a in answers] == [False, False, False]
    assert all(Queue(n, connection=fake).count == 0 for n in WORKER_QUEUES)
