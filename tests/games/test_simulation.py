"""run_simulation and run_stored_game: what is stored, and what happens when storing fails."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from snakebench.config import ConfigError, Settings
from snakebench.games import simulation
from snakebench.games.simulation import (
    GameParams,
    create_stored_game,
    run_simulation,
    run_stored_game,
)
from snakebench.store import Game, Model


def test_result_carries_the_originals_keys_and_more(settings: Settings) -> None:
    result = run_simulation("greedy", "random", GameParams(seed=7), settings=settings)
    assert {"game_id", "final_scores", "game_result"} <= set(result)
    game = Game.get_by_id(result["game_id"])
    assert result["rounds"] == game.rounds and result["status"] == "completed"
    assert Path(result["replay_path"]).is_absolute() and Path(result["replay_path"]).exists()


def test_a_completed_game_run_again_returns_its_stored_result(settings: Settings) -> None:
    first = run_simulation("greedy", "survivor", GameParams(seed=3), settings=settings)
    again = run_stored_game(first["game_id"], settings=settings)
    assert again == first
    assert Model.get(Model.name == "greedy").games_played == 1  # counted once


def test_unusable_replay_folder_is_refused_before_anything_is_written(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("")
    bad = Settings(database_url=settings.database_url, replay_dir=tmp_path / "file" / "replays")
    with pytest.raises(ConfigError, match=r"SNAKEBENCH_REPLAY_DIR=.* cannot be used"):
        run_simulation("greedy", "random", GameParams(seed=1), settings=bad)
    assert Game.select().count() == 0


def test_a_replay_that_cannot_be_written_fails_the_game_instead_of_leaving_it_running(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: Any, document: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(simulation, "write_replay", disk_full)
    game = create_stored_game("greedy", "random", GameParams(seed=2), settings=settings)
    result = run_stored_game(game.id, settings=settings)
    stored = Game.get_by_id(game.id)
    assert result["status"] == stored.status == "failed"
    assert "No space left on device" in stored.error and stored.replay_path is None
    assert Model.get(Model.name == "greedy").games_played == 0


def test_an_interrupted_game_is_cancelled_not_left_running(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(simulation, "play_game", interrupted)
    game = create_stored_game("greedy", "random", GameParams(seed=2), settings=settings)
    with pytest.raises(KeyboardInterrupt):
        run_stored_game(game.id, settings=settings)
    assert Game.get_by_id(game.id).status == "cancelled"


def test_a_run_that_loses_the_race_to_record_leaves_the_winners_replay_alone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs of one game (a re-delivered job): the one that commits second must not
    touch the replay of the one that committed first, nor leave files behind."""
    from snakebench.store import GameStateError

    game = create_stored_game("greedy", "random", GameParams(seed=4), settings=settings)
    winner = run_stored_game(game.id, settings=settings)
    replay = Path(winner["replay_path"])
    before = replay.read_bytes()
    real_play = simulation.play_game

    def play_while_the_other_run_commits(*args: Any, **kwargs: Any) -> Any:
        outcome = real_play(*args, **kwargs)
        Game.update(status="completed").where(Game.id == game.id).execute()
        return outcome

    Game.update(status="running").where(Game.id == game.id).execute()
    monkeypatch.setattr(simulation, "play_game", play_while_the_other_run_commits)
    with pytest.raises(GameStateError):
        run_stored_game(game.id, settings=settings)
    assert replay.read_bytes() == before
    assert sorted(p.name for p in replay.parent.iterdir()) == [replay.name]
