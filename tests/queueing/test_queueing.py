"""queueing: how games become RQ jobs (fakeredis), and how Redis errors read."""

from __future__ import annotations

import pickle
import pickletools
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from rq import Callback, Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import DefaultSerializer, resolve_serializer

from snakebench.config import ConfigError, Settings
from snakebench.queueing import (
    EVALUATION_ON_SUCCESS,
    FAILURE_TTL,
    QUEUE_NAMES,
    RESULT_TTL,
    RUN_GAME,
    SERIALIZER,
    ForeignJobError,
    GameJob,
    QueueError,
    RestrictedPickle,
    WireError,
    attempt_never_ran,
    connect_redis,
    enqueue_games,
    game_queue,
    job_timeout,
    live_job_ids,
    mark_run_started,
    retry_policy,
)


@pytest.fixture
def redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def test_each_game_is_one_primitive_job_whose_id_is_the_game_id(
    redis: fakeredis.FakeRedis,
) -> None:
    ids = [f"game-{i}" for i in range(2500)]  # more than one pipeline chunk
    assert enqueue_games(ids, max_rounds=100, connection=redis) == 2500
    queue = Queue(QUEUE_NAMES["normal"], connection=redis, serializer=SERIALIZER)
    assert queue.count == 2500
    job = Job.fetch("game-7", connection=redis, serializer=SERIALIZER)
    assert (job.func_name, job.args, job.kwargs) == (RUN_GAME, ("game-7",), {})
    raw = redis.hget(Job.key_for("game-7"), "data")  # RQ stores it zlib-compressed
    assert raw is not None
    data = zlib.decompress(raw)
    assert pickle.loads(data) == (RUN_GAME, None, ("game-7",), {})  # RQ's own format
    assert not opcodes(data) & GLOBAL_OPCODES
    assert job.timeout == job_timeout(100)
    assert (job.result_ttl, job.failure_ttl) == (RESULT_TTL, FAILURE_TTL)
    assert job.retries_left == 3


def test_a_stock_reader_reads_our_jobs_as_they_are(redis: fakeredis.FakeRedis) -> None:
    """RQ's defaults (what `rq worker games`, `rq info` and rq-dashboard use)."""
    enqueue_games(["g"], max_rounds=10, connection=redis)
    job = Job.fetch("g", connection=redis)
    assert job.get_call_string() == f"{RUN_GAME}('g')"
    assert Queue("games", connection=redis).job_ids == ["g"]


def opcodes(data: bytes) -> set[str]:
    return {op.name for op, _, _ in pickletools.genops(data)}


GLOBAL_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"}
PRIMITIVES = [
    None,
    True,
    -(2**70),
    1.5,
    "naïve ⟶ 🐍",
    b"\x00bytes",
    ("tuple", 1),
    [1, [2, [3]]],
    {"game_id": "abc", "final_scores": {"0": 3, "1": 1}, "deaths": {}, "error": None},
    {1: "an int key", None: ("a", "tuple")},
]


@pytest.mark.parametrize("value", PRIMITIVES, ids=repr)
def test_primitives_pickle_as_rqs_default_and_read_back_restricted(value: Any) -> None:
    written = RestrictedPickle.dumps(value)
    assert written == DefaultSerializer.dumps(value)  # byte for byte what stock RQ writes
    assert not opcodes(written) & GLOBAL_OPCODES
    assert RestrictedPickle.loads(written) == value


