"""The pure rules of Snake: state in, state out; no I/O, no clock, no global random."""

from snakebench.engine.board import render_board
from snakebench.engine.rules import (
    DELTAS,
    DIRECTIONS,
    Cell,
    Direction,
    DoubleDeath,
    Result,
    Rules,
    RulesError,
)
from snakebench.engine.state import Death, GameState, new_game, start_state
from snakebench.engine.step import (
    GameOverError,
    SeededSpawner,
    Spawner,
    by_score,
    deaths_in_round,
    forfeit,
    mix64,
    step,
)

__all__ = [
    "DELTAS",
    "DIRECTIONS",
    "Cell",
    "Death",
    "Direction",
    "DoubleDeath",
    "GameOverError",
    "GameState",
    "Result",
    "Rules",
    "RulesError",
    "SeededSpawner",
    "Spawner",
    "by_score",
    "deaths_in_round",
    "forfeit",
    "mix64",
    "new_game",
    "render_board",
    "start_state",
    "step",
]
