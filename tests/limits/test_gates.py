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
