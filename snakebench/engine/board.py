"""Text pictures of a board, shared by the LLM prompt and the terminal viewer."""

from __future__ import annotations

from snakebench.engine.rules import Rules
from snakebench.engine.state import GameState


def render_board(state: GameState, rules: Rules) -> str:
    """The board as the original engine prints it for models.

    Rows go top (highest y) to bottom with y labels on the left and x labels
    underneath, so (0, 0) is bottom-left as in the coordinates. ``.`` is empty,
    ``A`` an apple, a digit a snake's head (its index) and ``T`` a body cell.
    Dead snakes are left out.
    """
    grid = [["." for _ in range(rules.width)] for _ in range(rules.height)]
    for x, y in state.apples:
        grid[y][x] = "A"
    for index, (sid, body) in enumerate(state.snakes.items()):
        if not state.alive[sid]:
            continue
        for position, (x, y) in enumerate(body):
            if 0 <= x < rules.width and 0 <= y < rules.height:
                grid[y][x] = str(index) if position == 0 else "T"
    width = len(str(rules.height - 1))
    lines = [f"{y:>{width}} {' '.join(grid[y])}" for y in range(rules.height - 1, -1, -1)]
    lines.append(" " * (width + 1) + " ".join(str(x % 10) for x in range(rules.width)))
    return "\n".join(lines)
