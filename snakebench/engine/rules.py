"""The rule parameters of one game, and the four moves.

Everything here is plain data: the engine reads it, nothing in it does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

Cell = tuple[int, int]
Result = Literal["won", "lost", "tied"]
DoubleDeath = Literal["score", "tie"]
DOUBLE_DEATH_POLICIES: tuple[DoubleDeath, ...] = ("score", "tie")

DEFAULT_APPLE_TARGET = 30


class Direction(StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    LEFT = "LEFT"
    RIGHT = "RIGHT"


# (0, 0) is the bottom-left cell, so UP increases y.
DELTAS: dict[str, Cell] = {
    Direction.UP: (0, 1),
    Direction.DOWN: (0, -1),
    Direction.LEFT: (-1, 0),
    Direction.RIGHT: (1, 0),
}
DIRECTIONS: tuple[Direction, ...] = tuple(Direction)


class RulesError(ValueError):
    """Rule parameters that cannot make a game (board too small, zero rounds...);
    ``field`` names the parameter at fault, for a caller that points at it (the API's
    422 names the request field)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """Board and end conditions. Defaults are the original's single-game defaults.
    :class:`snakebench.options.GameOptions` extends them with the per-game policies."""

    width: int = 10
    height: int = 10
    num_apples: int = 5
    max_rounds: int = 150
    apple_target: int = DEFAULT_APPLE_TARGET
    # How a round in which every snake dies is scored: "score" (higher score wins,
    # the original since mid-December 2025) or "tie" (every double death is a tie).
    double_death: DoubleDeath = "score"

    def without_apple_target(self, start_score: int = 0) -> Rules:
        """These rules with an apple target no game can reach, so a game ends only by
        rounds or deaths: the original's rule until January 2026 (``replay verify``
        infers it for its games that played on past 30 apples). Each point grows a
        snake by a cell and two snakes share the board, so a score gains at most
        ``width * height - 2`` points on ``start_score`` (the highest score at the
        start: 0 in any real game). Our own games get the same rule from
        ``--apple-target`` at ``width * height``."""
        return replace(self, apple_target=start_score + self.width * self.height)

    @classmethod
    def of(cls, source: object) -> Rules:
        """The rules held by any object with the same attribute names (dispatch
        parameters, a stored game row), so no caller lists the fields again."""
        return cls(**{name: getattr(source, name) for name in cls.__dataclass_fields__})

    def validate(self, snake_count: int = 2) -> None:
        """Raise :class:`RulesError` naming the first parameter that cannot work."""
        for name in ("width", "height"):
            if getattr(self, name) < 2:
                value = getattr(self, name)
                raise RulesError(f"board {name} must be at least 2, got {value}", name)
        if self.num_apples < 0:
            raise RulesError(
                f"num_apples must not be negative, got {self.num_apples}", "num_apples"
            )
        if self.max_rounds < 1:
            raise RulesError(f"max_rounds must be at least 1, got {self.max_rounds}", "max_rounds")
        if self.apple_target < 1:
            raise RulesError(
                f"apple_target must be at least 1, got {self.apple_target}", "apple_target"
            )
        if self.double_death not in DOUBLE_DEATH_POLICIES:
            raise RulesError(
                f"double_death must be 'score' or 'tie', got {self.double_death!r}", "double_death"
            )
        if snake_count < 2:
            raise RulesError(f"a game needs at least 2 snakes, got {snake_count}")
        cells = self.width * self.height
        if cells < self.num_apples + snake_count:
            raise RulesError(
                f"a {self.width}x{self.height} board has {cells} cells, too few for "
                f"{self.num_apples} apples and {snake_count} snakes",
                "num_apples",
            )
