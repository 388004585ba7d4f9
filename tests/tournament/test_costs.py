"""snakebench costs: money and tokens per model and per batch from the spend ledger,
games and moves from the recorded participants, the filters, and the budget estimate
as the bound the spending caps reserve."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import Result

from snakebench.engine import Rules
from snakebench.games.players import model_spec
from snakebench.services.batches import BatchSpec, create_batch_games
from snakebench.services.budget import price_per_game, prompt_bound
from snakebench.services.costs import cost_report
from snakebench.store import (
    batch_game_ids,
    complete_game,
    get_model,
    mark_running,
    open_call,
    settle_call,
)

Invoke = Callable[..., Result]
OneLineError = Callable[..., None]
PRICE_IN, PRICE_OUT = 3.0, 15.0  # the prices of the root conftest's ``priced`` model


def move_cost(tokens_in: int, tokens_out: int) -> float:
    return (tokens_in * PRICE_IN + tokens_out * PRICE_OUT) / 1e6


def pricey_call(game_id: str, batch_id: str | None, worst: float = 1.0) -> int:
    """A ledger row for one call of the priced model, reserved at ``worst``."""
    model = get_model("pricey").id
    return open_call(game_id=game_id, attempt=1, batch_id=batch_id, model_id=model,
                     day="2026-12-02", reserved=worst)  # fmt: skip


def finish(game_id: str, moves: int, tokens_in: int, tokens_out: int, status: str) -> float:
    """Record a game in which slot 0 (the priced model) made ``moves`` moves, each a
    provider call on the ledger (the first one's usage carrying the game's tokens)."""
    cost = move_cost(tokens_in, tokens_out)
    game = mark_running(game_id, "w")
    for move in range(moves if cost else 0):  # bots make no calls
        call = pricey_call(game_id, game.batch_id)
        usage = (tokens_in, tokens_out, cost) if move == 0 else (0, 0, 0.0)
        settle_call(call, status="answered", input_tokens=usage[0], output_tokens=usage[1],
                    cost=usage[2])  # fmt: skip
    rows: list[dict[str, Any]] = [
        {"slot": 0, "cost": cost, "input_tokens": tokens_in, "output_tokens": tokens_out,
         "moves": moves, "result": "won" if status == "completed" else None},
        {"slot": 1, "moves": moves, "result": "lost" if status == "completed" else None},
    ]  # fmt: skip
    complete_game(game_id, rounds=moves, replay_path=None, total_cost=cost, participants=rows,
                  status=status)  # fmt: skip
    return cost


@pytest.fixture
def played(priced: str) -> dict[str, Any]:
    """Two batches: pricey v random (2 completed games, 1 void, 1 still queued) and
    greedy v random (1 completed, free)."""
    llm = create_batch_games(BatchSpec(priced, "random", count=4, seed=1))
    ids = batch_game_ids(llm.id)
    costs = [
        finish(ids[0], 10, 15_000, 4_000, "completed"),
        finish(ids[1], 20, 30_000, 8_000, "completed"),
        finish(ids[2], 5, 7_500, 2_000, "void"),
    ]
    bots = create_batch_games(BatchSpec("greedy", "random", count=1, seed=1))
    finish(batch_game_ids(bots.id)[0], 7, 0, 0, "completed")
    return {"llm": llm.id, "bots": bots.id, "costs": costs}


def test_per_model_costs_sum_tokens_moves_and_money(played: dict[str, Any]) -> None:
    report = cost_report()
    rows = {row["model"]: row for row in report["models"]}
    pricey = rows["pricey"]
    total = sum(played["costs"])
    assert (pricey["games"], pricey["moves"], pricey["calls"]) == (3, 35, 35)
    assert (pricey["input_tokens"], pricey["output_tokens"]) == (52_500, 14_000)
    assert pricey["cost"] == pytest.approx(total) == pytest.approx(move_cost(52_500, 14_000))
    assert pricey["recorded"] == pytest.approx(total) and pricey["unsettled"] == 0.0
    assert pricey["cost_per_game"] == pytest.approx(total / 3)
    assert pricey["cost_per_call"] == pytest.approx(total / 35)
    assert rows["random"]["games"] == 4 and rows["random"]["cost"] == 0.0
    assert rows["greedy"]["cost_per_call"] is None  # a bot makes no calls
    assert report["total_cost"] == pytest.approx(total)


def test_calls_no_game_recorded_are_counted_and_unsettled_ones_at_their_worst_case(
    played: dict[str, Any],
) -> None:
    """A run overtaken or killed leaves calls but no result: the money is still spent."""
    queued = batch_game_ids(played["llm"], ["queued"])[0]
    answered = pricey_call(queued, played["llm"], worst=0.5)
    settle_call(answered, status="answered", input_tokens=10, output_tokens=10, cost=0.25)
    pricey_call(queued, played["llm"], worst=0.5)  # its run died mid-call
    report = cost_report(batch=played["llm"])
    pricey = next(row for row in report["models"] if row["model"] == "pricey")
    assert pricey["cost"] == pytest.approx(sum(played["costs"]) + 0.75)
    assert pricey["unsettled"] == pytest.approx(0.5) == report["unsettled"]
    assert pricey["cost"] - pricey["recorded"] == pytest.approx(0.75)


def test_per_batch_costs_and_the_batch_counter_agree(played: dict[str, Any]) -> None:
    batches = {row["batch_id"]: row for row in cost_report()["batches"]}
    llm = batches[played["llm"]]
    assert llm["games"] == 3  # the queued game has no result yet
    assert llm["cost"] == pytest.approx(sum(played["costs"])) and llm["unsettled"] == 0.0
    assert batches[played["bots"]]["cost"] == 0.0


def test_filters_narrow_both_tables(played: dict[str, Any]) -> None:
    by_batch = cost_report(batch=played["bots"][:8])
    assert {row["model"] for row in by_batch["models"]} == {"greedy", "random"}
    assert [row["batch_id"] for row in by_batch["batches"]] == [played["bots"]]
    by_model = cost_report(model="random")
    assert [row["model"] for row in by_model["models"]] == ["random"]
    assert {row["batch_id"] for row in by_model["batches"]} == {played["llm"], played["bots"]}
    assert all(row["cost"] == 0.0 for row in by_model["batches"])


def test_the_command_prints_tables_and_json(cli: Invoke, played: dict[str, Any]) -> None:
    text = cli("costs")
    assert text.exit_code == 0, text.output
    for fragment in ("per model", "per batch", "pricey", played["llm"][:8], "total: $"):
        assert fragment in text.output
    as_json = cli("costs", "--model", "pricey", "--batch", played["llm"], "--json")
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert document == json.loads(json.dumps(cost_report(played["llm"], "pricey")))
    assert [row["model"] for row in document["models"]] == ["pricey"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(("--batch", "zzz"), "unknown batch"), (("--model", "nobody"), "unknown model")],
)
def test_unknown_filters_are_one_line_and_exit_2(
    cli: Invoke, args: tuple[str, ...], fragment: str, one_line_error: OneLineError
) -> None:
    one_line_error(cli("costs", *args), fragment)


def test_the_budget_estimate_is_the_bound_the_spending_caps_reserve(priced: str) -> None:
    """Per call: the largest prompt in, the output cap out, priced as the LLM player prices
    a move; per game, every round."""
    model = get_model(priced)
    spec = model_spec(model)
    rules = Rules(max_rounds=50)
    per_call = spec.cost(prompt_bound(rules, spec.output_cap), spec.output_cap)
    assert per_call == pytest.approx(move_cost(prompt_bound(rules, 4096), 4096))
    assert price_per_game(model, rules) == pytest.approx(50 * per_call)


def test_a_tournament_over_budget_is_refused(cli: Invoke, priced: str) -> None:
    result = cli("tournament", priced, "greedy", "random", "-k", "2", "--max-cost", "0.01",
                 "--sync")  # fmt: skip
    assert result.exit_code == 2 and "over --max-cost $0.01" in result.output
