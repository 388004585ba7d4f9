"""A database gone mid-game says nothing of the game (issue 19, half-partition): the
loop raises it (``not_results``) instead of recording a ``failed`` game, so the job
fails and RQ plays the game again. Before, a query timing out on a worker cut off from
PostgreSQL, or SQLite's "database is locked", failed a good game for good."""

from __future__ import annotations

import peewee as pw
import pytest

from snakebench.engine import Rules
from snakebench.games.loop import GameSetup, play_game
from snakebench.players import MoveDecision, Turn, make_bot
from snakebench.store import DATABASE_DOWN_ERRORS

SETUP = GameSetup("g", Rules(max_rounds=6), 3, {"0": "a", "1": "b"})


class RemoteBot:
    """A remote player (its moves are metered, its rounds fenced) whose move raises
    ``error`` from round ``at`` on."""

    remote = True

    def __init__(self, name: str, error: Exception | None = None, at: int = 2) -> None:
        self.name = name
        self.error = error
        self.at = at
        self.bot = make_bot("survivor", 1)

    def choose(self, turn: Turn) -> MoveDecision:
        if self.error is not None and turn.state.round >= self.at:
            raise self.error
        return self.bot.choose(turn)


def test_a_database_error_asking_whether_to_play_on_is_raised() -> None:
    rounds: list[int] = []

    def keep_playing() -> bool:
        rounds.append(1)
        if len(rounds) == 3:
            raise pw.OperationalError("could not receive data from server: timed out")
        return True

    players = {"0": RemoteBot("a"), "1": RemoteBot("b")}
    with pytest.raises(pw.OperationalError, match="timed out"):
        play_game(SETUP, players, keep_playing=keep_playing, not_results=DATABASE_DOWN_ERRORS)


def test_a_database_error_in_a_move_is_raised() -> None:
    locked = pw.OperationalError("database is locked")  # a meter's write, say
    players = {"0": RemoteBot("a"), "1": RemoteBot("b", locked)}
    with pytest.raises(pw.OperationalError, match="locked"):
        play_game(SETUP, players, not_results=DATABASE_DOWN_ERRORS)


def test_the_same_error_fails_the_game_when_the_caller_does_not_name_it() -> None:
    players = {"0": RemoteBot("a"), "1": RemoteBot("b", pw.OperationalError("locked"))}
    outcome = play_game(SETUP, players)
    assert outcome.status == "failed" and outcome.error == "OperationalError: locked"
