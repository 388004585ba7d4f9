"""Provider request limits that hold across every worker on every machine.

Real providers cap each key's requests in flight and requests per minute; past either
they answer 429, and a benchmark that keeps knocking turns those into retries, waits
and void games. So every LLM request first takes a slot under the limits stored for
its provider and its model (``snakebench limits``, :mod:`snakebench.store.limit_queries`),
and only then is sent; a request that finds no slot waits for one.

**Why per request, not RQ's ``RateLimit``.** RQ 3's ``RateLimit`` caps how many *jobs*
sharing a key run at once. A game is one job but two players, often on two providers,
and it holds a job slot for minutes while each provider is busy only while its own
player is thinking; a job-level cap of 8 would let 8 games run where 8 requests were
meant, leave the provider idle half the time, and cannot express requests per minute
at all. Capping the requests themselves uses the provider's whole allowance whatever
the line-ups, and works the same for a game between two providers.

**How, in Redis.** Per limited provider or model, two sorted sets: ``inflight`` (one
member per request being made, scored by when its lease runs out) and ``started`` (one
member per request started in the last 60 seconds, scored by its start). One Lua script
trims both, checks every limit that applies and takes a slot under all of them or none,
on Redis's own clock (``TIME``), so workers whose clocks disagree still agree on the
window. A released slot pushes a token on the limit's ``wake`` list, which one waiter
pops (``BLPOP``: first come, first served) to try again; a request blocked by the
per-minute cap sleeps until the oldest start leaves the window.

**Failures.** A worker that dies mid-request leaves its slot until its lease runs out:
the move timeout plus a margin, since the SDK gives up on the request by then. A wait
longer than ``SNAKEBENCH_LIMIT_WAIT`` ends the game void (nobody's play, and retried
like any void game); so does a Redis that cannot be reached, as for the spending caps.
Without Redis (``snakebench play``, ``dispatch --sync``) the same limits are kept
within the one process (:class:`LocalGate`).

The time a move waits is recorded beside its latency (``wait_ms`` in the replay frame,
``total_wait_ms`` per participant), never inside it, and counts against no timeout.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import redis

from snakebench.config import Settings
from snakebench.players.base import InfrastructureError, Permit, Player
from snakebench.players.llm import LLMPlayer
from snakebench.store import Model, Participant
from snakebench.store.limit_queries import LimitRow, limits_for

log = logging.getLogger(__name__)

KEY_PREFIX = "snakebench:limits:"
WINDOW_SECONDS = 60.0
# Added to the window: a request is counted when its slot is granted, and reaches the
# provider a little later (its spend is booked first, on the game's thread); the
# provider's own window must not see the request of a minute ago still in it. Costs
# 1/61 of the per-minute cap.
WINDOW_MARGIN = 1.0
# A slot's lease beyond the move timeout: the SDK has given up on the request by then.
LEASE_MARGIN = 30.0
# Longest single sleep while waiting: slots freed by expired leases push no wake token.
MAX_POLL = 1.0


@dataclass(frozen=True)
class Limit:
    """One limited scope (a provider, or a model) as a request meets it."""

    scope: str
    name: str
    concurrency: int | None
    rpm: int | None

    @property
    def label(self) -> str:
        return f"{self.scope} {self.name}"

    def key(self, part: str) -> str:
        return f"{KEY_PREFIX}{self.scope}:{self.name}:{part}"


def limits_of(rows: Iterable[LimitRow]) -> dict[tuple[str, str], Limit]:
    return {
        (row.scope, row.name): Limit(row.scope, row.name, row.max_concurrency, row.max_rpm)
        for row in rows
    }


# KEYS: per limit dimension, its sorted set. ARGV: token, lease, window, then per key
# its kind ("c": in flight, "r": started per window) and its cap. Returns {1} when the
# slots are taken, else {0, wait_ms, blocker}: blocker is the index of the first full
# in-flight key when only in-flight keys block (a release there wakes the waiter), else
# 0 (a per-minute cap blocks: only time helps). A key's expiry is only ever extended:
# workers with different leases (move timeouts) share it.
ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local token, lease, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local wait, blocker, rated = 0, 0, false
for i, key in ipairs(KEYS) do
  local kind, cap = ARGV[2 + 2 * i], tonumber(ARGV[3 + 2 * i])
  if kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if redis.call('ZCARD', key) >= cap then
      if blocker == 0 then blocker = i end
      local soonest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      wait = math.max(wait, tonumber(soonest[2]) - now)
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    if redis.call('ZCARD', key) >= cap then
      rated = true
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      wait = math.max(wait, tonumber(oldest[2]) + window - now)
    end
  end
end
if wait > 0 or blocker > 0 then
  if rated then blocker = 0 end
  return {0, math.ceil(wait * 1000), blocker}
end
for i, key in ipairs(KEYS) do
  local keep
  if ARGV[2 + 2 * i] == 'c' then
    redis.call('ZADD', key, now + lease, token)
    keep = math.ceil(lease * 1000) + 1000
  else
    redis.call('ZADD', key, now, token)
    keep = math.ceil(window * 1000) + 1000
  end
  if redis.call('PTTL', key) < keep then redis.call('PEXPIRE', key, keep) end
end
return {1}
"""

