"""snakebench tournament: a round robin in one batch, mirrored seeds, reproducible
seeds, the report's numbers, and one-line errors for bad input."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import Result

from snakebench.services.tournament import TournamentSpec, create_tournament, tournament_report
from snakebench.store import Batch, Game, Participant, batch_game_ids

Invoke = Callable[..., Result]
OneLineError = Callable[..., None]
BOTS = ("greedy", "survivor", "random")


def play(cli: Invoke, *args: str) -> dict[str, Any]:
    result = cli("tournament", *BOTS, "--max-rounds", "30", "--sync", "--json", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def line_ups(batch_id: str) -> list[tuple[int, tuple[str, ...]]]:
    """(seed, model names by slot) of each game, in creation order."""
    found = []
    for game_id in batch_game_ids(batch_id):
        game = Game.get_by_id(game_id)
        players = Participant.select().where(Participant.game == game_id).order_by(Participant.slot)
        found.append((game.seed, tuple(p.model.name for p in players)))
    return found


def test_a_three_bot_round_robin_plays_every_pair_k_times_in_one_batch(cli: Invoke) -> None:
    document = play(cli, "--games-per-pair", "3", "--seed", "5")
    batch = Batch.get_by_id(document["batch_id"])
    assert (batch.total_games, batch.completed) == (9, 9)
    assert batch.params["models"] == list(BOTS) and batch.params["games_per_pair"] == 3
    assert batch.params["tournament"] and batch.params["seed"] == 5
    types = {g.game_type for g in Game.select().where(Game.batch == batch.id)}
    assert types == {"tournament"}
    pairs = Counter(frozenset(names) for _, names in line_ups(batch.id))
    assert pairs == {frozenset(p): 3 for p in [BOTS[:2], BOTS[::2], BOTS[1:]]}
    seeds = [seed for seed, _ in line_ups(batch.id)]
    assert seeds == list(range(5, 14))  # pair p, game i: seed + 3p + i
    assert document["results"]["sides"]["games"] == 9


def test_mirror_plays_each_seed_twice_with_sides_swapped(cli: Invoke) -> None:
    document = play(cli, "--games-per-pair", "4", "--mirror", "--seed", "1")
    games = line_ups(document["batch_id"])
    assert len(games) == 12
    for (seed_a, names_a), (seed_b, names_b) in zip(games[::2], games[1::2], strict=True):
        assert seed_a == seed_b and names_a == names_b[::-1]
    assert len({seed for seed, _ in games}) == 6


def test_the_same_seed_gives_the_same_games_and_results(cli: Invoke) -> None:
    first = play(cli, "-k", "2", "--seed", "42")
    second = play(cli, "-k", "2", "--seed", "42")
    assert line_ups(first["batch_id"]) == line_ups(second["batch_id"])

    def results(batch_id: str) -> list[tuple[int, int, str | None, int]]:
        query = (
            Participant.select(Game.seed, Participant.slot, Participant.result, Participant.score)
            .join(Game)
            .where(Game.batch == batch_id)
            .order_by(Game.created_at, Participant.slot)
        )
        return [tuple(row) for row in query.tuples()]  # type: ignore[misc]

    assert results(first["batch_id"]) == results(second["batch_id"])
    assert first["results"]["standings"] == second["results"]["standings"]


def test_the_report_adds_up(cli: Invoke) -> None:
    report = play(cli, "-k", "4", "--mirror", "--seed", "3")["results"]
    sides, standings = report["sides"], report["standings"]
    assert sides["games"] == 12
    assert sides["slot0_won"] + sides["slot1_won"] + sides["tied"] == 12
    assert sides["slot0_rate"] + sides["slot1_rate"] + sides["tie_rate"] == pytest.approx(1.0)
    assert sum(row["won"] for row in standings) == sides["slot0_won"] + sides["slot1_won"]
    for row in standings:
        assert row["games"] == 8 and row["won"] + row["lost"] + row["tied"] == 8
        assert row["points"] == row["won"] + row["tied"] / 2
        against = report["pairs"][row["model"]]
        assert set(against) == set(BOTS) - {row["model"]}
        assert sum(cell["won"] for cell in against.values()) == row["won"]
        for other, cell in against.items():
            mirror = report["pairs"][other][row["model"]]
            assert (cell["won"], cell["lost"], cell["tied"]) == (
                mirror["lost"], mirror["won"], mirror["tied"]
            )  # fmt: skip
            assert sum(cell.values()) == 4


def test_the_report_command_reads_an_existing_tournament(cli: Invoke) -> None:
    batch_id = play(cli, "-k", "2", "--seed", "9")["batch_id"]
    as_json = cli("tournament-report", batch_id[:8], "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == tournament_report(batch_id)
    text = cli("tournament-report")  # the latest tournament
    assert text.exit_code == 0 and batch_id in text.output
    for heading in ("standings", "pairs", "slot 0 won", "slot 1 won", "tied"):
        assert heading in text.output


def test_a_queued_tournament_is_one_batch_of_queued_games(store: Any) -> None:
    batch = create_tournament(TournamentSpec(models=BOTS, games_per_pair=2, seed=0))
    assert (batch.total_games, batch.queued) == (6, 6)
    assert tournament_report(batch.id)["sides"] == {
        "games": 0, "slot0_won": 0, "slot1_won": 0, "tied": 0,
        "slot0_rate": None, "slot1_rate": None, "tie_rate": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("greedy",), "at least two models"),
        (("greedy", "random", "greedy"), "repeated"),
        (("greedy", "nobody"), "unknown model 'nobody'"),
        (("greedy", "random", "--games-per-pair", "0"), "at least 1"),
        (("greedy", "random", "-k", "3", "--mirror"), "must be even"),
        (("greedy", "random", "--priority", "urgent"), "priority"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cli: Invoke, args: tuple[str, ...], fragment: str, one_line_error: OneLineError
) -> None:
    one_line_error(cli("tournament", *args, "--sync"), fragment)
    assert Batch.select().count() == 0


def test_an_unknown_batch_is_one_line_and_exit_2(cli: Invoke, one_line_error: OneLineError) -> None:
    one_line_error(cli("tournament-report", "nope"), "unknown batch")
    one_line_error(cli("tournament-report"), "no tournament yet")


def test_without_mirror_sides_alternate(cli: Invoke) -> None:
    """No model keeps slot 0 through a pair's games: a slot advantage would otherwise
    favour whoever was named first."""
    result = cli("tournament", "greedy", "random", "-k", "4", "--seed", "3", "--sync", "--json")
    assert result.exit_code == 0, result.output
    batch = Batch.select().order_by(Batch.created_at.desc()).first()
    assert [names for _, names in line_ups(batch.id)] == [
        ("greedy", "random"),
        ("random", "greedy"),
        ("greedy", "random"),
        ("random", "greedy"),
    ]
