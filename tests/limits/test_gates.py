"""Request limits against the machine's real Redis (and in one process without it):
caps hold across threads and gates, waits are measured, dead requests' slots come
back, and a limit that cannot be kept ends the move as nobody's play."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from snakebench.games.request_limits import Limit, LocalGate, RedisGate, usage
from snakebench.players.base import InfrastructureError, Permit, RequestGate

PROVIDER = Limit("provider", "fakeprov", concurrency=2, rpm=None)


def redis_gate(connection: redis.Redis, *limits: Limit, **kwargs: float) -> RedisGate:
    options = {"lease": 30.0, "max_wait": 10.0, **kwargs}
    return RedisGate(connection, list(limits), **options)


def peak_in_flight(gates: list[RequestGate], requests: int, hold: float) -> int:
    """Run ``requests`` threads, each through the next gate, holding its slot ``hold``
    seconds; the most that were ever inside at once."""
    inside, peak = 0, 0
    lock = threading.Lock()

    def request(gate: RequestGate) -> None:
        nonlocal inside, peak
        permit = gate.acquire()
        with lock:
            inside += 1
            peak = max(peak, inside)
        time.sleep(hold)
        with lock:
            inside -= 1
        gate.release(permit)

    threads = [
        threading.Thread(target=request, args=(gates[i % len(gates)],)) for i in range(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return peak


def test_concurrency_cap_holds_across_gates(real_redis: redis.Redis) -> None:
    """Two gates (two workers' players) share one provider's two slots."""
    gates: list[RequestGate] = [redis_gate(real_redis, PROVIDER) for _ in range(2)]
    assert peak_in_flight(gates, requests=12, hold=0.05) == 2
    assert usage(real_redis, PROVIDER)[0] == 0  # every slot given back


def test_provider_and_model_caps_both_apply(real_redis: redis.Redis) -> None:
    """A model capped below its provider is held to its own cap."""
    model = Limit("model", "tight", concurrency=1, rpm=None)
    wide = Limit("provider", "fakeprov", concurrency=5, rpm=None)
    assert peak_in_flight([redis_gate(real_redis, wide, model)], requests=6, hold=0.03) == 1


def test_per_minute_cap_makes_the_next_request_wait_for_the_window(
    real_redis: redis.Redis,
) -> None:
    gate = redis_gate(real_redis, Limit("provider", "rpm", None, rpm=2), window=1.0)
    first, second = gate.acquire(), gate.acquire()
    assert first.waited < 0.2 and second.waited < 0.2
    third = gate.acquire()  # the window (1 s + the margin) has to pass first
    assert 0.9 < third.waited < 3.0
    assert usage(real_redis, Limit("provider", "rpm", None, 2))[1] >= 1


def test_a_waiting_request_is_woken_by_a_release(real_redis: redis.Redis) -> None:
    gate = redis_gate(real_redis, Limit("provider", "one", concurrency=1, rpm=None))
    held = gate.acquire()
    threading.Timer(0.3, gate.release, args=(held,)).start()
    waited = gate.acquire()
    assert 0.25 < waited.waited < 0.9  # woken by the release, not a poll much later


def test_a_dead_requests_slot_comes_back_when_its_lease_ends(real_redis: redis.Redis) -> None:
    gate = redis_gate(real_redis, Limit("provider", "lease", concurrency=1, rpm=None), lease=0.3)
    gate.acquire()  # never released: its worker died mid-request
    assert 0.2 < gate.acquire().waited < 2.0


def test_no_slot_within_the_wait_limit_is_nobodys_play(real_redis: redis.Redis) -> None:
    gate = redis_gate(real_redis, Limit("provider", "full", 1, None), max_wait=0.3)
    gate.acquire()
    with pytest.raises(InfrastructureError, match=r"no provider slot .* within 0.3 s"):
        gate.acquire()


def test_unreachable_redis_is_nobodys_play() -> None:
    no_retries = Retry(NoBackoff(), 0)
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=no_retries)
    gate = redis_gate(down, PROVIDER)
    with pytest.raises(InfrastructureError, match="request limits cannot be checked"):
        gate.acquire()
    gate.release(Permit("x"))  # logged, not raised: the lease frees the slot


def local(*limits: Limit, max_wait: float = 10.0) -> Callable[[], LocalGate]:
    return lambda: LocalGate(list(limits), max_wait=max_wait)


def test_local_gates_share_a_limit_within_the_process() -> None:
    make = local(Limit("provider", "local-conc", concurrency=2, rpm=None))
    assert peak_in_flight([make(), make()], requests=10, hold=0.03) == 2


def test_local_gate_waits_for_the_per_minute_window() -> None:
    clock = iter([0.0, 0.0, 0.0, 0.0, 61.0, 61.0]).__next__
    gate = LocalGate([Limit("provider", "local-rpm", None, rpm=1)], max_wait=120.0, clock=clock)
    assert gate.acquire().waited == 0.0
    assert gate.acquire().waited == 61.0  # the first start left the window


def test_a_stopped_game_stops_its_waiting_moves(real_redis: redis.Redis) -> None:
    """Cancelled, timed out or superseded: a move still waiting sends nothing."""
    stopped = threading.Event()
    gate = RedisGate(real_redis, [Limit("provider", "stop", 1, None)], lease=30.0,
                     max_wait=30.0, stopped=stopped)  # fmt: skip
    gate.acquire()
    threading.Timer(0.3, stopped.set).start()
    started = time.monotonic()
    with pytest.raises(InfrastructureError, match="the game stopped while a move waited"):
        gate.acquire()
    assert time.monotonic() - started < 2.0


def test_a_stopped_game_stops_its_waiting_moves_without_redis() -> None:
    stopped = threading.Event()
    gate = LocalGate([Limit("provider", "local-stop", 1, None)], max_wait=30.0, stopped=stopped)
    gate.acquire()
    threading.Timer(0.3, stopped.set).start()
    with pytest.raises(InfrastructureError, match="the game stopped"):
        gate.acquire()


def test_a_short_lease_never_shortens_the_slots_of_longer_ones(real_redis: redis.Redis) -> None:
    """Workers with different move timeouts share a key: its expiry only grows."""
    limit = Limit("provider", "leases", concurrency=2, rpm=None)
    redis_gate(real_redis, limit, lease=90.0).acquire()  # a long request, still in flight
    redis_gate(real_redis, limit, lease=0.5).acquire()
    time.sleep(1.0)
    assert real_redis.pttl(limit.key("inflight")) > 80_000
    assert usage(real_redis, limit)[0] == 1  # the short lease ran out, the long one holds


def test_releases_wake_waiters_and_leave_no_wakes_when_nobody_waits(
    real_redis: redis.Redis,
) -> None:
    limit = Limit("provider", "wakes", concurrency=1, rpm=None)
    gate = redis_gate(real_redis, limit)
    for _ in range(20):
        gate.release(gate.acquire())
    assert real_redis.llen(limit.key("wake")) == 0


def test_a_request_held_back_per_minute_leaves_the_wakes_to_others(
    real_redis: redis.Redis,
) -> None:
    """Blocked by a per-minute cap too, a waiter sleeps: a released in-flight slot's
    wake goes to one who can use it, not to it."""
    both = redis_gate(real_redis, Limit("provider", "both", concurrency=1, rpm=1), window=5.0)
    held = both.acquire()
    both.release(held)  # in flight free, but the minute's one start is used
    answer = both._acquire(keys=both.keys, args=["t", 30, 5.0, "c", 1, "r", 1])
    assert int(answer[0]) == 0 and int(answer[2]) == 0  # no in-flight key to wait on


def test_set_limit_refuses_caps_no_provider_has() -> None:
    from snakebench.store.limit_queries import set_limit

    for bad in (0, -1, 10**12):
        with pytest.raises(ValueError, match="a whole number from 1 to 1,000,000"):
            set_limit("provider", "openai", concurrency=bad, rpm=None)
