"""Locks in Redis (``SET NX EX`` with a token): a batch's enqueue lock
(:func:`snakebench.queueing.recovery.batch_lock`) and a scheduled sweep's
(:func:`sweep_lock`).

A lock lives :data:`LOCK_TTL` seconds and is renewed every third of that while its
holder runs (:func:`kept`), so a long holder keeps it and one that dies without a
word (SIGKILL, a lost machine) gives it up within seconds, not minutes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis

LOCK_TTL = 15  # seconds: a holder that died frees the lock by then
SWEEP_LOCK_PREFIX = "snakebench:sweep-lock:"


@contextmanager
def kept(connection: redis.Redis, key: str, token: str) -> Iterator[None]:
    """Renew the lock ``key`` (held with ``token``) while the block runs."""
    done = threading.Event()
    renewer = threading.Thread(target=_renew, args=(connection, key, token, done), daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def _renew(connection: redis.Redis, key: str, token: str, done: threading.Event) -> None:
    """Extend the lock while it is still ours, until ``done``."""
    while not done.wait(LOCK_TTL / 3):
        with suppress(redis.RedisError), connection.pipeline() as pipe:
            pipe.watch(key)  # type: ignore[no-untyped-call]
            if pipe.get(key) != token.encode():
                return  # lost (expired and taken): nothing of ours to extend
            pipe.multi()
            pipe.expire(key, LOCK_TTL)
            pipe.execute()


def release(connection: redis.Redis, key: str, token: str, *, after: float = 0.0) -> None:
    """Delete the lock if it is still ours (it may have expired and been taken); with
    ``after`` seconds, let it expire by itself then instead."""
    with connection.pipeline() as pipe, suppress(redis.WatchError):
        pipe.watch(key)  # type: ignore[no-untyped-call]
        if pipe.get(key) == token.encode():
            pipe.multi()
            if after > 0:
                pipe.pexpire(key, max(1, int(after * 1000)))
            else:
                pipe.delete(key)
            pipe.execute()


def new_token() -> str:
    return uuid.uuid4().hex


@contextmanager
def sweep_lock(connection: redis.Redis, name: str, every: float) -> Iterator[bool]:
    """Whether this process runs the sweep ``name`` now (True), or another one is
    running it or ran it less than half its interval ``every`` ago (False: skip).

    Each ``rq cron`` process enqueues every sweep on its own interval, so two of them
    (a deploy's overlap, a second replica) would run each sweep twice: the lock lets
    one run while it is held, and keeps the next start at least ``every / 2`` seconds
    after the last, whichever cron process enqueued it."""
    key, token = f"{SWEEP_LOCK_PREFIX}{name}", new_token()
    started = time.monotonic()
    if not connection.set(key, token, nx=True, ex=LOCK_TTL):
        yield False
        return
    try:
        with kept(connection, key, token):
            yield True
    finally:
        release(connection, key, token, after=every / 2 - (time.monotonic() - started))
