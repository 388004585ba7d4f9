"""Reading the game back out of a prompt (:func:`snakebench.players.prompt.build_prompt`).

The fake provider sees only the prompt, as a real model does. Rebuilding the
board from it lets the fake play a real strategy, and proves the prompt carries
everything a player needs: if a bot can play from the text, so can a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from snakebench.engine import Cell, GameState, Rules
from snakebench.players.prompt import STATE_BEGIN, STATE_END

_CELL = re.compile(r"\((-?\d+),(-?\d+)\)")


@dataclass(frozen=True)
class PromptBoard:
    state: GameState
    rules: Rules
    snake_id: str  # the snake the prompt was written for


@dataclass
class _SnakeLines:
    alive: bool = True
    body: list[Cell] = field(default_factory=list)
    score: int = 0


@dataclass
class _Reading:
    """What the state block said so far; one method per kind of line."""

    size: tuple[int, int] | None = None
    turn: tuple[int, int] | None = None
    apple_target: int = 30
    apples: list[Cell] = field(default_factory=list)
    me: str | None = None
    snakes: dict[str, _SnakeLines] = field(default_factory=dict)
    current: _SnakeLines | None = None

    def on_size(self, m: re.Match[str]) -> None:
        self.size = (int(m[1]), int(m[2]))

    def on_turn(self, m: re.Match[str]) -> None:
        self.turn = (int(m[1]), int(m[2]))

    def on_target(self, m: re.Match[str]) -> None:
        self.apple_target = int(m[1])

    def on_apples(self, m: re.Match[str]) -> None:
        self.apples = _cells(m[1])

    def on_snake(self, m: re.Match[str]) -> None:
        self.current = self.snakes[m[2]] = _SnakeLines()
        if m[1] == "Your":
            self.me = m[2]

    def on_status(self, m: re.Match[str]) -> None:
        if self.current is not None:
            self.current.alive = m[1] == "alive"

    def on_body(self, m: re.Match[str]) -> None:
        if self.current is not None:
            self.current.body = _cells(m[1])

    def on_score(self, m: re.Match[str]) -> None:
        if self.current is not None:
            self.current.score = int(m[1])


_Handler = Callable[[_Reading, re.Match[str]], None]
# Each kind of line by its first word: a line is tried against one pattern, not all of
# them (most lines of the block, the drawn board's rows among them, match none).
_LINES: dict[str, tuple[re.Pattern[str], _Handler]] = {
    "Board": (re.compile(r"Board size: (\d+)x(\d+)$"), _Reading.on_size),
    "Turn:": (re.compile(r"Turn: (\d+) / (\d+)$"), _Reading.on_turn),
    "Apple": (re.compile(r"Apple target: (\d+)$"), _Reading.on_target),
    "Apples:": (re.compile(r"Apples: (.*)$"), _Reading.on_apples),
    "Your": (re.compile(r"(Your) snake: ID (\S+)$"), _Reading.on_snake),
    "Enemy": (re.compile(r"(Enemy) snake: ID (\S+)$"), _Reading.on_snake),
    "Status:": (re.compile(r"Status: (alive|dead)"), _Reading.on_status),
    "Body": (re.compile(r"Body \(head first\): (.*)$"), _Reading.on_body),
    "Score:": (re.compile(r"Score: (\d+)"), _Reading.on_score),
}


def read_board(prompt: str) -> PromptBoard | None:
    """The board a prompt describes, or ``None`` if it has no readable state block
    (no size, no turn, or no living snake of its own)."""
    start = prompt.find(STATE_BEGIN)
    end = prompt.find(STATE_END, start)
    if start < 0 or end < 0:
        return None
    reading = _Reading()
    for line in prompt[start + len(STATE_BEGIN) : end].splitlines():
        text = line.strip()
        kind = _LINES.get(text.split(" ", 1)[0])
        if kind is not None:
            match = kind[0].match(text)
            if match:
                kind[1](reading, match)
    return _board(reading)


def _board(reading: _Reading) -> PromptBoard | None:
    me = reading.snakes.get(reading.me or "")
    if reading.size is None or reading.turn is None or me is None or not me.body:
        return None
    width, height = reading.size
    snakes = reading.snakes
    state = GameState(
        round=max(0, reading.turn[0] - 1),
        snakes={sid: tuple(s.body) for sid, s in snakes.items()},
        apples=tuple(reading.apples),
        alive={sid: s.alive and bool(s.body) for sid, s in snakes.items()},
        scores={sid: s.score for sid, s in snakes.items()},
        deaths={},
    )
    rules = Rules(
        width=width,
        height=height,
        num_apples=len(reading.apples),
        max_rounds=reading.turn[1],
        apple_target=reading.apple_target,
    )
    return PromptBoard(state, rules, reading.me or "")


def _cells(text: str) -> list[Cell]:
    return [(int(x), int(y)) for x, y in _CELL.findall(text)]