class Planted:
    """Unpickling this runs code: it writes ``path`` (as a planted job would)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.path)!r}, 'w').write('unpickled')",))


def test_the_restricted_reader_refuses_every_pickled_global(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    planted = [
        pickle.dumps(Planted(marker)),
        pickle.dumps(("jobs.run_game.run_game", None, (Planted(marker),), {})),
        pickle.dumps(Planted(marker), protocol=0),  # GLOBAL rather than STACK_GLOBAL
        pickle.dumps(datetime(2026, 1, 1)),  # harmless, but still a global
        pickle.dumps(JobStatus.FINISHED),
    ]
    for data in planted:
        with pytest.raises(pickle.UnpicklingError, match="refusing pickled global"):
            RestrictedPickle.loads(data)
    assert not marker.exists()
    pickle.loads(planted[0])  # the test's own check: a stock reader would have run it
    assert marker.exists()


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 1, 1), JobStatus.FINISHED, {"status": JobStatus.FAILED}, [object()], {1.5j}],
    ids=repr,
)
def test_writing_refuses_anything_but_primitives(value: Any) -> None:
    with pytest.raises(WireError, match="SnakeBench puts only primitives on the queue"):
        RestrictedPickle.dumps(value)


def test_the_restricted_reader_is_a_worker_serializer() -> None:
    """`-S snakebench.queueing.RestrictedPickle` resolves as RQ resolves it."""
    assert resolve_serializer("snakebench.queueing.RestrictedPickle") is RestrictedPickle
    assert SERIALIZER is RestrictedPickle


def test_an_attempt_is_marked_when_it_reaches_our_code(redis: fakeredis.FakeRedis) -> None:
    enqueue_games(["g"], max_rounds=10, connection=redis)
    job = Job.fetch("g", connection=redis, serializer=SERIALIZER)
    assert not attempt_never_ran(job)  # never started at all
    job.started_at = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
    job.save()
    assert attempt_never_ran(Job.fetch("g", connection=redis, serializer=SERIALIZER))
    mark_run_started(job)
    assert not attempt_never_ran(Job.fetch("g", connection=redis, serializer=SERIALIZER))
    job.started_at += timedelta(seconds=30)  # the next attempt, by a worker that cannot run it
    job.save(include_meta=False)
    assert attempt_never_ran(Job.fetch("g", connection=redis, serializer=SERIALIZER))


def test_priorities_pick_their_queue(redis: fakeredis.FakeRedis) -> None:
    enqueue_games(["a"], max_rounds=10, priority="high", connection=redis)
    enqueue_games(["b"], max_rounds=10, priority="low", connection=redis)
    assert Queue("games-high", connection=redis).job_ids == ["a"]
    assert Queue("games-low", connection=redis).job_ids == ["b"]
    with pytest.raises(ValueError, match="priority must be high, normal or low"):
        game_queue("urgent", redis)


def test_scheduled_games_wait_in_the_scheduled_registry(redis: fakeredis.FakeRedis) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    enqueue_games(["later-1", "later-2"], max_rounds=10, connection=redis, at=when)
    queue = game_queue("normal", redis)
    assert queue.count == 0
    registry = ScheduledJobRegistry(queue=queue)
    assert sorted(registry.get_job_ids()) == ["later-1", "later-2"]
    scheduled = registry.get_scheduled_time("later-1")
    assert abs(scheduled.timestamp() - when.timestamp()) < 1


def test_live_jobs_are_told_apart_from_missing_and_finished(
    redis: fakeredis.FakeRedis,
) -> None:
    enqueue_games(["queued", "done"], max_rounds=10, connection=redis)
    job = Job.fetch("done", connection=redis, serializer=SERIALIZER)
    job.set_status("finished")
    assert live_job_ids(["queued", "done", "never-enqueued"], redis) == {"queued"}


def test_job_timeout_is_sized_to_the_game_not_rqs_default() -> None:
    settings = Settings(move_timeout=60)
    assert job_timeout(100, settings) == 100 * 60 * 2 + 600
    assert job_timeout(1, settings) > 180


def test_retry_backoff_grows_with_jitter() -> None:
    import random

    intervals = [retry_policy(random.Random(seed)).intervals for seed in range(50)]
    assert all(len(i) == 3 and i[0] < i[1] < i[2] for i in intervals)
    assert len({tuple(i) for i in intervals}) > 10  # jittered, not one fixed schedule


def test_unreachable_redis_fails_fast_with_one_line_and_no_password() -> None:
    start = time.monotonic()
    with pytest.raises(QueueError) as caught:
        connect_redis("redis://:sekret@127.0.0.1:1/0", timeout=2)
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert message.startswith("cannot reach Redis at redis://:***@127.0.0.1:1/0:")
    assert "sekret" not in message and "\n" not in message


def test_a_url_that_is_not_redis_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="REDIS_URL='http://example' is not a Redis URL"):
        connect_redis("http://example")


def test_the_real_redis_answers(redis_db_url: str) -> None:
    client = connect_redis(redis_db_url)
    assert client.ping()


def test_game_job_runs_only_snakebench_functions_and_callbacks() -> None:
    """GameJob (workers' -j) refuses what RQ would otherwise import and call by name."""
    conn = fakeredis.FakeRedis()

    def job(func: str, **kwargs: Any) -> GameJob:
        made = GameJob.create(func, args=("x",), connection=conn, serializer=SERIALIZER, **kwargs)
        made.save()
        fetched: GameJob = GameJob.fetch(made.id, connection=conn, serializer=SERIALIZER)
        return fetched

    assert job(RUN_GAME).func is not None
    with pytest.raises(ForeignJobError, match=r"os\.system"):
        job("os.system").func  # noqa: B018  (the property is the check)
    evil = job(RUN_GAME, on_success=Callback("os.system"), on_failure=Callback("os.remove"))
    with pytest.raises(ForeignJobError, match=r"os\.system"):
        evil.success_callback  # noqa: B018
    with pytest.raises(ForeignJobError, match=r"os\.remove"):
        evil.failure_callback  # noqa: B018
    fine = job(RUN_GAME, on_success=Callback(EVALUATION_ON_SUCCESS))
    assert fine.success_callback is not None and fine.failure_callback is None


def test_redis_looks_its_version_up_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """redis-py reads its version from the package metadata for every connection it
    opens; queueing remembers it, so a work horse's fresh connections skip the ~1 ms
    read (the parent looked it up before forking)."""
    import importlib.metadata

    import redis.utils

    expected = importlib.metadata.version("redis")

    def no_metadata(name: str) -> str:
        raise AssertionError(f"package metadata read again for {name}")

    monkeypatch.setattr(importlib.metadata, "version", no_metadata)
    assert redis.utils.get_lib_version() == expected
    connection = redis.Connection()  # what a horse's pool makes after the fork
    assert connection.driver_info is not None
    assert connection.driver_info.lib_version == expected


def test_job_timeout_gives_games_under_request_limits_their_waits() -> None:
    settings = Settings(move_timeout=60, limit_wait=900)
    assert job_timeout(100, settings, limited=True) == 100 * (60 * 2 + 900) + 600
