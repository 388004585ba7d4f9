"""A worker whose database stops answering takes no more games until it answers again
(snakebench.queueing.database_gate), with the real ``rq worker`` and a real SQLite
database made unreachable: its file replaced by a folder, so every connection fails
with "unable to open database file" as a lost server's would fail."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rq import Queue

from snakebench.queueing import WORKER_COMMAND, connect_redis
from snakebench.queueing.database_gate import DatabaseGate
from snakebench.queueing.quiet_worker import QuietWorker
from snakebench.queueing.thread_worker import ThreadWorker
from snakebench.services.batches import BatchSpec, submit_batch
from snakebench.store import batch_game_ids, get_game, open_store, unreachable_reason
from snakebench.testing import support
from snakebench.testing.support import Worker

StartWorker = Callable[..., Worker]  # the start_worker fixture (tests/conftest.py)
THREADED = f"{WORKER_COMMAND} -w snakebench.queueing.thread_worker.ThreadWorker"


class Outage:
    """The database file of ``url`` away (a folder in its place), then back."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.kept = [file.with_name(file.name + suffix) for suffix in ("", "-wal", "-shm")]

    def start(self) -> None:
        for path in self.kept:
            if path.exists():
                path.rename(path.with_name(path.name + ".away"))
        self.file.mkdir()

    def end(self) -> None:
        self.file.rmdir()
        for path in self.kept:
            away = path.with_name(path.name + ".away")
            if away.exists():
                away.rename(path)


@pytest.fixture
def worker_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_db_url: str, real_redis: redis.Redis
) -> Iterator[dict[str, str]]:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}",
        "SNAKEBENCH_REPLAY_DIR": str(tmp_path / "replays"),
        "REDIS_URL": redis_db_url,
        **support.QUICK_FAILURES,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    open_store()
    yield {**os.environ, **env}


def test_unreachable_reason_is_none_while_the_database_answers(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    url = worker_env["DATABASE_URL"]
    assert unreachable_reason(url) is None
    outage = Outage(tmp_path / "sb.db")
    outage.start()
    try:
        reason = unreachable_reason(url)
    finally:
        outage.end()
    assert reason is not None and "unable to open database file" in reason
    assert "\n" not in reason
    assert unreachable_reason(url) is None


def test_unreachable_reason_masks_a_password() -> None:
    url = "postgres://sb:s3cret-pw@127.0.0.1:1/snakebench"  # nothing listens on port 1
    reason = unreachable_reason(url)
    assert reason is not None and "s3cret-pw" not in reason and "***" in reason


@pytest.mark.slow
@pytest.mark.parametrize("command", [WORKER_COMMAND, THREADED], ids=["forked", "threads"])
def test_a_worker_takes_no_games_while_its_database_is_down(
    command: str, worker_env: dict[str, str], tmp_path: Path, start_worker: StartWorker
) -> None:
    """One game fails on the lost database; the two behind it stay queued (not burnt
    on the same outage) until the database is back; then all three are played, the
    failed one under its RQ retry."""
    connection = connect_redis(worker_env["REDIS_URL"])
    worker = start_worker(burst=False, command=command, env={"SNAKEBENCH_WORKER_THREADS": "1"})
    support.wait_until(lambda: worker.registered_or_gone(connection), 60, "the worker")
    batch = submit_batch(BatchSpec("greedy", "random", count=3, max_rounds=5), connection)
    games = batch_game_ids(batch.id)
    outage = Outage(tmp_path / "sb.db")
    outage.start()
    try:
        support.wait_until(
            lambda: "database unreachable" in worker.output(), 60, "the worker's gate"
        )
        assert Queue("games", connection=connection).count == 2  # not taken meanwhile
        assert connection.hget(f"rq:worker:{worker.name}", "state") == b"suspended"
    finally:
        outage.end()
    support.wait_until(
        lambda: all(get_game(game).status == "completed" for game in games),
        120,
        "all three games played",
        interval=0.5,
    )
    assert "database answers again" in worker.output()


@pytest.mark.slow
def test_a_burst_worker_exits_when_its_database_is_down(
    worker_env: dict[str, str], tmp_path: Path, start_worker: StartWorker
) -> None:
    """As under ``rq suspend``: the queue left as it is, not drained into failures."""
    connection = connect_redis(worker_env["REDIS_URL"])
    submit_batch(BatchSpec("greedy", "random", count=3, max_rounds=5), connection)
    outage = Outage(tmp_path / "sb.db")
    outage.start()
    try:
        worker = start_worker(burst=True)
        support.assert_workers_exit([worker], 60)
    finally:
        outage.end()
    assert "burst worker exiting" in worker.output()
    assert Queue("games", connection=connection).count == 2


def test_a_worker_waiting_for_its_database_stays_suspended(real_redis: redis.Redis) -> None:
    """A ThreadWorker's game ending meanwhile sets "idle" (DatabaseGate's rule, shown on
    a QuietWorker: a ThreadWorker would mark this process as one running jobs in
    itself): ``rq info`` would show a worker that takes nothing as ready for work."""
    worker = QuietWorker(["games"], connection=real_redis)
    worker.set_state("suspended")
    worker._waiting = True
    worker.set_state("idle")
    assert real_redis.hget(worker.key, "state") == b"suspended"
    worker._waiting = False
    worker.set_state("idle")
    assert real_redis.hget(worker.key, "state") == b"idle"


def test_the_gate_is_in_both_worker_classes() -> None:
    assert issubclass(QuietWorker, DatabaseGate) and issubclass(ThreadWorker, DatabaseGate)
