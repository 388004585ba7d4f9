"""The ladder in one process (--sync) and the command's input checks."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import Result

from snakebench.config import Settings
from snakebench.games.simulation import GameParams
from snakebench.services.evaluation import advance, run_sync, start_evaluation
from snakebench.store import Batch, Evaluation, Game, Model, Participant, get_model, upsert_model

Invoke = Callable[..., Result]


def test_sync_ladder_with_bots_ends_ranked_with_n_games(store: Settings, run: Invoke) -> None:
    result = run("evaluate", "greedy", "--games", "4", "--sync", "--max-rounds", "30", "--json")
    assert result.exit_code == 0, result.output
    (facts,) = json.loads(result.stdout)["evaluations"]
    assert (facts["status"], facts["test_status"], facts["completed"]) == ("finished", "ranked", 4)
    ev = Evaluation.get_by_id(facts["evaluation_id"])
    assert (ev.status, ev.games_started) == ("finished", 4)
    games = list(Game.select().where(Game.batch == ev.batch_id))
    assert len(games) == 4 and {g.game_type for g in games} == {"evaluation"}
    assert {g.status for g in games} == {"completed"} and {g.max_rounds for g in games} == {30}
    assert get_model("greedy").test_status == "ranked"
    assert get_model("greedy").games_played == 4
    assert Batch.get_by_id(ev.batch_id).status == "finished"
    # two bots, at most two games each, sides alternating
    opponents = [p.model.name for p in Participant.select() if p.model.name != "greedy"]
    assert sorted(opponents) == ["random", "random", "survivor", "survivor"]
    slots = [p.slot for p in Participant.select().join(Game).order_by(Game.created_at)
             if p.model.name == "greedy"]  # fmt: skip
    assert slots == [0, 1, 0, 1]
    assert "evaluation" in run("evaluate", "--status").stdout


def test_every_game_option_and_the_seed_reach_the_ladders_games(
    store: Settings, run: Invoke
) -> None:
    """evaluate takes every game option, as dispatch does; game n gets seed + n."""
    result = run(
        "evaluate", "greedy", "--games", "3", "--sync", "--max-rounds", "20", "--width", "8",
        "--apple-target", "3", "--double-death", "tie", "--invalid-move-policy", "forfeit",
        "--seed", "500", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (facts,) = json.loads(result.stdout)["evaluations"]
    games = list(
        Game.select()
        .where(Game.batch == Evaluation.get_by_id(facts["evaluation_id"]).batch_id)
        .order_by(Game.created_at)
    )
    assert [g.seed for g in games] == [500, 501, 502]
    played = {(g.width, g.max_rounds, g.apple_target, g.double_death, g.invalid_move_policy)
              for g in games}  # fmt: skip
    assert played == {(8, 20, 3, "tie", "forfeit")}


def test_advance_twice_for_the_same_finished_game_creates_one_next_game(store: Settings) -> None:
    ev = start_evaluation("survivor", 3, params=GameParams(max_rounds=10))
    first = advance(ev.id)
    assert first.created is not None and advance(ev.id).created is None  # still pending
    Game.update(status="completed").where(Game.id == first.created).execute()
    steps = [advance(ev.id), advance(ev.id)]
    assert [s.created is not None for s in steps] == [True, False]
    assert Evaluation.get_by_id(ev.id).games_started == 2
    assert Game.select().where(Game.batch == ev.batch_id).count() == 2


def test_void_games_are_replaced_up_to_a_limit_then_the_evaluation_fails(
    store: Settings,
) -> None:
    ev = start_evaluation("random", 2, params=GameParams(max_rounds=10))
    created = []
    while (step := advance(ev.id)).created is not None:
        created.append(step.created)
        Game.update(status="void").where(Game.id == step.created).execute()
    assert len(created) == 4  # two games, then two replacements
    final = Evaluation.get_by_id(ev.id)
    assert final.status == "failed" and "0 of 4" in str(final.error)
    assert get_model("random").test_status == "untested"
    assert Batch.get_by_id(ev.batch_id).total_games == 4


def test_bad_input_is_one_line_and_exit_2(store: Settings, run: Invoke) -> None:
    cases = [
        (["evaluate", "nope"], "unknown model 'nope'"),
        (["evaluate", "greedy", "--games", "0"], "--games must be at least 1"),
        (["evaluate", "greedy", "random"], "use snakebench evaluate --queue"),
        (["evaluate"], "name a model"),
        (["evaluate", "greedy", "--width", "1"], "width must be at least 2, got 1"),
        (["evaluate", "greedy", "--seed", str(2**63 - 2)], "seed must be between 0 and"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_model_already_being_evaluated_is_refused(store: Settings, run: Invoke) -> None:
    upsert_model("newbie", provider="bot", model_slug="greedy")
    start_evaluation("newbie", 2)
    assert get_model("newbie").test_status == "testing"
    result = run("evaluate", "newbie", "--sync")
    assert result.exit_code == 2
    assert "already being evaluated" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert Evaluation.select().count() == 1


def test_one_ranked_model_takes_at_most_two_games_of_a_ladder(store: Settings) -> None:
    """Finding 11: with opponents tiered by test_status, one ``ranked`` model played
    every game while the bots (rated or not) were ignored."""
    upsert_model("newbie", provider="bot", model_slug="greedy")
    Model.update(test_status="ranked", games_played=5).where(Model.name == "survivor").execute()
    ev = start_evaluation("newbie", 4, params=GameParams(max_rounds=10))
    final = run_sync(ev.id)
    assert final.status == "finished"
    rows = Participant.select().join(Game).order_by(Game.created_at)
    opponents = [p.model.name for p in rows if p.model.name != "newbie"]
    assert max(opponents.count(name) for name in set(opponents)) <= 2
    assert opponents[:2] == ["survivor", "survivor"]  # the rated model first
