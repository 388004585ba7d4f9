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
- :func:`flushed_redis`: a Redis database flushed before and after use and held
  alone meanwhile, under a file lock (:func:`redis_for_test`: the same for a test, which
  is skipped without a Redis, see :func:`unavailable`);
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
import fcntl
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

import redis

from snakebench.queueing import WORKER_COMMAND, QueueError, connect_redis

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


def lock_name(prefix: str, url: str) -> str:
    """A lock file name for the Redis database ``url``, unique per ``prefix``."""
    return f"{prefix}-{url.replace('/', '_')}.lock"


@contextmanager
def flushed_redis(
    url: str, lock: str, *, connect: Callable[[str], redis.Redis]
) -> Iterator[redis.Redis]:
    """The Redis database ``url`` (a client from ``connect(url)``), empty on entry and
    flushed again on exit, and the caller's alone meanwhile: an exclusive lock on the
    file ``lock`` in the temporary folder keeps another process that takes the same
    lock (an xdist worker, a second checkout) from flushing it under this one's
    workers. Whatever ``connect`` raises comes out of the ``with``."""
    with (Path(tempfile.gettempdir()) / lock).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        conn = connect(url)
        conn.flushdb()
        try:
            yield conn
        finally:
            try:
                conn.flushdb()
            finally:
                conn.close()


@contextmanager
def redis_for_test(url: str, lock_prefix: str) -> Iterator[redis.Redis]:
    """:func:`flushed_redis` for a test, locked by ``lock_prefix`` and ``url``: the
    test is :func:`unavailable` when Redis does not answer."""

    def connect(url: str) -> redis.Redis:
        try:
            return connect_redis(url, timeout=2.0)
        except QueueError as exc:
            unavailable(str(exc))

    with flushed_redis(url, lock_name(lock_prefix, url), connect=connect) as conn:
        yield conn


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
    url: str,
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
    its ``-c jobs.run_game``."""
    words = shlex.split(command)
    assert words[:2] == ["rq", "worker"], command
    if not preload and "-c" in words:
        at = words.index("-c")
        del words[at : at + 2]
    extra = ["--url", url, "-n", name] + (["--burst"] if burst else [])
    if max_jobs:
        extra += ["--max-jobs", str(max_jobs)]
    if worker_class:
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
    url: str,
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
