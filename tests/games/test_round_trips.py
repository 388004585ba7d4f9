"""The SQL statements one game sends, pinned (issue 19, item 3): games of a batch,
played as a worker plays them (``jobs.run_game.run_game``), counted with peewee's query
log (:mod:`snakebench.testing.query_log`), on SQLite and PostgreSQL. At commit 15aece9
the bot game sent 31 (its row read four times, participants and models written one by
one, the batch's counters read back) and the 20-round game of a model 92 (the same,
plus a fence check each round). A change that adds a round trip fails here; one that
removes one updates the figures (and docs/PERFORMANCE.md, "Round trips per game")."""

from __future__ import annotations

from collections import Counter

import pytest

from jobs.run_game import run_game
from snakebench.config import Settings
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games.simulation import GameParams, create_stored_game
from snakebench.store import create_batch, upsert_model
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


# A model's game adds, per call (one a round here), its ledger row, booked only while
# the run holds the game (the fence: INSERT ... SELECT from the game's row), the same
# statement settling the model's previous call; and once each, the last call's
# settlement (written when the game is over) and the provider's request limits.
PER_CALL = {"INSERT spend": 1}
ONCE_PER_MODEL = {"UPDATE spend": 1, "SELECT request_limits": 1}
ROUNDS = 20


@pytest.fixture
def settings(any_database_url: str, redis_db_url: str, store_env: StoreEnv) -> Settings:
    return store_env(any_database_url, redis_db_url)


def statements_of_a_game(players: tuple[str, str]) -> Counter[str]:
    """The statements of the second of two such games (seed 1: 20 rounds) of a batch:
    the first opens the store for the process, as a worker's first game does."""
    batch = create_batch(name="round trips", total_games=2)
    params = GameParams(seed=1, max_rounds=ROUNDS, batch_id=batch.id)
    games = [str(create_stored_game(*players, params).id) for _ in range(2)]
    run_game(games[0])
    with counted_statements() as counts:
        summary = run_game(games[1])
    assert summary["status"] == "completed" and summary["rounds"] == ROUNDS
    return counts


def test_a_bot_game_sends_13_statements(settings: Settings) -> None:
    counts = statements_of_a_game(("greedy", "random"))
    assert dict(counts) == A_GAME, f"{sum(counts.values())} statements: {dict(counts)}"


def test_a_models_game_adds_one_a_call(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    with FakeLLMServer(FakeOptions(strategy="greedy")) as server:
        upsert_model("fake-greedy", provider="openai", model_slug="fake/greedy",
                     base_url=f"{server.url}/v1")  # fmt: skip
        counts = statements_of_a_game(("fake-greedy", "random"))
    expected = Counter(A_GAME) + Counter(ONCE_PER_MODEL)
    expected.update({name: n * ROUNDS for name, n in PER_CALL.items()})
    assert counts == expected, f"{sum(counts.values())} statements: {dict(counts)}"
