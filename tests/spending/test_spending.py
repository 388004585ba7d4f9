"""Spending caps (issue 15): every provider call reserves its worst case before it is
made, against its batch's --max-cost, its model's daily cap and the server's daily cap,
and settles with its real cost after; the ledger holds every call; a call that does not
fit is not made and its game ends cancelled with the cap as its reason."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from snakebench.config import Settings
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games.simulation import GameParams, create_stored_game, run_stored_game
from snakebench.games.spending import NANO, Budget, RedisCounters, budgets_for, today
from snakebench.players.base import BudgetExceeded
from snakebench.providers.base import PROMPT_OVERHEAD_TOKENS, ModelSpec
from snakebench.store import (
    Game,
    Model,
    Spend,
    create_batch,
    get_model,
    ledger_total,
    open_call,
    upsert_model,
)

from .conftest import MAX_OUT, PRICE_IN, PRICE_OUT, answered


def play(settings: Settings, live: redis.Redis | None, **params: Any) -> dict[str, Any]:
    game = create_stored_game("fake-a", "fake-b", GameParams(seed=3, **params), settings=settings)
    return run_stored_game(game.id, settings=settings, live=live)


def counter(client: redis.Redis, key: str) -> float:
    return int(client.get(key) or 0) / NANO


def test_the_worst_case_is_the_prompts_bytes_plus_the_output_cap() -> None:
    spec = ModelSpec("m", "openai", "x", price_input_per_m=PRICE_IN,
                     price_output_per_m=PRICE_OUT, max_completion_tokens=MAX_OUT)  # fmt: skip
    prompt = "é" * 100  # 200 bytes: a tokenizer sees at most one token per byte
    expected = ((200 + PROMPT_OVERHEAD_TOKENS) * PRICE_IN + MAX_OUT * PRICE_OUT) / 1e6
    assert spec.worst_cost(prompt) == pytest.approx(expected)
    assert ModelSpec("m", "openai", "x").output_cap == 4096  # no cap set: the default one


def test_a_batch_cap_stops_the_game_before_the_call_that_would_pass_it(
    store: Settings, llm: FakeLLMServer, real_redis: redis.Redis
) -> None:
    batch = create_batch(max_cost=0.05)
    result = play(store, real_redis, batch_id=batch.id, max_rounds=200)
    assert result["status"] == "cancelled"
    assert f"batch {batch.id[:8]}'s --max-cost $0.05 has no room" in result["error"]
    spent = ledger_total(batch_id=batch.id)
    # Played until the room left was less than a call's worst case, never past the cap.
    assert 0 < spent <= 0.05
    # Every answered request is on the books, priced; the refused one was never sent.
    rows = list(Spend.select())
    assert sum(r.status == "answered" for r in rows) == answered(llm) > 0
    assert {r.status for r in rows} == {"answered"}
    assert all(r.cost <= r.reserved for r in rows if r.status == "answered")
    # The counter every worker checks agrees with the ledger.
    assert counter(real_redis, f"snakebench:spend:batch:{batch.id}") == pytest.approx(spent)
    game = Game.get_by_id(result["game_id"])
    assert game.rounds > 0 and game.total_cost == pytest.approx(spent)


def test_once_a_batch_cap_refuses_a_call_its_queued_games_end_unplayed(
    store: Settings, llm: FakeLLMServer, real_redis: redis.Redis
) -> None:
    """A batch's cap never gets more room: its queued games are cancelled with the
    reason at once, and their jobs, when a worker takes them, play nothing."""
    batch = create_batch(max_cost=0.02)
    games = [create_stored_game("fake-a", "fake-b", GameParams(seed=n, max_rounds=200,
             batch_id=batch.id), settings=store).id for n in range(3)]  # fmt: skip
    first = run_stored_game(games[0], settings=store, live=real_redis)
    assert first["status"] == "cancelled"
    before = answered(llm)
    for game_id in games[1:]:
        later = run_stored_game(game_id, settings=store, live=real_redis)
        assert later["status"] == "cancelled" and later["rounds"] == 0
        assert later["error"] == f"not played: {first['error']}"
    assert answered(llm) == before and ledger_total(batch_id=batch.id) <= 0.02


def test_a_models_daily_cap_and_the_servers_hold_without_redis(
    store: Settings, llm: FakeLLMServer
) -> None:
    Model.update(daily_cap=0.01).where(Model.name == "fake-b").execute()
    first = play(store, None, max_rounds=200)
    assert first["status"] == "cancelled" and "model fake-b's daily cap $0.01" in first["error"]
    assert ledger_total(model_id=get_model("fake-b").id, day=today()) <= 0.01
    Model.update(daily_cap=None).execute()
    capped = Settings(**{**store.__dict__, "daily_cap": ledger_total() + 0.01})
    second = play(capped, None, max_rounds=200)
    assert second["status"] == "cancelled" and "the server's daily cap" in second["error"]
    assert ledger_total(day=today()) <= capped.daily_cap  # type: ignore[operator]


def test_a_batch_submitted_through_the_api_carries_the_web_servers_daily_cap(
    store: Settings, llm: FakeLLMServer
) -> None:
    batch = create_batch(params={"daily_cap": 0.01})  # the worker itself has no cap set
    result = play(store, None, batch_id=batch.id, max_rounds=200)
    assert result["status"] == "cancelled" and "the server's daily cap $0.01" in result["error"]


def test_a_counter_redis_lost_is_rebuilt_from_the_ledger(
    store: Settings, llm: FakeLLMServer, real_redis: redis.Redis
) -> None:
    batch = create_batch(max_cost=0.03)
    play(store, real_redis, batch_id=batch.id, max_rounds=5)
    spent = ledger_total(batch_id=batch.id)
    real_redis.flushdb()  # Redis restarted empty: the money was still spent
    result = play(store, real_redis, batch_id=batch.id, max_rounds=200)
    assert result["status"] == "cancelled"
    assert spent < ledger_total(batch_id=batch.id) <= 0.03


def test_a_settlement_never_creates_a_counter_redis_lost(
    store: Settings, real_redis: redis.Redis
) -> None:
    """Redis emptied between a call's reservation and its settlement: the settlement's
    delta alone would start the counter below zero, below what was spent."""
    budget = Budget("snakebench:spend:lost", cap=1.0, label="the cap", scope={"day": "y"})
    counters = RedisCounters(real_redis)

    def record() -> int:
        return open_call(game_id="g", attempt=1, batch_id=None, model_id=1, day="y",
                         reserved=0.5)  # fmt: skip

    counters.reserve([budget], 0.5, record)
    real_redis.flushdb()
    counters.adjust([budget], 0.1 - 0.5)
    assert real_redis.get(budget.key) is None  # left for the next reservation to rebuild
    counters.reserve([budget], 0.4, record)  # the ledger: 0.5 reserved; 0.5 + 0.4 fits
    assert counter(real_redis, budget.key) == pytest.approx(0.9)


def test_concurrent_reservations_never_pass_a_cap(store: Settings, real_redis: redis.Redis) -> None:
    """32 threads race for the last room of one budget through real Redis: exactly as
    many reservations as fit are taken, whoever wins."""
    budget = Budget("snakebench:spend:test", cap=1.0, label="the test cap", scope={"day": "x"})
    counters = RedisCounters(real_redis)
    taken: list[int] = []
    refused: list[int] = []
    start = threading.Barrier(32)

    def reserve(n: int) -> None:
        start.wait()

        def record() -> int:
            return open_call(game_id="g", attempt=n, batch_id=None, model_id=1, day="x",
                             reserved=0.004)  # fmt: skip

        for _ in range(10):
            try:
                counters.reserve([budget], 0.004, record)
                taken.append(n)
            except BudgetExceeded:
                refused.append(n)

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 250 and len(taken) + len(refused) == 320
    assert counter(real_redis, budget.key) == pytest.approx(len(taken) * 0.004)
    assert Spend.select().count() == len(taken)  # a row for each call that may be made


def test_budgets_name_every_cap_that_applies(store: Settings) -> None:
    model = Model(id=7, name="m", daily_cap=2.0)
    batch = create_batch(max_cost=1.0, params={"daily_cap": 30.0})
    settings = Settings(daily_cap=50.0)
    caps = {b.label: b.cap for b in budgets_for(model, batch, "2026-12-02", settings)}
    assert caps == {
        f"batch {batch.id[:8]}'s --max-cost $1.00": 1.0,
        "model m's daily cap $2.00 (2026-12-02 UTC)": 2.0,
        "the server's daily cap $30.00 (2026-12-02 UTC, SNAKEBENCH_DAILY_CAP)": 30.0,
    }


def test_a_call_that_timed_out_stays_on_the_books_at_its_worst_case(
    store: Settings, real_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider may have billed a request the client gave up on; one it refused
    (a 500) billed nothing."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    quick = Settings(**{**store.__dict__, "move_timeout": 0.3, "provider_retries": 1})
    for name, faults in (("slow", {"timeout_rate": 1.0, "hang_seconds": 2.0}),
                         ("broken", {"error_rate": 1.0})):  # fmt: skip
        with FakeLLMServer(FakeOptions(**faults)) as server:  # type: ignore[arg-type]
            upsert_model(name, provider="openai", model_slug="x", base_url=f"{server.url}/v1",
                         price_input_per_m=PRICE_IN, price_output_per_m=PRICE_OUT,
                         max_completion_tokens=MAX_OUT)  # fmt: skip
            game = create_stored_game(name, "random", GameParams(seed=1), settings=quick)
            assert run_stored_game(game.id, settings=quick, live=real_redis)["status"] == "void"
    slow, broken = (get_model(name).id for name in ("slow", "broken"))
    [timed_out] = Spend.select().where(Spend.model_id == slow)
    assert timed_out.status == "reserved" and ledger_total(model_id=slow) == timed_out.reserved
    [refused] = Spend.select().where(Spend.model_id == broken)
    assert refused.status == "error" and ledger_total(model_id=broken) == 0.0


def test_a_redis_that_cannot_be_reached_voids_the_game_before_any_call(
    store: Settings, llm: FakeLLMServer
) -> None:
    """No counters, no call: the game is nobody's play, so void (and retryable)."""
    # Nothing listens there; no retries (redis-py 8 retries thrice with backoff: 3 s a command).
    unreachable = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    batch = create_batch(max_cost=1.0)
    result = play(store, unreachable, batch_id=batch.id)
    assert result["status"] == "void" and "spending caps cannot be checked" in result["error"]
    assert answered(llm) == 0 and Spend.select().count() == 0


