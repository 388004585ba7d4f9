"""status and health with fakeredis: failure causes told apart (abandoned; a live
worker that takes games but cannot run them), and health checks answered by an
in-process worker, leaving nothing behind."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import fakeredis
import pytest
from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from rq.job_lifecycle import record_job_failure
from rq.serializers import JSONSerializer

from snakebench.config import Settings
from snakebench.queueing import SERIALIZER, WORKER_QUEUES, enqueue_games, mark_run_started
from snakebench.queueing.status import health_check, health_warnings, queue_status

ABANDONED = "Moved to FailedJobRegistry, due to AbandonedJobError, at 2026-05-01 12:00:00"
UNREADABLE = "Traceback ...\nrq.exceptions.DeserializationError\n"


def attempt(connection: fakeredis.FakeRedis, game_id: str, worker: str, *, ran: bool) -> Job:
    """Game ``game_id``'s job as ``worker`` left it after one attempt; ``ran``: the
    attempt reached run_game (which marks it)."""
    job = Job.fetch(game_id, connection=connection, serializer=SERIALIZER)
    job.worker_name, job.started_at = worker, datetime.now(UTC)
    job.save()
    if ran:
        mark_run_started(job)
    return job


def fail_job(connection: fakeredis.FakeRedis, job: Job, exc_string: str) -> None:
    Queue("games", connection=connection).remove(job.id)
    with connection.pipeline() as pipe:
        record_job_failure(job, exc_string, pipe)
        pipe.execute()


def retry_later(connection: fakeredis.FakeRedis, job: Job) -> None:
    """What RQ does with a job that raised while retries are left: no trace of why."""
    queue = Queue("games", connection=connection, serializer=SERIALIZER)
    with connection.pipeline() as pipe:
        job.retry(queue, pipe)
        pipe.execute()


def live_worker(connection: fakeredis.FakeRedis, name: str) -> Worker:
    worker = Worker(["games"], connection=connection, name=name)
    worker.register_birth()
    return worker


def test_failures_are_told_apart_by_cause(fake: fakeredis.FakeRedis) -> None:
    enqueue_games(["a", "b", "c", "d"], max_rounds=10, connection=fake)
    live_worker(fake, "plain")
    fail_job(fake, attempt(fake, "a", "gone", ran=True), ABANDONED)
    fail_job(fake, attempt(fake, "b", "plain", ran=False), UNREADABLE)
    fail_job(fake, attempt(fake, "c", "plain", ran=True), "ValueError: ordinary")
    status = queue_status(fake)
    assert status.queues == {"games-high": 0, "games": 1, "games-low": 0}
    assert status.registries["failed"] == 3 and status.abandoned == 1
    assert status.cannot_run == {"plain": ["b"]}
    (warning,) = status.warnings()
    assert "worker plain cannot run SnakeBench's jobs: it took game b" in warning
    assert "`rq worker games-high games games-low --with-scheduler`" in warning
    assert [w["name"] for w in status.workers] == ["plain"]


def test_a_worker_that_cannot_run_our_jobs_is_named_at_its_first_game(
    fake: fakeredis.FakeRedis,
) -> None:
    """Its game waits for a retry in the scheduled registry; RQ kept no reason."""
    enqueue_games(["a", "b", "c", "d"], max_rounds=10, connection=fake)
    live_worker(fake, "json-worker")
    live_worker(fake, "good")
    retry_later(fake, attempt(fake, "a", "json-worker", ran=False))
    retry_later(fake, attempt(fake, "b", "good", ran=True))  # ran, raised (database down)
    retry_later(fake, attempt(fake, "c", "dead-json-worker", ran=False))  # gone since
    status = queue_status(fake)
    assert status.registries["scheduled"] == 3
    assert status.cannot_run == {"json-worker": ["a"]}
    (warning,) = status.warnings()
    assert warning.startswith("WARNING: worker json-worker cannot run SnakeBench's jobs: ")
    # The same game retried by a good worker that does run it clears the warning.
    attempt(fake, "a", "good", ran=True)
    assert queue_status(fake).cannot_run == {}


def test_a_planted_job_refused_by_a_hardened_worker_is_not_blamed_on_it(
    fake: fakeredis.FakeRedis,
) -> None:
    live_worker(fake, "hardened")
    planted = Queue("games", connection=fake).enqueue("os.system", "true", job_id="planted")
    planted.worker_name, planted.started_at = "hardened", datetime.now(UTC)
    planted.save()
    fail_job(fake, planted, "ForeignJobError: refusing to run 'os.system'")
    assert queue_status(fake).cannot_run == {}


def answered_by(fake: fakeredis.FakeRedis, **worker_options: Any) -> list[dict[str, Any]]:
    """Ask for health while an in-process worker (built with ``worker_options``) works
    the queues once: the question in a thread, the worker here (it wants signals)."""
    answers: list[dict[str, Any]] = []
    asking = threading.Thread(target=lambda: answers.extend(health_check(fake, timeout=20)))
    asking.start()
    queues = [Queue(name, connection=fake, serializer=SERIALIZER) for name in WORKER_QUEUES]
    deadline = time.monotonic() + 20  # the question's thread may start late on a busy machine
    while sum(q.count for q in queues) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    SimpleWorker(queues, connection=fake, **worker_options).work(burst=True)
    asking.join(timeout=20)
    return answers


def test_health_is_answered_on_every_queue_by_a_worker(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    answers = answered_by(fake, serializer=SERIALIZER)  # the hardened reader
    assert [a["queue"] for a in answers] == list(WORKER_QUEUES)
    for answer in answers:
        assert answer["answered"] is True and answer["status"] == "healthy"
        assert answer["database"] is True and answer["redis"] is True
        assert {"host", "pid", "worker", "versions"} <= set(answer)
    assert health_warnings(answers) == []


def test_a_worker_that_cannot_read_our_jobs_is_named_by_health(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    answers = answered_by(fake, name="jsonly", serializer=JSONSerializer)  # old docs' -S json
    assert {(a["answered"], a["status"], a["worker"]) for a in answers} == {
        (True, "failed", "jsonly")
    }
    (warning,) = health_warnings(answers)
    assert "worker jsonly cannot run SnakeBench's jobs" in warning
    assert_nothing_left(fake)


def assert_nothing_left(connection: fakeredis.FakeRedis) -> None:
    """No probe in any queue or registry, nor its hash: `status` later says nothing."""
    for name in WORKER_QUEUES:
        queue = Queue(name, connection=connection, serializer=SERIALIZER)
        assert queue.count == 0
        for registry in (queue.finished_job_registry, queue.failed_job_registry):
            assert registry.get_job_ids(cleanup=False) == []
    assert list(connection.scan_iter("rq:job:health-*")) == []
    assert list(connection.scan_iter("rq:results:health-*")) == []
    assert queue_status(connection).warnings() == []


def test_health_with_no_worker_says_so_and_leaves_no_job(fake: fakeredis.FakeRedis) -> None:
    answers = health_check(fake, timeout=0.5)
    assert [a["answered"] for a in answers] == [False, False, False]
    assert_nothing_left(fake)


def test_health_answered_leaves_no_job(store: Settings, fake: fakeredis.FakeRedis) -> None:
    answered_by(fake, serializer=SERIALIZER)
    assert_nothing_left(fake)


def test_health_interrupted_still_leaves_no_job(
    fake: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", interrupt)
    with pytest.raises(KeyboardInterrupt):
        health_check(fake, timeout=5)
    assert_nothing_left(fake)
