"""The SQL statements one game sends, pinned (issue 19, item 3): a bot game of a batch,
played as a worker plays it (``jobs.run_game.run_game``), counted with peewee's query
log (:mod:`snakebench.testing.query_log`). At commit 15aece9 the same game sent 31:
its row read four times, participants and models written one by one, the batch's
counters read back. A change that adds a round trip to every game fails here; one
that removes one updates the figure (and docs/PERFORMANCE.md, "Round trips per game")."""

from __future__ import annotations

import pytest

from jobs.run_game import run_game
from snakebench.config import Settings
from snakebench.games.simulation import GameParams, create_stored_game
from snakebench.store import create_batch
from snakebench.testing.query_log import counted_statements

from ..conftest import StoreEnv

# What a completed, rated bot game of a batch costs, statement by statement.
A_GAME = {
    "SELECT games": 1,  # the game and its batch, one join
    "SELECT participants": 1,  # the line-up and its models, one join
    "UPDATE games": 3,  # running (RETURNING the token), its end (RETURNING), rating_seq
    "UPDATE batches": 2,  # queued -> running; running -> completed (and finished)
    "INSERT participants": 1,  # both slots' results, one INSERT ... ON CONFLICT
    "SELECT models": 1,  # the two models, locked for the rating update
    "UPDATE models": 2,  # each model's counters and rating, together
    "INSERT rating_changes": 1,  # both rows
    "SELECT batches": 1,  # the batch's webhook (alerts)
}


@pytest.fixture
def settings(any_database_url: str, redis_db_url: str, store_env: StoreEnv) -> Settings:
    return store_env(any_database_url, redis_db_url)


def new_game(batch_id: str) -> str:
    params = GameParams(seed=1, max_rounds=20, batch_id=batch_id)
    return str(create_stored_game("greedy", "random", params).id)


def test_a_bot_game_sends_13_statements(settings: Settings) -> None:
    batch = create_batch(name="round trips", total_games=3)
    games = [new_game(batch.id) for _ in range(3)]
    run_game(games[0])  # the first opens the store for the process, as a worker's does
    with counted_statements() as counts:
        summary = run_game(games[1])
    assert summary["status"] == "completed" and summary["rounds"] == 20
    assert dict(counts) == A_GAME, f"{sum(counts.values())} statements: {dict(counts)}"
