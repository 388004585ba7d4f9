"""The pieces of the prompt a model sees each turn: the rules as our engine plays them,
the board in coordinates and as a picture, and its own previous reasoning.

A prompt variant (:mod:`snakebench.players.prompt_variants`) is a template that puts
these sections together; :data:`SECTIONS` names every section a template may use, and
says what it holds (``snakebench prompts add --help`` and the README list them).

The game-state block has a fixed, line-oriented format (``Label: value`` lines
between two marker lines) so a program can read it back: the fake provider
server does, to play a bot on the board the model was shown. Every variant holds
it. Change the format only together with :mod:`snakebench.fakellm.board`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from snakebench.engine import Cell, GameState, Rules, render_board
from snakebench.players.base import Turn

STATE_BEGIN = "=== GAME STATE ==="
STATE_END = "=== END OF GAME STATE ==="
RATIONALE_LIMIT = 10_000
RATIONALE_HEAD_SHARE = 0.8


@dataclass(frozen=True)
class Section:
    """One piece a prompt template may name as ``{name}``: what it holds (for the
    help and the README) and how it is written for a turn, given the player's
    previous move and reasoning (None on its first move)."""

    help: str
    build: Callable[[Turn, str | None, str | None], str]


def cells_text(cells: tuple[Cell, ...] | list[Cell]) -> str:
    return " ".join(f"({x},{y})" for x, y in cells) if cells else "none"


def truncate_middle(text: str, limit: int = RATIONALE_LIMIT) -> str:
    """Cut an over-long rationale in the middle: its start holds the model's plan
    and its end the decision, both worth more than the middle. Bounded so a
    rambling model cannot grow its own prompts (and costs) without limit."""
    if len(text) <= limit:
        return text
    head = int(limit * RATIONALE_HEAD_SHARE)
    tail = limit - head
    cut = len(text) - limit
    return f"{text[:head]}\n[... {cut} characters truncated ...]\n{text[len(text) - tail :]}"


def _intro(turn: Turn, *_: str | None) -> str:
    enemies = len(turn.state.snakes) - 1
    other = "another snake" if enemies == 1 else f"{enemies} other snakes"
    return (
        f"You are snake {turn.snake_id} in a game of Snake against {other}, each "
        "controlled by another AI. Your goal is to win: outlive your opponents or "
        "collect more apples than them."
    )


def _coordinates(turn: Turn, *_: str | None) -> str:
    w, h = turn.rules.width, turn.rules.height
    return "\n".join(
        [
            "COORDINATES",
            f"- The board is {w} cells wide and {h} cells tall. Cells are (x,y).",
            f"- (0,0) is the bottom-left cell and ({w - 1},{h - 1}) is the top-right cell.",
            "- UP is y+1, DOWN is y-1, LEFT is x-1, RIGHT is x+1.",
        ]
    )


def _rules(turn: Turn, *_: str | None) -> str:
    rules = turn.rules
    lines = [
        "RULES",
        "- Every turn each living snake moves one cell: UP, DOWN, LEFT or RIGHT. "
        "All snakes move at the same time.",
        "- Moving onto an apple makes your snake one cell longer and scores 1 point. "
        "Eaten apples are replaced on random free cells.",
        "- A snake dies if its head leaves the board or lands on any snake's body "
        "(its own included). If two heads move onto the same cell, both snakes die.",
        "- Tails move along: the cell your own tail leaves this turn is free, so moving "
        "into it is safe. An enemy's tail cell is free only if that snake does not eat "
        "an apple this turn.",
        "- Turning straight back onto your neck (the cell behind your head) kills a snake "
        "of length 3 or more; a snake of length 2 may do it (head and tail swap).",
        "",
        "HOW THE GAME ENDS",
        *_ending(turn.state, rules),
        f"- The game also ends when a snake reaches {rules.apple_target} points, or after "
        f"{rules.max_rounds} turns. Then the higher score wins; equal scores are a draw.",
    ]
    return "\n".join(lines)


def _ending(state: GameState, rules: Rules) -> list[str]:
    if len(state.snakes) > 2:
        return [
            "- A snake that dies leaves the game; its score stays. The game goes on "
            "until at most one snake is alive.",
        ]
    both = (
        "the higher score wins and equal scores are a draw"
        if rules.double_death == "score"
        else "it is a draw, whatever the scores"
    )
    return [
        "- As soon as any snake dies the game ends at once: no move of that turn is "
        "applied and no apple is eaten.",
        "- If only one snake died, the other snake wins, whatever the scores.",
        f"- If both snakes died in the same turn, {both}.",
    ]


def _state(turn: Turn, *_: str | None) -> str:
    state, rules, me = turn.state, turn.rules, turn.snake_id
    others = [sid for sid in state.snakes if sid != me]
    scores = [f"you (snake {me}): {state.scores.get(me, 0)}"]
    scores += [f"snake {sid}: {state.scores.get(sid, 0)}" for sid in others]
    lines = [
        STATE_BEGIN,
        f"Board size: {rules.width}x{rules.height}",
        f"Turn: {state.round + 1} / {rules.max_rounds}",
        f"Apple target: {rules.apple_target}",
        f"Apples: {cells_text(state.apples)}",
        f"Scores: {'; '.join(scores)}",
        "",
        *_snake(state, me, "Your snake"),
    ]
    for sid in others:
        lines += ["", *_snake(state, sid, "Enemy snake")]
    lines += ["", _legend(state, me), render_board(state, rules), STATE_END]
    return "\n".join(lines)


def _snake(state: GameState, sid: str, title: str) -> list[str]:
    lines = [f"{title}: ID {sid}"]
    body = state.snakes[sid]
    if state.alive.get(sid, True):
        lines += [
            "  Status: alive",
            f"  Head: {cells_text(body[:1])}",
            f"  Body (head first): {cells_text(body)}",
            f"  Length: {len(body)}",
        ]
    else:
        death = state.deaths.get(sid)
        how = f" ({death.reason} in turn {death.round + 1})" if death else ""
        lines.append(f"  Status: dead{how}; no longer on the board")
    lines.append(f"  Score: {state.scores.get(sid, 0)} (apples eaten)")
    return lines


def _legend(state: GameState, me: str) -> str:
    heads = [
        f"{index} = {'you' if sid == me else f'snake {sid}'}"
        for index, sid in enumerate(state.snakes)
        if state.alive.get(sid, True)
    ]
    return (
        "Board (top row is the highest y; . empty, A apple, T body, a digit is a head: "
        f"{', '.join(heads)}):"
    )


def _previous(_: Turn, last_move: str | None, last_rationale: str | None) -> str:
    if last_move is None:
        return "YOUR PREVIOUS TURN\nThis is your first move of the game."
    lines = ["YOUR PREVIOUS TURN", f"Your previous move: {last_move}"]
    if last_rationale:
        lines += ["Your reasoning for it was:", truncate_middle(last_rationale.strip())]
    return "\n".join(lines)


DECISION_PROCESS = """\
HOW TO DECIDE
1. For each of UP, DOWN, LEFT and RIGHT, work out the cell your head would move to.
2. Drop the moves that leave the board or hit a body. Avoid cells an enemy head can \
also reach this turn: a head-on collision kills both snakes.
3. Among the safe moves, prefer ones that keep plenty of free space ahead, so you do \
not trap yourself in a dead end.
4. Then head for an apple you can reach before your opponent.
5. Staying alive comes first: if your opponent dies, you win even with fewer apples."""

ANSWER_FORMAT = """\
ANSWER FORMAT
Think it through briefly, then end your reply with one line that holds exactly one \
word: UP, DOWN, LEFT or RIGHT. That must be the final line of your reply; write \
nothing after it."""


def _rules_brief(turn: Turn, *_: str | None) -> str:
    """The rules of :func:`_rules` and the coordinates, stated tersely and without
    advice: what the ``minimal`` variant gives instead of both."""
    rules, state = turn.rules, turn.state
    if len(state.snakes) > 2:
        ending = (
            "- A dead snake leaves the board and keeps its score; play goes on until at "
            "most one snake is alive."
        )
    else:
        both = "the higher score wins" if rules.double_death == "score" else "it is a draw"
        ending = f"- A death ends the game at once: a lone survivor wins; if both died, {both}."
    return "\n".join(
        [
            "RULES",
            f"- The board is {rules.width}x{rules.height}. Cells are (x,y); (0,0) is "
            "bottom-left. UP is y+1, DOWN is y-1, LEFT is x-1, RIGHT is x+1.",
            "- Each turn every living snake moves one cell, all at the same time.",
            "- Eating an apple scores 1 point and makes the snake one cell longer.",
            "- A snake dies if its head leaves the board or enters a cell of any snake's "
            "body. A tail's cell is free unless its snake eats an apple this turn. Two "
            "heads on one cell: both die.",
            ending,
            f"- Otherwise the game ends when a snake reaches {rules.apple_target} points or "
            f"after {rules.max_rounds} turns, and the higher score wins.",
            "- Equal scores are a draw.",
        ]
    )


def _constant(text: str) -> Callable[[Turn, str | None, str | None], str]:
    return lambda *_: text


SECTIONS: dict[str, Section] = {
    "intro": Section(
        "who the model is (its snake id), that it plays other AIs, and the goal",
        _intro,
    ),
    "coordinates": Section(
        "the board's size and how (x,y) and the four moves relate", _coordinates
    ),
    "rules": Section("the full rules and how the game ends (this game's options)", _rules),
    "rules_brief": Section(
        "the same rules and the coordinates, stated tersely (the minimal variant's)", _rules_brief
    ),
    "state": Section(
        "the game state block: turn, scores, every snake, the board drawn (required)", _state
    ),
    "previous": Section(
        "the model's previous move and its reasoning (truncated), or that this is its first move",
        _previous,
    ),
    "decision_process": Section(
        "the default variant's advice on choosing a move", _constant(DECISION_PROCESS)
    ),
    "answer_format": Section(
        "how to answer: the final line holds only UP, DOWN, LEFT or RIGHT (required)",
        _constant(ANSWER_FORMAT),
    ),
    "snake_id": Section("the snake's id alone, e.g. 0", lambda turn, *_: turn.snake_id),
}