def test_a_provider_reported_cost_above_our_prices_counts_against_the_caps(
    store: Settings, real_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model added at price 0 through OpenRouter: the provider's bill is what the
    caps count, so the batch stops once it is spent (our figure alone never would),
    passing the cap by at most the one call that showed the prices wrong."""
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-test-not-a-secret")
    with FakeLLMServer(FakeOptions(seed=2)) as fake:
        for name in ("free-a", "free-b"):
            upsert_model(name, provider="openrouter", model_slug=f"{name}/greedy",
                         base_url=f"{fake.url}/v1", max_completion_tokens=MAX_OUT)  # fmt: skip
        batch = create_batch(max_cost=0.0005)
        game = create_stored_game("free-a", "free-b",
                                  GameParams(seed=3, max_rounds=200, batch_id=batch.id),
                                  settings=store)  # fmt: skip
        result = run_stored_game(game.id, settings=store, live=real_redis)
    rows = list(Spend.select().where(Spend.status == "answered"))
    assert rows and all(r.cost == 0 and (r.provider_cost or 0) > 0 for r in rows)
    assert result["status"] == "cancelled" and "--max-cost $0.00" in result["error"]
    spent = ledger_total(batch_id=batch.id)
    assert spent == pytest.approx(sum(r.provider_cost for r in rows))
    assert spent <= 0.0005 + max(r.provider_cost for r in rows)
    assert counter(real_redis, f"snakebench:spend:batch:{batch.id}") == pytest.approx(spent)
