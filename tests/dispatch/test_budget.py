"""max_cost: refused up front on the estimate, and held while games run (workers
cancel the games of a spent batch; the monitor cancels what is left). Also: a game
cancelled while it plays is answered quietly by run_game."""

from __future__ import annotations

import logging
from typing import Any

import fakeredis
import pytest

from jobs.run_game import run_game
from snakebench.config import Settings
from snakebench.engine import Rules
from snakebench.games import simulation
from snakebench.games.simulation import run_stored_game
from snakebench.players.prompt_variants import make_variant
from snakebench.services.batches import (
    BatchSpec,
    batch_progress,
    create_batch_games,
    enforce_budget,
    submit_batch,
)
from snakebench.services.budget import BudgetError, estimate_cost, prompt_bound
from snakebench.store import (
    Batch,
    Game,
    batch_game_ids,
    cancel_game,
    get_model,
    save_prompt_variant,
    set_model_prompt_variant,
)

# USD per million tokens: the prices of the root conftest's ``priced`` model (never
# called: these games are not played).
PRICE_IN, PRICE_OUT = 3.0, 15.0


OUTPUT_CAP = 4096  # the ``priced`` model sets no max_completion_tokens: the default cap


def per_game(rules: Rules) -> float:
    """The bound: every round a call with the largest prompt and the longest reply."""
    tokens_in = prompt_bound(rules, OUTPUT_CAP)
    return (tokens_in * PRICE_IN + OUTPUT_CAP * PRICE_OUT) / 1e6 * rules.max_rounds


def test_the_estimate_is_the_worst_case_bound_and_bots_are_free(priced: str) -> None:
    models = [get_model(priced), get_model("random")]
    rules = Rules(max_rounds=100)
    assert estimate_cost(models, 10, rules) == pytest.approx(10 * per_game(rules))
    assert estimate_cost([get_model("greedy"), get_model("random")], 1000, rules) == 0.0


def test_the_estimate_bounds_the_prompts_of_each_models_variant(priced: str) -> None:
    """A longer template costs more per call, a shorter one less: the batch's variant
    for every model, else the model's own."""
    long_text = "Think hard.\n" * 1_000 + "{state}\n{answer_format}"
    save_prompt_variant("long", template=long_text, sha="x", description="")
    model, rules = get_model(priced), Rules(max_rounds=100)
    default = estimate_cost([model], 1, rules)
    assert estimate_cost([model], 1, rules, "minimal") < default
    assert estimate_cost([model], 1, rules, "long") > default
    longer = prompt_bound(rules, OUTPUT_CAP, make_variant("long", long_text))
    assert estimate_cost([model], 1, rules, "long") == pytest.approx(
        (longer * PRICE_IN + OUTPUT_CAP * PRICE_OUT) / 1e6 * rules.max_rounds
    )
    set_model_prompt_variant(model.id, "long")
    assert estimate_cost([get_model(priced)], 1, rules) > default


def test_the_bound_grows_with_the_board_and_the_output_cap() -> None:
    """A 100x100 board's prompt lists up to 10,000 cells: the probe's 5,841 input tokens
    a move there sit under the bound, as 1,500 a move (the old guess) did not."""
    assert prompt_bound(Rules(width=100, height=100), 100) > 5_841 * 10
    assert prompt_bound(Rules(), 4096) - prompt_bound(Rules(), 100) == 3996


def test_a_batch_estimated_over_budget_is_refused_unless_forced(
    priced: str, fake: fakeredis.FakeRedis
) -> None:
    spec = BatchSpec(priced, "random", count=10, max_cost=1.0)
    with pytest.raises(BudgetError, match=r"may cost up to \$.* over --max-cost \$1.00"):
        submit_batch(spec, fake)
    assert Batch.select().count() == 0 and not fake.keys()
    batch = submit_batch(spec, fake, force=True)
    assert batch.max_cost == 1.0
    assert batch.params["estimated_cost"] == pytest.approx(10 * per_game(Rules(max_rounds=100)))


def _spend(batch_id: str, cost: float) -> None:
    Batch.update(total_cost=cost).where(Batch.id == batch_id).execute()


def test_a_worker_cancels_rather_than_plays_a_game_of_a_spent_batch(store: Settings) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=2, max_cost=0.5))
    first, second = batch_game_ids(batch.id)
    assert run_stored_game(first)["status"] == "completed"  # budget not spent yet
    _spend(batch.id, 0.5)
    result = run_stored_game(second)
    assert result["status"] == "cancelled" and result["replay_path"] is None
    assert batch_progress(batch.id).cancelled == 1


def test_the_monitor_cancels_what_is_left_once_the_budget_is_spent(
    store: Settings, fake: fakeredis.FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=3, max_cost=0.2), fake)
    assert enforce_budget(batch_progress(batch.id), fake) == ""
    _spend(batch.id, 0.25)
    caplog.set_level(logging.INFO, logger="snakebench.services.batches")
    note = enforce_budget(batch_progress(batch.id), fake)
    assert "budget spent" in note and "cancelled 3 remaining games" in note
    logged = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (
        logging.INFO,
        f"batch {batch.id} spent its budget ($0.2500 of $0.2000): 3 remaining games cancelled",
    ) in logged
    assert (logging.INFO, f"batch {batch.id}: 3 games cancelled (its batch spent its budget)") in (
        logged
    )
    progress = batch_progress(batch.id)
    assert progress.cancelled == 3 and progress.finished


def test_a_game_cancelled_while_it_plays_is_not_recorded_and_run_game_answers_quietly(
    store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=1, max_rounds=20))
    (game_id,) = batch_game_ids(batch.id)
    real_play = simulation.play_game  # type: ignore[attr-defined]

    def cancelled_meanwhile(*args: Any, **kwargs: Any) -> Any:
        outcome = real_play(*args, **kwargs)
        cancel_game(game_id)  # `dispatch cancel` while the game was on the board
        return outcome

    monkeypatch.setattr(simulation, "play_game", cancelled_meanwhile)
    result = run_game(game_id)
    assert result["status"] == "cancelled" and result["replay_path"] is None
    assert Game.get_by_id(game_id).status == "cancelled"
    assert get_model("greedy").games_played == 0
    assert not list(store.replay_dir.glob("*.json"))
