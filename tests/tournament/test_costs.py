"""snakebench costs: per model and per batch from the recorded participants, the
filters, and the budget estimate pricing moves as the LLM player does."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import Result

from snakebench.batches import BatchSpec, create_batch_games
from snakebench.budget import INPUT_TOKENS_PER_MOVE, OUTPUT_TOKENS_PER_MOVE, price_per_game
from snakebench.costs import cost_report
from snakebench.players.factory import model_spec
from snakebench.store import batch_game_ids, complete_game, get_model, mark_running

Invoke = Callable[..., Result]
OneLineError = Callable[..., None]
PRICE_IN, PRICE_OUT = 3.0, 15.0  # the prices of the root conftest's ``priced`` model


def move_cost(tokens_in: int, tokens_out: int) -> float:
    return (tokens_in * PRICE_IN + tokens_out * PRICE_OUT) / 1e6


def finish(game_id: str, moves: int, tokens_in: int, tokens_out: int, status: str) -> float:
    """Record a game in which slot 0 (the priced model) made ``moves`` moves."""
    cost = move_cost(tokens_in, tokens_out)
    mark_running(game_id, "w")
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
    assert (pricey["games"], pricey["moves"]) == (3, 35)
    assert (pricey["input_tokens"], pricey["output_tokens"]) == (52_500, 14_000)
    assert pricey["cost"] == pytest.approx(total) == pytest.approx(move_cost(52_500, 14_000))
    assert pricey["cost_per_game"] == pytest.approx(total / 3)
    assert pricey["cost_per_move"] == pytest.approx(total / 35)
    assert rows["random"]["games"] == 4 and rows["random"]["cost"] == 0.0
    assert rows["greedy"]["cost_per_move"] == 0.0
    assert report["total_cost"] == pytest.approx(total)


def test_per_batch_costs_and_the_batch_counter_agree(played: dict[str, Any]) -> None:
    batches = {row["batch_id"]: row for row in cost_report()["batches"]}
    llm = batches[played["llm"]]
    assert llm["games"] == 3  # the queued game has no result yet
    assert llm["cost"] == pytest.approx(sum(played["costs"])) == pytest.approx(llm["spent"])
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


def test_the_budget_estimate_prices_a_move_as_the_llm_player_does(priced: str) -> None:
    model = get_model(priced)
    per_move = model_spec(model).cost(INPUT_TOKENS_PER_MOVE, OUTPUT_TOKENS_PER_MOVE)
    assert per_move == pytest.approx(move_cost(INPUT_TOKENS_PER_MOVE, OUTPUT_TOKENS_PER_MOVE))
    assert price_per_game(model, 50) == pytest.approx(50 * per_move)


def test_a_tournament_over_budget_is_refused(cli: Invoke, priced: str) -> None:
    result = cli("tournament", priced, "greedy", "random", "-k", "2", "--max-cost", "0.01",
                 "--sync")  # fmt: skip
    assert result.exit_code == 2 and "exceeds --max-cost" in result.output
