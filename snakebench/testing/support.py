"""Plumbing for code that drives a real Redis and real ``rq worker`` processes from
the outside: the test suites (tests/integration, tests/security, tests/local, ...)
and the operational scripts (``scripts/browser_site.py``, ...).

Not used by SnakeBench itself. It lives in the package because the scripts cannot
import from tests/ and the test folders cannot import each other (pytest runs with
``--import-mode=importlib``). Importing it does not import pytest: a script's
caller says how a failure is reported (its own error, ``AssertionError``), and the
few helpers meant for tests alone import pytest when called.

- :func:`wait_for`: poll until a condition holds, else raise naming what was awaited
  (:func:`wait_until`: a test fails);
- :func:`claim_redis_db`, :func:`holding`, :func:`release_redis_db`: a database of
  the machine's Redis of one's own, found free at run time and claimed in Redis itself,
  so test sessions of two checkouts (and scripts) never share one and never wait for
  each other;
- :func:`pg_admin`, :func:`pg_url`: the test PostgreSQL, to create and drop databases
  and schemas, and the URLs of them;
- :func:`worker_command`, :func:`start_worker`, :class:`Worker`: ``rq worker``
  processes started as :data:`snakebench.queueing.WORKER_COMMAND` says, each logging
  to a file (:func:`assert_workers_exit`: a test waits for burst workers to finish);
- :func:`children_of`, :func:`kill_pid`, :func:`kill_horses`,
  :func:`terminate_processes`: stopping processes and what they forked, by pid;
- :func:`http_ok`, :func:`basic_auth`: reaching a server started for the purpose
  (a free port for it is :func:`snakebench.localstack.processes.free_port`).
"""

from __future__ import annotations

import base64
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import psycopg2  # type: ignore[import-untyped]  # no stubs; production never imports it
import redis

from snakebench.queueing import WORKER_COMMAND, connect_redis

T = TypeVar("T")

RQ = str(Path(sys.executable).with_name("rq"))  # this environment's ``rq``

# Settings for workers under test: provider trouble turns into a void game in seconds,
# not minutes, and their logs arrive line by line.
QUICK_FAILURES: dict[str, str] = {
    "SNAKEBENCH_MOVE_TIMEOUT": "10",
    "SNAKEBENCH_PROVIDER_RETRIES": "2",
    "SNAKEBENCH_RETRY_BASE_DELAY": "0.05",
    "SNAKEBENCH_RETRY_MAX_DELAY": "0.2",
    "PYTHONUNBUFFERED": "1",
}


# --- waiting ------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.1,
    error: Callable[[str], BaseException] = TimeoutError,
) -> T:
    """Poll ``predicate`` every ``interval`` seconds until it returns something truthy,
    and return that; after ``timeout`` seconds raise ``error(message)`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise error(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """:func:`wait_for` in a test: the test fails (``pytest.fail``) on timeout."""
    import pytest

    return wait_for(predicate, timeout, what, interval=interval, error=pytest.fail.Exception)


def unavailable(reason: str) -> NoReturn:
    """In a test: skip on a laptop without the service; under CI (``CI=true``) a
    missing service is a failure."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


# --- Redis --------------------------------------------------------------------------

REDIS_SERVER = "redis://127.0.0.1:6379"  # the machine's Redis, whose databases are claimed
CLAIM_TTL = 120  # seconds a claim outlives its holder's last renewal (every third of it)
# Both keys live in db 0 (never handed out): "claim" expires unless renewed, "used" does
# not and goes only at a clean release, so a claim that lapsed with "used" still set was
# a holder that died, and its database holds nothing but that holder's leftovers.
_CLAIM_KEY = "snakebench:test:claim:{db}"
_USED_KEY = "snakebench:test:used:{db}"
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then redis.call('del', key) end
end
return 0
"""


class RedisDatabaseTaken(RuntimeError):
    """No database of the Redis could be claimed: each is another process's."""


