"""The fake model's words: a bot's move dressed as a short LLM reply, or a reply
with no usable move when a malformed answer is injected."""

from __future__ import annotations

from snakebench.engine import DIRECTIONS
from snakebench.fakellm.board import read_board
from snakebench.fakellm.faults import Dice
from snakebench.players.base import Turn
from snakebench.players.bots import make_bot
from snakebench.players.parse import parse_move

# The final line in the formats real models use, so the whole parsing path runs.
FINAL_LINES = ("{move}", "{move}", "**{move}**", "Move: {move}", "`{move}`", "{lower}.")

# Replies without a direction as a whole word (note "hiccup": not UP).
MALFORMED_REPLIES = (
    "",
    "Let me think about where the apples are. I am not sure yet.",
    '{"error": "the model had a hiccup"}',
    "asdf qwer zxcv 1234 ####",
    "I would rather not choose a direction this turn.",
    "DOWNTOWN",
)


def move_reply(prompt: str, strategy: str, seed: int, dice: Dice) -> str:
    """A short rationale and a final line with the move ``strategy`` plays on the
    board the prompt describes; a random move when the prompt has no board."""
    board = read_board(prompt)
    try:
        if board is None:
            raise ValueError("no board in the prompt")
        decision = make_bot(strategy, seed).choose(Turn(board.snake_id, board.state, board.rules))
    except Exception:  # any prompt at all must get an answer, as from a real model
        move = dice.choice(DIRECTIONS)
        return f"I cannot make out the board, so I pick a move at random.\n\n{move}"
    x, y = board.state.snakes[board.snake_id][0]
    style = dice.choice(FINAL_LINES)
    final = style.format(move=decision.move, lower=str(decision.move).lower())
    return f"My head is at ({x},{y}). {decision.rationale}\n\n{final}"


def reasoning_summary(reply: str) -> str:
    """The fake's "reasoning": one sentence about the move its reply makes."""
    move, _ = parse_move(reply)
    if move is None:
        return "I could not settle on a move that is safe on this board."
    return f"I checked which moves keep my snake alive and bring it nearer an apple: {move}."


def malformed_reply(dice: Dice) -> str:
    return dice.choice(MALFORMED_REPLIES)
