"""The state of a game between rounds, and how a seeded game starts.

A :class:`GameState` is never changed in place: :func:`snakebench.engine.step.step`
returns a new one. States are NamedTuples because a game builds one per round and
tuple construction is the cheapest immutable record CPython has.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from snakebench.engine.rules import Cell, Result, Rules


class Death(NamedTuple):
    reason: str  # "wall" | "head_collision" | "body_collision"
    round: int  # 0-based index of the round in which the snake died


class GameState(NamedTuple):
    round: int  # rounds played so far; the next round's index
    snakes: dict[str, tuple[Cell, ...]]  # head first
    apples: tuple[Cell, ...]  # order matters: eaten ones leave, new ones are appended
    alive: dict[str, bool]
    scores: dict[str, int]
    deaths: dict[str, Death]
    results: dict[str, Result] | None = None  # set once the game is over

    @property
    def over(self) -> bool:
        return self.results is not None

    def alive_ids(self) -> list[str]:
        return [sid for sid, is_alive in self.alive.items() if is_alive]


def all_cells(rules: Rules) -> list[Cell]:
    return [(x, y) for y in range(rules.height) for x in range(rules.width)]


def start_state(
    snakes: dict[str, Sequence[Cell]], apples: Iterable[Cell], scores: dict[str, int] | None = None
) -> GameState:
    """A state before round 0 from explicit positions (replays, tests, puzzles)."""
    bodies = {sid: tuple(tuple(c) for c in body) for sid, body in snakes.items()}
    return GameState(
        round=0,
        snakes=bodies,  # type: ignore[arg-type]
        apples=tuple(tuple(a) for a in apples),  # type: ignore[misc]
        alive={sid: True for sid in bodies},
        scores=dict(scores) if scores else {sid: 0 for sid in bodies},
        deaths={},
    )


def new_game(rules: Rules, seed: int, snake_ids: Sequence[str] = ("0", "1")) -> GameState:
    """The seeded start: apples first, then each snake on a free cell, in id order.

    That is the original's set-up order, so a seed fixes the whole board.
    """
    rules.validate(len(snake_ids))
    rng = random.Random(seed)
    cells = rng.sample(all_cells(rules), rules.num_apples + len(snake_ids))
    apples = cells[: rules.num_apples]
    starts = cells[rules.num_apples :]
    return start_state({sid: [cell] for sid, cell in zip(snake_ids, starts, strict=True)}, apples)
