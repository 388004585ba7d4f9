"""Finding, inspecting and stopping a local stack from any shell, through its folder.

One stack per folder: its owner holds an exclusive ``flock`` on ``stack.lock`` for as
long as it lives. The kernel drops that lock when the owner dies, however it dies
(even SIGKILL), so "lock free but ``stack.json`` present" reliably means an owner
that died without stopping its children: those are leftovers, safe to stop.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path
from typing import Any

import redis

from snakebench.localstack.errors import LocalStackError
from snakebench.localstack.processes import POLL, stop_processes
from snakebench.localstack.redis_server import answers_ping
from snakebench.localstack.state import StackState, load_state, remove_state
from snakebench.queueing.status import live_worker_count, queue_depths

LOCK_FILE = "stack.lock"
SOCKET_FILE = "redis.sock"
REDIS_STOP_GRACE = 5.0  # seconds Redis gets to exit on SIGTERM (it saves nothing)


def acquire_lock(root: Path) -> int:
    """Take the folder's lock (a file descriptor to keep open), or explain who has it."""
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        state = load_state(root)
        who = f" (pid {state.owner.pid}, REDIS_URL={state.redis_url})" if state else ""
        raise LocalStackError(
            f"a local stack is already running in {root}{who}: "
            "use it, or stop it with snakebench local down"
        ) from None
    return fd


def release_lock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def lock_is_held(root: Path) -> bool:
    """Whether a live owner holds the folder's lock (checked by trying to take it)."""
    if not (root / LOCK_FILE).exists():
        return False
    try:
        fd = acquire_lock(root)
    except LocalStackError:
        return True
    release_lock(fd)
    return False


def stop_leftovers(root: Path, *, grace: float) -> StackState | None:
    """Stop what a dead owner left running under ``root`` and forget it; returns the
    state that was stopped (None: nothing was recorded). Call with the lock held."""
    state = load_state(root)
    if state is not None:
        stop_processes(state.clients(), grace=grace)
        stop_processes([state.redis], grace=REDIS_STOP_GRACE)
        remove_state(root)
    (root / SOCKET_FILE).unlink(missing_ok=True)
    return state


def stop_stack(root: Path, *, grace: float) -> StackState | None:
    """``local down``: stop the stack recorded under ``root``, wherever it was started.

    A live owner (``local up`` in another terminal) is asked to stop with SIGTERM, so
    it stops its children in order and cleans up itself; if it is gone, or does not
    finish in time, its children are stopped from here. Returns the stopped stack's
    state, or None when no stack was recorded there.
    """
    state = load_state(root)
    if state is None:
        return None
    if state.owner.alive() and state.owner.pid != os.getpid():
        os.kill(state.owner.pid, signal.SIGTERM)
        _wait_released(root, timeout=grace + REDIS_STOP_GRACE + 5)
    try:
        fd = acquire_lock(root)
    except LocalStackError:
        raise LocalStackError(
            f"the local stack in {root} (pid {state.owner.pid}) did not stop; "
            f"try again, or kill -9 {state.owner.pid} then snakebench local down"
        ) from None
    try:
        stop_leftovers(root, grace=grace)
    finally:
        release_lock(fd)
    return state


def _wait_released(root: Path, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while lock_is_held(root) and time.monotonic() < deadline:
        time.sleep(POLL)


def running_stack(root: Path) -> StackState | None:
    """The state of a stack that is up under ``root`` (owner alive, Redis answering),
    e.g. for ``dispatch --local`` to use instead of starting a second one."""
    state = load_state(root)
    if state is None or not state.owner.alive() or not answers_ping(state.redis_url):
        return None
    return state


def stack_status(root: Path) -> dict[str, Any]:
    """``local status`` as data: whether the stack is up, each process alive or not,
    plus, when Redis answers, live RQ workers and per-queue queued / started / failed."""
    state = load_state(root)
    if state is None:
        return {"root": str(root), "running": False, "recorded": False}
    processes = [
        {"role": r.role, "pid": r.pid, "alive": r.alive()} for r in [state.owner, *state.children()]
    ]
    report: dict[str, Any] = {
        "root": state.root,
        "recorded": True,
        # Usable: its owner (which stops it all) and Redis are there; a dead worker
        # shows in "processes" (and lowers "complete") but does not make it unusable.
        "running": state.owner.alive() and state.redis.alive(),
        "complete": all(p["alive"] for p in processes),
        "redis_url": state.redis_url,
        "started_at": state.started_at,
        "dashboard_url": state.dashboard_url,
        "processes": processes,
    }
    if state.redis.alive() and answers_ping(state.redis_url):
        report.update(queue_report(state.redis_url))
    return report


def queue_report(url: str) -> dict[str, Any]:
    """Live RQ workers and the depth of each game queue at ``url``."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        return {"rq_workers": live_worker_count(client), "queues": queue_depths(client)}
    finally:
        client.close()