@dataclass(frozen=True)
class RedisClaim:
    """One process's claim on database ``db`` (at ``url``) of a Redis server: no other
    process claiming there takes it until :func:`release_redis_db`, or until the claim
    lapses unrenewed (its holder died). ``registry`` is db 0, where claims live."""

    registry: redis.Redis
    db: int
    url: str
    token: str

    @property
    def keys(self) -> tuple[str, str]:
        """The claim's two keys in db 0: the live claim, and the "used" marker."""
        return _CLAIM_KEY.format(db=self.db), _USED_KEY.format(db=self.db)

    def held(self) -> bool:
        """Whether the claim is still this holder's (renewed in time, not taken over)."""
        return self.registry.get(self.keys[0]) == self.token.encode()


def database_url(server_url: str, db: int) -> str:
    """``server_url`` (``redis://host:port``, a database number or not) on database ``db``."""
    return urlsplit(server_url)._replace(path=f"/{db}").geturl()


def claim_redis_db(
    server_url: str = REDIS_SERVER, *, db: int | None = None, ttl: int = CLAIM_TTL
) -> RedisClaim:
    """Claim a database of the Redis at ``server_url`` (flushed), as rq's own test suite
    picks an empty one, but safe against another process picking the same one meanwhile.

    Without ``db``: the first database from 1 up that no live process has claimed and
    that is empty (or holds only the leftovers of a claimant that died); a database
    holding anyone else's data is never touched. With ``db``: that one, whatever it
    holds, unless a live process has claimed it. Db 0 holds the claims and is never
    handed out. Raises :class:`RedisDatabaseTaken` when nothing is free and
    :class:`~snakebench.queueing.QueueError` when Redis does not answer.
    """
    if db == 0:
        raise ValueError("Redis database 0 holds the claims: it is never handed out")
    registry = connect_redis(database_url(server_url, 0), timeout=2.0)
    token = uuid.uuid4().hex
    filled = set() if db is not None else _filled_databases(registry)
    for candidate in [db] if db is not None else range(1, _database_count(registry)):
        claim = RedisClaim(registry, candidate, database_url(server_url, candidate), token)
        if _take(claim, ttl, skip_data=candidate in filled):
            return claim
    registry.close()
    which = f"database {db}" if db is not None else "every database"
    raise RedisDatabaseTaken(f"{which} of the Redis at {server_url} is another process's")


def _take(claim: RedisClaim, ttl: int, *, skip_data: bool) -> bool:
    """Claim ``claim.db`` if no live process holds it (``SET NX``), giving it back when
    ``skip_data`` and it holds someone's data; flush it once it is ours."""
    claim_key, used_key = claim.keys
    if not claim.registry.set(claim_key, claim.token, nx=True, ex=ttl):
        return False
    abandoned = bool(claim.registry.exists(used_key))  # its last holder died holding it
    if skip_data and not abandoned:
        claim.registry.delete(claim_key)
        return False
    claim.registry.set(used_key, claim.token)
    _flush(claim.url)
    return True


def _filled_databases(registry: redis.Redis) -> set[int]:
    """The databases holding keys, from one ``INFO keyspace`` (``db5: keys=3, ...``)."""
    keyspace: dict[str, dict[str, int]] = registry.info("keyspace")
    return {int(name[2:]) for name, stats in keyspace.items() if stats.get("keys")}


def _database_count(registry: redis.Redis) -> int:
    """How many databases the server has (16 unless configured; 16 when CONFIG is
    not allowed, as on a managed Redis)."""
    try:
        setting: dict[str, str] = registry.config_get("databases")  # type: ignore[assignment]
        return int(setting["databases"])
    except (redis.ResponseError, KeyError, ValueError):
        return 16


def _flush(url: str) -> None:
    """Empty the database ``url`` over a client of its own (the registry's is db 0)."""
    client = connect_redis(url, timeout=2.0)
    try:
        client.flushdb()
    finally:
        client.close()


def renew_redis_claim(claim: RedisClaim, ttl: int = CLAIM_TTL) -> bool:
    """Extend the claim by ``ttl`` seconds if it is still ours; whether it was."""
    return bool(claim.registry.eval(_RENEW, 1, claim.keys[0], claim.token, ttl))


