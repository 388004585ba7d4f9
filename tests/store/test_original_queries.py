"""The reads behind the original's API (snakebench.store.original_queries), on SQLite
and PostgreSQL, over real bot games and one game of each status that is not listed."""

from __future__ import annotations

import pytest

from snakebench.config import Settings
from snakebench.services.batches import BatchSpec, create_batch_games, run_batch_sync
from snakebench.store import (
    Game,
    batch_game_ids,
    cancel_game,
    create_game,
    game_participants,
    get_model,
    mark_running,
)
from snakebench.store.original_queries import (
    GAME_SORTS,
    listed_game_count,
    model_game_rows,
    model_totals,
    sorted_games,
    top_apples_game,
)


@pytest.fixture
def played(any_store: Settings) -> list[str]:
    """Four completed greedy v random games (different seeds, so different totals),
    plus a cancelled, a running and a queued game; the completed games' ids."""
    batch = create_batch_games(BatchSpec("greedy", "random", count=5, seed=11, max_rounds=40))
    assert cancel_game(batch_game_ids(batch.id, ("queued",))[0])
    run_batch_sync(batch.id, settings=any_store)
    mark_running(create_game(seed=1, players=("random", "greedy")).id, "w")
    create_game(seed=2, players=("greedy", "random"))
    completed = [g.id for g in Game.select().where(Game.status == "completed")]
    assert len(completed) == 4
    return completed


def totals(game_id: str) -> int:
    return sum(p.score for p in game_participants(game_id))


@pytest.mark.parametrize("sort_by", GAME_SORTS)
def test_sorted_games(sort_by: str, played: list[str]) -> None:
    found = sorted_games(sort_by, 10, 0)
    assert sorted(game.id for game, _ in found) == sorted(played)
    assert all(total == totals(game.id) for game, total in found)
    key = {
        "start_time": lambda pair: pair[0].started_at,
        "total_score": lambda pair: pair[1],
        "rounds": lambda pair: pair[0].rounds,
    }[sort_by]
    keys = [key(pair) for pair in found]
    assert keys == sorted(keys, reverse=True)
    assert [g.id for g, _ in sorted_games(sort_by, 2, 1)] == [g.id for g, _ in found[1:3]]


def test_an_unknown_sort_is_refused(played: list[str]) -> None:
    with pytest.raises(ValueError, match="sort_by must be one of"):
        sorted_games("apples", 10, 0)


def test_top_apples_and_count(played: list[str]) -> None:
    top = top_apples_game()
    assert top is not None
    game, total = top
    assert total == max(totals(game_id) for game_id in played) == totals(game.id)
    assert listed_game_count() == 4


def test_model_totals(played: list[str]) -> None:
    found = model_totals()
    for name in ("greedy", "random"):
        scores = [p.score for g in played for p in game_participants(g) if p.model.name == name]
        assert found[name].top_score == max(scores)
        assert found[name].total_cost == 0.0  # bots cost nothing


def test_model_game_rows(played: list[str]) -> None:
    greedy = get_model("greedy")
    rows = model_game_rows(greedy.id, 10)
    assert sorted(row.game_id for row in rows) == sorted(played)
    random_elo = get_model("random").elo_rating
    for row in rows:
        mine, theirs = sorted(
            game_participants(row.game_id), key=lambda p: p.model.name != "greedy"
        )
        assert (row.score, row.result, row.opponent_score) == (
            mine.score,
            mine.result,
            theirs.score,
        )
        assert (row.opponent, row.opponent_elo) == ("random", random_elo)
    started = [row.started_at for row in rows]
    assert started == sorted(started, reverse=True)
    assert len(model_game_rows(greedy.id, 2)) == 2
