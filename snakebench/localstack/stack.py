"""The embedded local stack: a private Redis and RQ workers, started and stopped as one.

With it a fresh machine runs a batch with no Redis installed and nothing left behind::

    with LocalStack(workers=4) as stack:
        enqueue_games(ids, max_rounds=100, connection=connect_redis(stack.redis_url))
        ...  # wait for the games in the database

Redis listens only on a Unix socket under ``root`` (``.snakebench/`` by default);
workers are plain ``rq worker`` processes of this interpreter, so they run exactly the
jobs a remote worker would. Everything stops on leaving the ``with`` block, on an
exception, on Ctrl+C, SIGTERM or SIGHUP, and at interpreter exit; ``root/stack.json``
lets ``snakebench local status`` / ``local down`` find the stack from another shell.
"""

from __future__ import annotations

import atexit
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import redis

from snakebench.localstack import LocalStackError
from snakebench.localstack.control import (
    REDIS_STOP_GRACE,
    SOCKET_FILE,
    acquire_lock,
    release_lock,
    running_stack,
    stack_status,
    stop_leftovers,
    stop_stack,
)
from snakebench.localstack.processes import (
    ProcessRecord,
    free_port,
    last_line,
    port_open,
    spawn,
    stop_processes,
    wait_until,
)
from snakebench.localstack.redis_server import (
    answers_ping,
    check_socket_path,
    find_redis_server,
    redis_command,
)
from snakebench.localstack.state import StackState, remove_state, save_state
from snakebench.queueing import RUN_GAME, WORKER_COMMAND
from snakebench.queueing.status import registered_worker_count

__all__ = [
    "DEFAULT_ROOT",
    "LocalStack",
    "LocalStackError",
    "running_stack",
    "stack_status",
    "stop_stack",
]

DEFAULT_ROOT = Path(".snakebench")
REDIS_READY_TIMEOUT = 10.0
WORKERS_READY_TIMEOUT = 60.0  # a cold start imports a lot on a slow disk
DASHBOARD_READY_TIMEOUT = 30.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
JOB_MODULE = RUN_GAME.rpartition(".")[0]  # jobs.run_game


