"""The fan pages' reads on SQLite and PostgreSQL: site totals and the top-apples game,
a model's games with its opponents, opponents' ranks at the time of each game (from
the rating history, checked against the ratings stored after every game), and the
completed games a report ranks."""

from __future__ import annotations

from datetime import datetime, timedelta

import peewee as pw

from snakebench.services.highlights import model_games_with_ranks, ranks_at
from snakebench.services.undo import undo_game
from snakebench.store import Game, complete_game, create_game, get_model, upsert_model
from snakebench.store.highlight_queries import (
    completed_games_since,
    model_games,
    rating_timeline,
    site_totals,
)
from snakebench.store.rating_queries import rebuild_trueskill

RESULTS = {"a": ("won", "lost"), "b": ("lost", "won"), "tie": ("tied", "tied")}


def _models(*names: str) -> None:
    for name in names:
        upsert_model(name, provider="bot", model_slug="greedy")


def _play(
    a: str,
    b: str,
    outcome: str,
    scores: tuple[int, int] = (1, 1),
    *,
    status: str = "completed",
    cost: float = 0.0,
    started: datetime | None = None,
    seconds: float = 0.0,
) -> str:
    game = create_game(seed=1, players=[a, b])
    results = RESULTS[outcome] if status == "completed" else (None, None)
    complete_game(
        game.id,
        rounds=10 + scores[0],
        replay_path=None,
        total_cost=cost,
        status=status,
        participants=[
            {"slot": s, "result": results[s], "score": scores[s], "cost": cost / 2,
             "death_reason": "wall" if results[s] == "lost" else None,
             "death_round": 9 if results[s] == "lost" else None}
            for s in (0, 1)
        ],
    )  # fmt: skip
    if started is not None:
        Game.update(started_at=started, ended_at=started + timedelta(seconds=seconds)).where(
            Game.id == game.id
        ).execute()
    return game.id


def test_totals_of_an_empty_site(db: pw.Database) -> None:
    totals = site_totals()
    assert (totals.games, totals.models, totals.top_score, totals.total_cost) == (0, 0, 0, 0.0)
    assert (totals.top_game_id, totals.top_game_apples) == (None, 0)


def test_totals_count_completed_games_and_every_cost(db: pw.Database) -> None:
    _models("x", "y", "z", "idle")
    _play("x", "y", "a", (7, 3), cost=0.5)
    best_snake = _play("y", "x", "b", (2, 12), cost=0.25)
    most_apples = _play("x", "y", "a", (11, 4), cost=0.125)
    _play("z", "x", "tie", (40, 40), status="void", cost=1.0)  # decided nothing
    Game.update(replay_path="replay.json").execute()  # the top-apples match has a replay
    totals = site_totals()
    assert totals.games == 3
    assert totals.models == 2  # z played only a void game, idle none
    assert totals.top_score == 12  # one snake's best, in best_snake
    assert best_snake != most_apples
    assert (totals.top_game_id, totals.top_game_apples) == (most_apples, 15)  # both snakes
    assert totals.total_cost == 0.5 + 0.25 + 0.125 + 1.0  # void games cost money too


def test_a_models_games_from_its_side(db: pw.Database) -> None:
    _models("x", "y", "z")
    first = _play("x", "y", "a", (5, 2), cost=0.5)
    second = _play("z", "x", "a", (3, 1))
    queued = create_game(seed=3, players=["y", "x"]).id
    _play("y", "z", "tie")  # not x's
    rows = model_games(get_model("x").id, 10)
    assert [r.game_id for r in rows] == [queued, second, first]  # newest first
    newest, loss, win = rows
    assert (newest.status, newest.result, newest.slot, newest.opponent) == ("queued", None, 1, "y")
    assert (loss.opponent, loss.score, loss.opponent_score, loss.result) == ("z", 1, 3, "lost")
    assert (loss.death_reason, loss.death_round) == ("wall", 9)
    assert (win.opponent, win.slot, win.result, win.cost, win.rounds) == ("y", 0, "won", 0.25, 15)
    assert win.opponent_id == get_model("y").id
    assert [r.game_id for r in model_games(get_model("x").id, 2)] == [queued, second]


def _ratings_now() -> dict[str, float]:
    """Every model that has played a rated game, with its stored conservative rating."""
    played = {name for name in "wxyz" if get_model(name).rating_changes.count()}
    return {
        name: get_model(name).trueskill_mu - 3 * get_model(name).trueskill_sigma for name in played
    }


def test_opponent_rank_is_its_place_just_before_the_game(db: pw.Database) -> None:
    _models("w", "x", "y", "z")
    schedule = [("x", "y", "a"), ("y", "z", "a"), ("w", "x", "b"), ("z", "x", "a"),
                ("w", "y", "tie"), ("x", "z", "a"), ("y", "x", "b")]  # fmt: skip
    expected: dict[str, int] = {}
    for a, b, outcome in schedule:
        before = _ratings_now()  # the leaderboard as it stood before this game
        opponent = before.get(b, 0.0)
        rank = 1 + sum(1 for name, r in before.items() if name != b and r > opponent)
        expected[_play(a, b, outcome)] = rank
    wanted = {gid: get_model(schedule[i][1]).id for i, gid in enumerate(expected)}
    assert ranks_at(wanted) == expected
    assert rebuild_trueskill().max_difference == 0
    assert ranks_at(wanted) == expected  # the rebuilt history gives the same ranks
    assert ranks_at({}) == {}
    # x's games: the first game against y, y was nobody yet
    by_game = {g.game.game_id: g.opponent_rank for g in model_games_with_ranks("x", 20)}
    first = next(iter(expected))
    assert by_game[first] == 1


def test_unrated_games_have_no_rank(db: pw.Database) -> None:
    _models("x", "y")
    _play("x", "y", "a")
    void = _play("x", "y", "a", status="void")
    queued = create_game(seed=2, players=["x", "y"]).id
    ranks = {g.game.game_id: g.opponent_rank for g in model_games_with_ranks("x", 10)}
    assert ranks[void] is None and ranks[queued] is None
    assert len(rating_timeline()) == 2  # the one rated game, one change per model


def test_report_games_since_a_date(db: pw.Database) -> None:
    _models("x", "y")
    day = datetime(2026, 11, 1, 12, 0)
    old = _play("x", "y", "a", (4, 1), started=day, seconds=30)
    new = _play("y", "x", "tie", (2, 2), started=day + timedelta(days=3), seconds=90.5)
    _play("x", "y", "a", status="void", started=day + timedelta(days=4))
    everything = completed_games_since(None)
    assert [g.game_id for g in everything] == [old, new]  # oldest first, completed only
    recent = completed_games_since(day + timedelta(days=1))
    assert [g.game_id for g in recent] == [new]
    game = recent[0]
    assert [(p.slot, p.model, p.score, p.result) for p in game.players] == [
        (0, "y", 2, "tied"),
        (1, "x", 2, "tied"),
    ]
    assert game.ended_at is not None and game.started_at is not None
    assert (game.ended_at - game.started_at).total_seconds() == 90.5


def test_an_undone_game_leaves_the_totals_and_the_report(db: pw.Database) -> None:
    _models("x", "y")
    day = datetime(2026, 11, 1, 12, 0)
    kept = _play("x", "y", "a", (4, 1), started=day, seconds=30)
    undone = _play("y", "x", "b", (2, 30), started=day, seconds=60)
    undo_game(undone, reason="replayed by mistake", actor="ops")
    totals = site_totals()
    assert (totals.games, totals.top_score) == (1, 4)  # the undone 30 counts nowhere
    assert [g.game_id for g in completed_games_since(None)] == [kept]