def release_redis_db(claim: RedisClaim) -> None:
    """Flush the claimed database (if the claim is still ours: a lapsed one may be
    another's now) and give it up, free again for the next claimant."""
    if claim.held():
        _flush(claim.url)
    claim.registry.eval(_RELEASE, 2, *claim.keys, claim.token)
    claim.registry.close()


@contextmanager
def holding(claim: RedisClaim, ttl: int = CLAIM_TTL) -> Iterator[RedisClaim]:
    """Keep ``claim`` for the ``with`` block, renewed every third of ``ttl`` by a thread
    (a holder that dies stops renewing, and its database is free again within ``ttl``);
    then flush its database and release it."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(ttl / 3):
            with suppress(redis.RedisError):
                renew_redis_claim(claim, ttl)

    renewer = threading.Thread(target=renew, name=f"redis-claim-{claim.db}", daemon=True)
    renewer.start()
    try:
        yield claim
    finally:
        done.set()
        renewer.join()
        release_redis_db(claim)


# --- PostgreSQL ---------------------------------------------------------------------

PG_HOST = os.environ.get("SNAKEBENCH_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SNAKEBENCH_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SNAKEBENCH_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("SNAKEBENCH_TEST_PG_DB", "test")


def pg_admin(dbname: str = PG_ADMIN_DB) -> Any:
    """An autocommit connection to ``dbname`` on the test PostgreSQL (trust auth), for
    CREATE/DROP DATABASE, which cannot run inside a transaction, and for schemas.
    ``psycopg2.OperationalError`` when the server does not answer within 3 s."""
    conn = psycopg2.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, connect_timeout=3
    )
    conn.autocommit = True
    return conn


@contextmanager
def throwaway_pg_database(prefix: str = "sb_test") -> Iterator[str]:
    """The name of a fresh database on the test PostgreSQL, dropped afterwards WITH
    (FORCE), so a worker left connected cannot keep it alive. The admin connection is
    opened first: ``psycopg2.OperationalError`` when the server does not answer."""
    admin = pg_admin()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def bench_redis(url: str | None) -> Iterator[str]:
    """A benchmark's Redis: ``url`` when one is given, else a database of the machine's
    Redis claimed for the run (:func:`claim_redis_db`, flushed before and after), so a
    benchmark never flushes a database a test session holds."""
    if url:
        yield url
        return
    with holding(claim_redis_db()) as claim:
        yield claim.url


def pg_url(dbname: str, schema: str | None = None) -> str:
    """The ``DATABASE_URL`` of ``dbname`` on the test PostgreSQL; with ``schema``, its
    connections see only that schema (``?options=-c search_path=...``, which workers
    given the URL keep too)."""
    url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"
    return f"{url}?options=-c%20search_path%3D{schema}" if schema else url


# --- processes ----------------------------------------------------------------------


def process_table() -> dict[int, tuple[int, int]]:
    """Every live process: pid -> (parent pid, process group), from /proc in one pass."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name is in parentheses and may hold spaces: split after it.
            state, ppid, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if state != "Z":
            table[int(entry.name)] = (int(ppid), int(pgrp))
    return table


def children_of(pid: int, table: dict[int, tuple[int, int]] | None = None) -> dict[int, int]:
    """Live child processes of ``pid`` mapped to their process groups.

    An RQ worker has two kinds: its work horse, which calls ``setpgrp`` (so it leads
    its own group and survives its worker's death), and, with ``--with-scheduler``,
    the scheduler process.
    """
    table = process_table() if table is None else table
    return {child: group for child, (parent, group) in table.items() if parent == pid}


def horses_of(pid: int) -> list[int]:
    """The work horse of the worker ``pid`` (at most one): the child that leads its
    own process group."""
    return [child for child, group in children_of(pid).items() if child == group]


def kill_pid(pid: int, signum: int = signal.SIGKILL) -> None:
    """Send ``signum`` to ``pid``, which may have gone already."""
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