class LocalStack:
    """A private Redis on a Unix socket plus ``workers`` RQ worker processes
    (and, with ``dashboard``, the web app with rq-dashboard on a free local port).

    ``stop_timeout`` is how long stopping waits for workers to finish the games
    they are playing (RQ's warm shutdown) before killing them; a game cut short
    stays ``running`` in the database until ``dispatch reconcile`` re-runs it.
    """

    def __init__(
        self,
        workers: int = 2,
        dashboard: bool = False,
        root: Path = DEFAULT_ROOT,
        *,
        stop_timeout: float = 10.0,
    ) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 or more, not {workers}")
        self.workers = workers
        self.dashboard = dashboard
        self.root = Path(root).expanduser().resolve()
        self.socket = self.root / SOCKET_FILE
        self.stop_timeout = stop_timeout
        check_socket_path(self.socket)
        self._children: list[tuple[subprocess.Popen[bytes], ProcessRecord]] = []
        self._lock: int | None = None
        self._owner_pid = 0
        self._started_at = ""
        self._dashboard_url: str | None = None
        self._hurry = False
        self._handlers: dict[int, Any] = {}

    @property
    def redis_url(self) -> str:
        """``unix:///abs/path/.snakebench/redis.sock``: what REDIS_URL must be."""
        return f"unix://{self.socket}"

    @property
    def dashboard_url(self) -> str | None:
        """``http://127.0.0.1:PORT/rq`` once started with ``dashboard=True``."""
        return self._dashboard_url

    @property
    def worker_command(self) -> str:
        """The command that adds one more worker to this stack from another shell."""
        return shlex.join(["rq", *self._worker_args()])

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def running(self) -> bool:
        return self._lock is not None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start Redis, the workers and the dashboard; return once all are ready."""
        if self.running:
            raise LocalStackError(f"the local stack in {self.root} is already started")
        self.logs.mkdir(parents=True, exist_ok=True)
        self._lock = acquire_lock(self.root)
        self._owner_pid = os.getpid()
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            stop_leftovers(self.root, grace=self.stop_timeout)
            self._start_children()
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)
        self._trap_stop_signals()

    def stop(self) -> None:
        """Stop everything this stack started (idempotent; safe from atexit)."""
        if self._lock is None or os.getpid() != self._owner_pid:
            return  # not started, already stopped, or a forked child of the owner
        atexit.unregister(self.stop)
        try:
            with self._hurry_on_interrupt():
                self._stop_children()
        finally:
            self._restore_signals()
            remove_state(self.root)
            self.socket.unlink(missing_ok=True)
            release_lock(self._lock)
            self._lock = None

    def dead_children(self) -> list[ProcessRecord]:
        """The stack's processes that have exited (for a foreground loop to report)."""
        return [record for proc, record in self._children if proc.poll() is not None]

    # --- starting ---------------------------------------------------------------

    def _start_children(self) -> None:
        self._start_redis()
        # The private Redis replaces a Sentinel-managed one (REDIS_SENTINELS) too.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_SENTINEL")}
        env.update(REDIS_URL=self.redis_url, PYTHONUNBUFFERED="1")
        for number in range(1, self.workers + 1):
            self._spawn(f"worker-{number}", self._worker_argv(), env)
        if self.dashboard:
            self._start_dashboard(env)
        self._wait_for_workers()

    def _start_redis(self) -> None:
        binary = find_redis_server()
        log = self.logs / "redis.log"
        argv = redis_command(binary, self.root, self.socket, log)
        proc = self._spawn("redis", argv, dict(os.environ))
        self._wait(partial(answers_ping, self.redis_url), proc, "redis", REDIS_READY_TIMEOUT)

    def _worker_argv(self) -> list[str]:
        """``WORKER_COMMAND`` with this interpreter's ``rq`` and ``--url`` added.

        Unless the command already names a settings module, ``-c jobs.run_game`` makes
        the worker import the job module once, before it forks: each work horse then
        inherits it instead of importing the provider SDKs again (seconds of CPU per
        game). Of its names RQ reads only ``REDIS_URL``; the ``--url`` added here wins.
        """
        rq_script = Path(sys.executable).parent / "rq"
        rq = [str(rq_script)] if rq_script.is_file() else [sys.executable, "-m", "rq.cli"]
        return [*rq, *self._worker_args()]

    def _worker_args(self) -> list[str]:
        args = shlex.split(WORKER_COMMAND)[1:]  # without the leading "rq"
        if not {"-c", "--config"} & set(args):
            args += ["-c", JOB_MODULE]
        return [*args, "--url", self.redis_url]

    def _start_dashboard(self, env: dict[str, str]) -> None:
        port = free_port()
        argv = [sys.executable, "-m", "snakebench.cli.web", "--host", "127.0.0.1"]
        proc = self._spawn("dashboard", [*argv, "--port", str(port)], env)
        ready = partial(port_open, "127.0.0.1", port)
        self._wait(ready, proc, "dashboard", DASHBOARD_READY_TIMEOUT)
        self._dashboard_url = f"http://127.0.0.1:{port}/rq"
        self._save()

    def _wait_for_workers(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        procs = [p for p, r in self._children if r.role.startswith("worker-")]

        def registered() -> bool:
            return registered_worker_count(client) >= self.workers

        try:
            self._wait(registered, procs, "workers", WORKERS_READY_TIMEOUT)
        finally:
            client.close()

    def _spawn(self, role: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.logs / f"{role}.log"
        proc, record = spawn(role, argv, log=log, env=env)
        self._children.append((proc, record))
        self._save()
        return proc

    def _wait(
        self,
        ready: Callable[[], bool],
        procs: subprocess.Popen[bytes] | list[subprocess.Popen[bytes]],
        what: str,
        timeout: float,
    ) -> None:
        """Wait for ``ready``; a process exiting first or a timeout is a one-line error."""
        group = procs if isinstance(procs, list) else [procs]

        def alive() -> bool:
            return all(p.poll() is None for p in group)

        try:
            if wait_until(ready, timeout=timeout, alive=alive, what=what):
                return
        except TimeoutError as exc:
            raise LocalStackError(f"{exc}; logs in {self.logs}") from None
        dead = next(r for p, r in self._children if p in group and p.poll() is not None)
        raise LocalStackError(
            f"{dead.role} exited at start: {last_line(dead.log) or 'no output'} (log {dead.log})"
        )

    def _save(self) -> None:
        """Record the stack so far: an owner killed mid-start still leaves a trail."""
        records = [record for _, record in self._children]
        by_role = {record.role: record for record in records}
        save_state(
            self.root,
            StackState(
                root=str(self.root),
                redis_url=self.redis_url,
                socket=str(self.socket),
                started_at=self._started_at,
                owner=ProcessRecord.of("owner", self._owner_pid),
                redis=by_role["redis"],
                workers=tuple(r for r in records if r.role.startswith("worker-")),
                dashboard=by_role.get("dashboard"),
                dashboard_url=self._dashboard_url,
            ),
        )

    # --- stopping ---------------------------------------------------------------

    def _stop_children(self) -> None:
        records = [record for _, record in self._children]
        clients = [r for r in records if r.role != "redis"]
        stop_processes(clients, grace=self.stop_timeout, hurry=self._hurrying)
        stop_processes([r for r in records if r.role == "redis"], grace=REDIS_STOP_GRACE)
        for proc, _ in self._children:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)  # reap: no zombies left behind
        self._children.clear()

    @contextmanager
    def _hurry_on_interrupt(self) -> Iterator[None]:
        """While stopping, another Ctrl+C (or SIGTERM, SIGHUP) skips the wait for
        running games instead of interrupting the stop half-way and leaving strays."""
        self._hurry = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signums = (signal.SIGINT, *STOP_SIGNALS)
        previous = {signum: signal.signal(signum, self._set_hurry) for signum in signums}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _set_hurry(self, signum: int, frame: FrameType | None) -> None:
        self._hurry = True

    def _hurrying(self) -> bool:
        return self._hurry

    def _trap_stop_signals(self) -> None:
        """SIGTERM and SIGHUP would end the process without running ``__exit__`` or
        atexit; turned into SystemExit, they stop the stack like Ctrl+C does."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                self._handlers[signum] = signal.signal(signum, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def _restore_signals(self) -> None:
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)
        self._handlers.clear()
