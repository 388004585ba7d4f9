"""A call's settlement reaches the ledger with the same player's next call (one statement
for both rows), and the last one when the game is over, however it ended: no call is
left ``reserved`` by a run that lived. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import redis

from snakebench.config import Settings
from snakebench.engine import GameState
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games.simulation import GameParams, create_stored_game, run_stored_game
from snakebench.games.spending import SpendMeter
from snakebench.players.base import CallUsage
from snakebench.players.llm import LLMPlayer
from snakebench.providers.base import Completion
from snakebench.services.costs import cost_report
from snakebench.store import (
    Game,
    Spend,
    cancel_game,
    create_batch,
    game_participants,
    ledger_total,
)
from snakebench.testing.query_log import counted_statements

from .conftest import answered


def assert_all_settled(server: FakeLLMServer) -> None:
    """Every call the provider answered is on the books, settled; none left reserved."""
    statuses = [row.status for row in Spend.select()]
    assert statuses and "reserved" not in statuses
    assert statuses.count("answered") == answered(server)


def start(settings: Settings, **params: Any) -> str:
    game = create_stored_game("fake-a", "fake-b", GameParams(seed=3, **params), settings=settings)
    return str(game.id)


def test_a_game_that_ends_settles_its_last_calls(
    any_store: Settings, llm_any: FakeLLMServer, real_redis: redis.Redis
) -> None:
    result = run_stored_game(start(any_store, max_rounds=6), settings=any_store, live=real_redis)
    assert result["status"] == "completed"
    assert_all_settled(llm_any)
    assert ledger_total() == pytest.approx(Game.get_by_id(result["game_id"]).total_cost)


def test_a_failed_game_settles_its_last_calls(
    any_store: Settings, llm_any: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply the player chokes on (our bug) after its call was settled: the game
    fails, and the call, paid for, is on the books (no Redis: the ledger's own caps)."""
    decide = LLMPlayer._decide
    calls = itertools.count(1)  # next() is atomic: the two players' threads share it

    def choke(self: LLMPlayer, *args: Any) -> Any:
        if next(calls) == 5:
            raise RuntimeError("a bug reading the reply")
        return decide(self, *args)

    monkeypatch.setattr(LLMPlayer, "_decide", choke)
    result = run_stored_game(start(any_store), settings=any_store, live=None)
    assert result["status"] == "failed" and "a bug reading the reply" in result["error"]
    assert_all_settled(llm_any)


def test_a_game_stopped_by_an_exception_settles_its_last_calls(
    any_store: Settings, llm_any: FakeLLMServer, real_redis: redis.Redis
) -> None:
    """Ctrl+C in the loop (raised by the round hook here): nothing recorded, the game
    cancelled, and still every call settled."""

    def interrupt(state: GameState, *_: Any) -> None:
        if state.round == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stored_game(start(any_store), settings=any_store, live=real_redis, on_round=interrupt)
    assert_all_settled(llm_any)


def test_a_run_refused_by_its_fence_settles_its_last_calls(
    any_store: Settings, llm_any: FakeLLMServer, real_redis: redis.Redis
) -> None:
    """The game cancelled between rounds: the next booking is refused, and the
    settlements it carried are written all the same."""
    game_id = start(any_store)

    def cancel(state: GameState, *_: Any) -> None:
        if state.round == 3:
            cancel_game(game_id)

    result = run_stored_game(game_id, settings=any_store, live=real_redis, on_round=cancel)
    assert result["status"] == "cancelled"
    assert_all_settled(llm_any)


def test_the_cost_report_adds_up_as_when_each_call_settled_on_its_own(
    any_store: Settings, llm_any: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A game played with every settlement written at once (the ledger's way before
    settlements waited for the next call) and one played as now: in both, the
    `snakebench costs` figures are the games' own, to the call, token and cent."""
    settle = SpendMeter._settle

    def at_once(self: SpendMeter, call: int, usage: CallUsage | None) -> None:
        settle(self, call, usage)
        self.flush()

    for way in ("at once", "folded"):
        with monkeypatch.context() as patch:
            if way == "at once":
                patch.setattr(SpendMeter, "_settle", at_once)
            batch = create_batch(name=way)
            game = start(any_store, max_rounds=8, batch_id=batch.id)
            assert run_stored_game(game, settings=any_store)["status"] == "completed"
        report = cost_report(batch=batch.id)
        played = {p.model.name: p for p in game_participants(game)}
        assert report["unsettled"] == 0 and report["total_cost"] > 0
        for row in report["models"]:
            own = played[row["model"]]
            assert (row["calls"], row["input_tokens"], row["output_tokens"]) == (
                own.moves, own.input_tokens, own.output_tokens,
            ), way  # fmt: skip
            assert row["cost"] == pytest.approx(own.cost) == pytest.approx(row["recorded"])


def test_a_failed_call_waits_for_the_next_call_like_an_answered_one(
    any_store: Settings, llm_any: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call that got no reply (settled with no usage, as a refused request is) is
    written ``error`` by the next call's booking: one statement a call, as for an
    answered one, and one a player for its last settlement."""
    calls = itertools.count(1)
    original = LLMPlayer._call

    def flaky(self: LLMPlayer, prompt: str) -> tuple[Completion, float]:
        if next(calls) == 2:  # a request refused before this one: nothing billed
            self.meter.settle(self.meter.reserve(0.001), None)
        return original(self, prompt)

    monkeypatch.setattr(LLMPlayer, "_call", flaky)
    game_id = start(any_store, max_rounds=4)
    with counted_statements() as counts:
        result = run_stored_game(game_id, settings=any_store)
    assert result["status"] == "completed"
    statuses = [row.status for row in Spend.select()]
    assert statuses.count("error") == 1 and "reserved" not in statuses
    assert (counts["INSERT spend"], counts["UPDATE spend"]) == (len(statuses), 2)
