"""One run per game, fenced (issue 15): each start of a game takes the next token, a
re-enqueue makes the running one stale, and a stale run stops before its next provider
call and records nothing; the game is played to its end by the run that holds it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from snakebench.config import Settings
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games.simulation import GameParams, create_stored_game, run_stored_game
from snakebench.store import (
    Game,
    GameStateError,
    Participant,
    Spend,
    complete_game,
    mark_running,
    run_is_current,
    supersede_runs,
    upsert_model,
)


@pytest.fixture
def llm(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeLLMServer(FakeOptions(strategy="survivor")) as server:
        upsert_model("fake", provider="openai", model_slug="fake/survivor",
                     base_url=f"{server.url}/v1")  # fmt: skip
        yield server


def requests(server: FakeLLMServer) -> int:
    return int(server.stats()["total"]["requests"])


def test_every_start_takes_the_next_token_and_only_the_current_run_records(
    settings: Settings,
) -> None:
    game = create_stored_game("greedy", "random", GameParams(seed=1), settings=settings)
    first = mark_running(game.id, "w1").attempt
    second = mark_running(game.id, "w2").attempt  # the same game started again
    assert second == first + 1
    assert not run_is_current(game.id, first) and run_is_current(game.id, second)
    done = {"rounds": 0, "replay_path": None, "total_cost": 0.0, "participants": []}
    with pytest.raises(GameStateError, match="has a newer run"):
        complete_game(game.id, status="void", attempt=first, **done)
    assert Game.get_by_id(game.id).status == "running"
    complete_game(game.id, status="void", attempt=second, **done)
    assert Game.get_by_id(game.id).status == "void"


def test_superseding_touches_only_running_games(settings: Settings) -> None:
    queued = create_stored_game("greedy", "random", GameParams(seed=1), settings=settings)
    running = create_stored_game("greedy", "random", GameParams(seed=2), settings=settings)
    token = mark_running(running.id, "w").attempt
    supersede_runs([queued.id, running.id])
    assert Game.get_by_id(queued.id).attempt == 0
    assert Game.get_by_id(running.id).attempt == token + 1


def test_an_overtaken_run_stops_before_its_next_call_and_the_new_one_counts(
    settings: Settings, llm: FakeLLMServer
) -> None:
    game = create_stored_game(
        "fake", "random", GameParams(seed=5, max_rounds=40), settings=settings
    )
    rounds_seen: list[int] = []

    def reconcile_at_round_3(state: Any, decisions: Any) -> None:
        rounds_seen.append(state.round)
        if state.round == 3:
            supersede_runs([game.id])  # what reconcile does as it enqueues the game again

    stale = run_stored_game(game.id, settings=settings, on_round=reconcile_at_round_3)
    assert rounds_seen == [1, 2, 3] and requests(llm) == 3  # one move a round, no more
    assert (
        stale["status"] == "running"
        and Participant.select()
        .where((Participant.game == game.id) & Participant.result.is_null(False))
        .count()
        == 0
    )  # nothing recorded
    assert not list(settings.replay_dir.glob("*.json*"))  # no replay, no staged file
    # ... but its spend: the three calls it made are on the ledger, under its token.
    stale_calls = Spend.select().where((Spend.game_id == game.id) & (Spend.attempt == 1))
    assert [c.status for c in stale_calls] == ["answered"] * 3
    again = run_stored_game(game.id, settings=settings)  # the new run
    assert again["status"] == "completed" and Game.get_by_id(game.id).attempt == 3
    assert len(list(settings.replay_dir.glob("snake_game_*.json"))) == 1
    # Every request the provider answered, for either run, is on the ledger.
    assert Spend.select().where(Spend.game_id == game.id).count() == requests(llm)


def test_a_bot_game_overtaken_is_played_but_not_recorded(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bots spend nothing, so nothing asks them to stop; their result is refused."""
    game = create_stored_game("greedy", "random", GameParams(seed=5), settings=settings)

    def overtaken(state: Any, decisions: Any) -> None:
        if state.round == 1:
            supersede_runs([game.id])

    with pytest.raises(GameStateError, match="has a newer run"):
        run_stored_game(game.id, settings=settings, on_round=overtaken)
    assert Game.get_by_id(game.id).status == "running"
    assert not list(settings.replay_dir.glob("*.json*"))