def kill_horses(pid: int) -> list[int]:
    """SIGKILL the work horse of the worker ``pid`` (a game in play is abandoned);
    returns the pids killed."""
    horses = horses_of(pid)
    for horse in horses:
        kill_pid(horse)
    return horses


def terminate_processes(
    processes: Iterable[subprocess.Popen[bytes]], *, grace: float = 10.0
) -> None:
    """SIGTERM every process still running, then wait up to ``grace`` seconds for each
    in turn; one still running after that is SIGKILLed (and waited for)."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


# --- rq workers ---------------------------------------------------------------------


def worker_command(
    url: str | None,
    *,
    name: str,
    burst: bool = False,
    preload: bool = True,
    max_jobs: int | None = None,
    worker_class: str | None = None,
    command: str = WORKER_COMMAND,
) -> list[str]:
    """``command`` (the recommended WORKER_COMMAND, or PLAIN_WORKER_COMMAND) with this
    environment's ``rq``, ``--url url`` and ``-n name``; ``burst`` adds ``--burst``,
    ``max_jobs`` ``--max-jobs``, ``worker_class`` a ``-w``, and ``preload=False`` drops
    its ``-c jobs.run_game``. A ``url`` of None leaves ``--url`` out: the worker reads
    ``REDIS_URL`` from its environment, as a stock ``rq worker`` does."""
    words = shlex.split(command)
    assert words[:2] == ["rq", "worker"], command
    if not preload and "-c" in words:
        at = words.index("-c")
        del words[at : at + 2]
    extra = (["--url", url] if url else []) + ["-n", name] + (["--burst"] if burst else [])
    if max_jobs:
        extra += ["--max-jobs", str(max_jobs)]
    if worker_class:
        if "-w" in words:  # the command's own class gives way
            del words[words.index("-w") : words.index("-w") + 2]
        extra += ["-w", worker_class]
    return [RQ, *words[1:], *extra]


@dataclass
class Worker:
    """One ``rq worker`` process, its name in Redis, and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def horses(self) -> list[int]:
        """The work horse (at most one): the child that leads its own process group."""
        return horses_of(self.pid)

    def children(self) -> list[int]:
        return list(children_of(self.pid))

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def registered_or_gone(self, conn: redis.Redis) -> bool:
        """Whether the worker has registered in Redis, or has already exited."""
        return bool(conn.exists(f"rq:worker:{self.name}")) or not self.alive()


def start_worker(
    url: str | None,
    *,
    name: str,
    log: Path,
    env: Mapping[str, str],
    cwd: Path,
    burst: bool = False,
    preload: bool = True,
    max_jobs: int | None = None,
    worker_class: str | None = None,
    command: str = WORKER_COMMAND,
) -> Worker:
    """:func:`worker_command` started in ``cwd`` with ``env``, its output in ``log``
    (truncated first). Returns at once: the worker may not have registered yet."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            worker_command(
                url,
                name=name,
                burst=burst,
                preload=preload,
                max_jobs=max_jobs,
                worker_class=worker_class,
                command=command,
            ),
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    return Worker(name, process, log)


def assert_workers_exit(workers: Iterable[Worker], timeout: float) -> None:
    """In a test, for burst workers: wait, ``timeout`` seconds in all, until every one
    has exited, cleanly; the test fails otherwise, showing the worker's log."""
    import pytest

    deadline = time.monotonic() + timeout
    for worker in workers:
        try:
            worker.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker {worker.name} still running after {timeout:.0f} s")
        assert worker.process.returncode == 0, worker.output()[-3000:]


# --- HTTP ---------------------------------------------------------------------------


def http_ok(url: str, *, timeout: float = 1.0) -> bool:
    """Whether a GET of ``url`` answers 200 (False for any other status or no answer)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def http_get(
    url: str, headers: Mapping[str, str] | None = None, *, timeout: float = 10.0
) -> tuple[int, bytes]:
    """A GET's status and body, whatever the status; ``(0, b"")`` when nothing answers."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header of an HTTP basic login."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