# KEYS: per in-flight key, the key, its wake list and its waiter count. ARGV: token,
# the wake lists' expiry in ms. Frees the token's slots and, where someone waits, pushes
# one wake token (nobody waiting: nothing pushed, so no stale wakes pile up).
RELEASE_SCRIPT = """
for i = 1, #KEYS, 3 do
  if redis.call('ZREM', KEYS[i], ARGV[1]) == 1 then
    if tonumber(redis.call('GET', KEYS[i + 2]) or '0') > 0 then
      redis.call('LPUSH', KEYS[i + 1], 1)
      redis.call('PEXPIRE', KEYS[i + 1], ARGV[2])
    end
  end
end
return 1
"""


class RedisGate:
    """A player's gate onto the fleet-wide limits of its provider and its model."""

    def __init__(
        self,
        connection: redis.Redis,
        limits: Sequence[Limit],
        *,
        lease: float,
        max_wait: float,
        stopped: threading.Event | None = None,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = connection
        self.stopped = stopped or threading.Event()
        self.window = window
        self.max_wait = max_wait
        self.clock = clock
        self.lease = lease
        self.keys: list[str] = []
        self.caps: list[tuple[str, int]] = []
        # Per key: the wake list and waiter count of an in-flight key, else None.
        self.wakes: list[tuple[str, str] | None] = []
        for limit in limits:
            if limit.concurrency is not None:
                wake = (limit.key("wake"), limit.key("waiting"))
                self._add(limit.key("inflight"), "c", limit.concurrency, wake)
            if limit.rpm is not None:
                self._add(limit.key("started"), "r", limit.rpm, None)
        self.labels = ", ".join(limit.label for limit in limits)
        self._acquire = connection.register_script(ACQUIRE_SCRIPT)
        self._release = connection.register_script(RELEASE_SCRIPT)

    def _add(self, key: str, kind: str, cap: int, wake: tuple[str, str] | None) -> None:
        self.keys.append(key)
        self.caps.append((kind, cap))
        self.wakes.append(wake)

    def acquire(self) -> Permit:
        token = uuid.uuid4().hex
        args: list[str | int | float] = [token, self.lease, self.window + WINDOW_MARGIN]
        for kind, cap in self.caps:
            args += [kind, cap]
        started = self.clock()
        try:
            while True:
                answer = self._acquire(keys=self.keys, args=args)
                if int(answer[0]) == 1:
                    return Permit(token, self.clock() - started)
                waited = self.clock() - started
                if self.stopped.is_set():
                    raise _stopped_waiting(self.labels)
                if waited >= self.max_wait:
                    raise _waited_too_long(self.labels, self.max_wait)
                pause = min(int(answer[1]) / 1000, MAX_POLL, self.max_wait - waited)
                self._pause(int(answer[2]), max(pause, 0.001))
        except redis.RedisError as exc:
            raise InfrastructureError(f"request limits cannot be checked: {exc}") from None

    def _pause(self, blocker: int, seconds: float) -> None:
        """Until a slot of the blocking in-flight key is released (its wake list, counted
        among its waiters so releases push a wake), or ``seconds`` at most; a request a
        per-minute cap holds back just sleeps."""
        wake = self.wakes[blocker - 1] if blocker else None
        if wake is None:
            self.stopped.wait(seconds)
            return
        wake_list, waiting = wake
        self.redis.incr(waiting)
        try:
            self.redis.blpop([wake_list], timeout=seconds)
        finally:
            pipe = self.redis.pipeline(transaction=False)
            pipe.decr(waiting)
            pipe.pexpire(waiting, int(self.lease * 1000))  # a count left by the dead fades
            pipe.execute()

    def release(self, permit: Permit) -> None:
        """Free the permit's in-flight slots; each wakes one waiter, if any waits."""
        keys = [name for key, wake in zip(self.keys, self.wakes, strict=True) if wake
                for name in (key, *wake)]  # fmt: skip
        if not keys:
            return
        try:
            self._release(keys=keys, args=[permit.token, int(self.lease * 1000)])
        except redis.RedisError as exc:  # the lease frees the slot in the end
            log.warning("provider slot %s not released (%s): its lease frees it", permit.token,
                        exc)  # fmt: skip


class _LocalState:
    """One limit's requests in flight and recent starts, in this process."""

    def __init__(self) -> None:
        self.inflight = 0
        self.started: deque[float] = deque()

    def wait(self, limit: Limit, now: float) -> float:
        """Seconds until a request may start under ``limit`` (0: now); ``inf`` while
        every in-flight slot is taken (a release wakes the waiters)."""
        while self.started and self.started[0] <= now - WINDOW_SECONDS:
            self.started.popleft()
        if limit.concurrency is not None and self.inflight >= limit.concurrency:
            return math.inf
        if limit.rpm is not None and len(self.started) >= limit.rpm:
            return self.started[0] + WINDOW_SECONDS - now
        return 0.0

    def take(self, now: float) -> None:
        self.inflight += 1
        self.started.append(now)


# Every LocalGate of this process, under one condition: its lock guards the states.
_LOCAL = threading.Condition()
_LOCAL_STATES: dict[tuple[str, str], _LocalState] = {}


class LocalGate:
    """The same limits within one process, for games played without Redis. Gates of
    one limit share its state, so the two players of a game (and the games of one
    ``--sync`` run) count together."""

    def __init__(
        self,
        limits: Sequence[Limit],
        *,
        max_wait: float,
        stopped: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stopped = stopped or threading.Event()
        with _LOCAL:
            self.states = [
                (limit, _LOCAL_STATES.setdefault((limit.scope, limit.name), _LocalState()))
                for limit in limits
            ]
        self.max_wait = max_wait
        self.clock = clock
        self.labels = ", ".join(limit.label for limit in limits)

    def acquire(self) -> Permit:
        started = self.clock()
        with _LOCAL:
            while True:
                now = self.clock()
                wait = max(state.wait(limit, now) for limit, state in self.states)
                if wait <= 0:
                    for _, state in self.states:
                        state.take(now)
                    return Permit(uuid.uuid4().hex, now - started)
                if self.stopped.is_set():
                    raise _stopped_waiting(self.labels)
                if now - started >= self.max_wait:
                    raise _waited_too_long(self.labels, self.max_wait)
                _LOCAL.wait(min(wait, MAX_POLL))

    def release(self, permit: Permit) -> None:
        with _LOCAL:
            for _, state in self.states:
                state.inflight -= 1
            _LOCAL.notify_all()


def _stopped_waiting(labels: str) -> InfrastructureError:
    return InfrastructureError(f"the game stopped while a move waited for a slot ({labels})")


def _waited_too_long(labels: str, max_wait: float) -> InfrastructureError:
    return InfrastructureError(
        f"no provider slot ({labels}) within {max_wait:g} s (SNAKEBENCH_LIMIT_WAIT)"
    )


def gate_players(
    players: Mapping[str, Player],
    lineup: Sequence[Participant],
    settings: Settings,
    connection: redis.Redis | None,
    stopped: threading.Event | None = None,
) -> None:
    """Give every LLM player of a game its gate onto the limits of its provider and its
    model (one query for the whole game); players with no limit stay ungated. Once
    ``stopped`` is set (the game no longer asks for moves), a move still waiting for a
    slot gives up instead of sending a request for a game that is over."""
    llm: list[tuple[LLMPlayer, Model]] = []
    for participant in lineup:
        player = players[str(participant.slot)]
        if isinstance(player, LLMPlayer):
            llm.append((player, participant.model))
    if not llm:
        return
    stored = limits_of(
        limits_for((model.provider for _, model in llm), (model.name for _, model in llm))
    )
    for player, model in llm:
        limits = [
            stored[key]
            for key in (("provider", model.provider), ("model", model.name))
            if key in stored
        ]
        if not limits:
            continue
        if connection is None:
            player.gate = LocalGate(limits, max_wait=settings.limit_wait, stopped=stopped)
        else:
            player.gate = RedisGate(
                connection,
                limits,
                lease=settings.move_timeout + LEASE_MARGIN,
                max_wait=settings.limit_wait,
                stopped=stopped,
            )


def usage(connection: redis.Redis, limit: Limit) -> tuple[int, int]:
    """Requests of ``limit`` in flight now and started in the last minute, fleet-wide
    (expired leases and old starts not counted), for ``snakebench limits list``."""
    now_seconds, now_micros = connection.time()
    now = now_seconds + now_micros / 1e6
    pipe = connection.pipeline(transaction=False)
    pipe.zcount(limit.key("inflight"), f"({now}", "+inf")
    pipe.zcount(limit.key("started"), f"({now - WINDOW_SECONDS}", "+inf")
    inflight, started = pipe.execute()
    return int(inflight), int(started)
