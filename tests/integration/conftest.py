"""Real parts for the integration suite: the session's database of the Redis at
127.0.0.1:6379 (the root conftest's, flushed around every test), a fresh SQLite file or
PostgreSQL schema per test, and stock ``rq worker`` subprocesses started the way an
operator starts them.

Why subprocesses and not ``SimpleWorker`` in-process: the properties under test
(a killed work horse, a flushed Redis, several processes racing on one game) only
exist with RQ's real fork-per-job worker and real process boundaries.

Workers run the documented command, :data:`snakebench.queueing.WORKER_COMMAND`
(plus ``--url``, a name, and ``--burst`` where a test wants them to exit when the
queues are empty). A test may ask for the bare ``rq worker`` without
``-c jobs.run_game``, which must work too: it then imports the job's module (and
the provider SDKs) in every forked work horse, ~2 s of CPU per job on this machine
instead of once per worker; see docs/PERFORMANCE.md, "Dispatch and workers".
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import cast

import pytest
import redis

from snakebench.config import Settings
from snakebench.store import database, open_store
from snakebench.testing import support as support
from snakebench.testing.support import QUICK_FAILURES, Worker, wait_until

OPENAI_KEY = "sk-test-openai-not-a-secret"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


# --- Redis ----------------------------------------------------------------------------


@pytest.fixture
def redis_conn(real_redis: redis.Redis) -> redis.Redis:
    """The test Redis database (the root conftest's ``real_redis``), empty before and
    after the test."""
    return real_redis


def fast_forward(conn: redis.Redis, seconds: float) -> list[str]:
    """Make Redis look as it will ``seconds`` from now, for what expires on its own:
    keys whose TTL runs out by then are deleted, and started-job registry entries
    (scored by heartbeat expiry) that lapse by then are moved to the past.

    That is how a test sees what happens after a dead worker's heartbeats have
    expired (90 s for a busy RQ worker) without waiting for it. Returns the keys
    deleted.
    """
    now = time.time()
    deleted = []
    for key in conn.scan_iter(count=1000):
        ttl = conn.pttl(key)
        if 0 <= ttl <= seconds * 1000:
            conn.delete(key)
            deleted.append(key.decode())
    for key in conn.scan_iter(match="rq:wip:*"):
        entries = cast(list[tuple[bytes, float]], conn.zrange(key, 0, -1, withscores=True))
        for member, score in entries:
            if score <= now + seconds:
                conn.zadd(key, {member: now - 1})
    return deleted


# --- databases ------------------------------------------------------------------------


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite by default; ``indirect`` parametrization with "postgres" gives the root
    conftest's ``pg_url``, a fresh schema of the session's PostgreSQL database selected
    through the URL's ``search_path`` option, which reaches the workers with
    ``DATABASE_URL``."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'sb.db'}"
        return
    yield request.getfixturevalue("pg_url")
    if not database.is_closed():  # before pg_url drops the schema under it
        database.close()


# --- the stack: settings, environment and workers -------------------------------------


@dataclass
class Stack:
    """One test's database, replay folder, Redis and worker processes."""

    tmp: Path
    db_url: str
    redis: redis.Redis
    redis_url: str
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)

    @property
    def replay_dir(self) -> Path:
        return self.tmp / "replays"

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def start_workers(
        self,
        count: int,
        *,
        burst: bool = False,
        preload: bool = True,
        env: dict[str, str | None] | None = None,
        worker_class: str | None = None,
    ) -> list[Worker]:
        """Start ``count`` workers; returns once each is registered in Redis, so a
        test that kills one or flushes Redis knows what was running. ``env`` adds
        to the stack's environment; a None value removes the variable;
        ``worker_class`` is passed as ``-w``."""
        merged: dict[str, str | None] = {**self.env, **(env or {})}
        worker_env = {key: value for key, value in merged.items() if value is not None}
        started = []
        for _ in range(count):
            name = f"it-{uuid.uuid4().hex[:8]}"
            log = self.tmp / f"worker-{name}.log"
            worker = support.start_worker(
                self.redis_url,
                name=name,
                log=log,
                env=worker_env,
                cwd=self.tmp,
                burst=burst,
                preload=preload,
                worker_class=worker_class,
            )
            started.append(worker)
        self.workers.extend(started)
        if not burst:  # a burst worker may be done before anyone sees it registered
            for worker in started:
                ready = partial(worker.registered_or_gone, self.redis)
                wait_until(ready, 60, f"{worker.name} to start")
                assert worker.alive(), worker.output()
        return started

    def wait_workers_exit(self, timeout: float) -> None:
        """For burst workers: wait until every one has exited cleanly."""
        support.assert_workers_exit(self.workers, timeout)

    def kill(self, worker: Worker, *, parent: bool = True) -> list[int]:
        """SIGKILL a worker's work horse, and with ``parent`` the worker and its
        scheduler process too (a machine dying): a crash, not a shutdown.
        Returns the horse pids killed."""
        horses = worker.horses()
        victims = worker.children() if parent else horses
        for pid in victims:
            support.kill_pid(pid)
        if parent and worker.alive():
            worker.process.kill()
            worker.process.wait(10)
        return horses

    def stop_workers(self) -> None:
        """Stop every worker this test started, and their horses, by pid."""
        for worker in self.workers:
            support.kill_horses(worker.pid)
        support.terminate_processes(worker.process for worker in self.workers)
        self.workers.clear()

    def logs(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.output()[-2000:]}" for w in self.workers)


@pytest.fixture
def stack(
    tmp_path: Path,
    db_url: str,
    redis_conn: redis.Redis,
    redis_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Stack]:
    """Database, replays and Redis for this test, in this process's environment and in
    the workers'; every worker started through it is stopped at the end."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_API_KEY") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis_db_url,
        SNAKEBENCH_REPLAY_DIR=str(tmp_path / "replays"),
        OPENAI_API_KEY=OPENAI_KEY,
        **QUICK_FAILURES,
    )
    for key in ("DATABASE_URL", "REDIS_URL", "SNAKEBENCH_REPLAY_DIR", "OPENAI_API_KEY"):
        monkeypatch.setenv(key, env[key])
    for key in [k for k in os.environ if k.startswith("SNAKEBENCH_") or k.endswith("_API_KEY")]:
        if key not in env:
            monkeypatch.delenv(key)
    for key in [k for k in env if k.startswith("SNAKEBENCH_")]:
        monkeypatch.setenv(key, env[key])
    the_stack = Stack(tmp_path, db_url, redis_conn, redis_db_url, env)
    open_store(the_stack.settings)
    try:
        yield the_stack
    finally:
        the_stack.stop_workers()
        if not database.is_closed():
            database.close()
