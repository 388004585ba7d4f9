"""Reading a move out of a model's free-text reply.

The prompt asks for the move alone on the final line, so that line is trusted
first. Only when it names no direction do we fall back to the last direction
anywhere in the reply, and we record which way the move was found, so replies
that ignored the format can be counted per model.

Directions must be whole words: "DOWNTOWN" or "upset" are not moves (the
original engine read them as DOWN and UP). Case-insensitivity is ASCII-only so
look-alike letters (dotless i, long s) never make a move.
"""

from __future__ import annotations

import re

from snakebench.engine import Direction
from snakebench.players.base import ParseMethod

# A fixed alternation with fixed-width look-arounds: constant work per position,
# so matching is linear in the reply length whatever the reply holds.
_DIRECTION = re.compile(r"(?<!\w)(?ai:up|down|left|right)(?!\w)")


def parse_move(text: str) -> tuple[Direction | None, ParseMethod]:
    """The move a reply names and how it was found; never raises."""
    if not isinstance(text, str):
        return None, "none"
    stripped = text.rstrip()
    if not stripped:
        return None, "none"
    final_line = stripped.splitlines()[-1]
    move = _last_direction(final_line)
    if move is not None:
        return move, "final_line"
    move = _last_direction(stripped)
    if move is not None:
        return move, "fallback"
    return None, "none"


def _last_direction(text: str) -> Direction | None:
    found = _DIRECTION.findall(text)
    return Direction(found[-1].upper()) if found else None
