"""Games drawn in the terminal with rich: the live board of ``snakebench play`` and
the frames of ``snakebench replay show``; and live displays that end on a line of
their own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from snakebench.engine import GameState, Rules

SNAKE_STYLES = ("bold green", "bold magenta", "bold cyan", "bold yellow")
# A body glyph per snake, so boards read without colour too.
BODY_GLYPHS = ("o", "x", "+", "*")
RATIONALE_LINES = 6


@contextmanager
def live_display(console: Console, renderable: RenderableType = "") -> Iterator[Live]:
    """rich's ``Live`` on ``console``, redrawn only when told, stopped by :func:`stop_live`."""
    live = Live(renderable, console=console, auto_refresh=False)
    live.start()
    try:
        yield live
    finally:
        stop_live(live)


def stop_live(live: Live) -> None:
    """Stop ``live`` on a line of its own. On a terminal the cursor ends below the last
    frame; to a file or a pipe rich writes that frame without a newline, and the next
    thing printed (a summary on stdout, when both go to one pipe) would be glued on."""
    live.stop()
    if not live.console.is_terminal:
        live.console.line()


def board_text(state: GameState, rules: Rules) -> Text:
    """The board, top row first: heads as their snake's id, bodies as its glyph."""
    cells: dict[tuple[int, int], tuple[str, str]] = {}
    for apple in state.apples:
        cells[apple] = ("A", "bold red")
    for index, (sid, body) in enumerate(state.snakes.items()):
        style = SNAKE_STYLES[index % len(SNAKE_STYLES)]
        glyph = BODY_GLYPHS[index % len(BODY_GLYPHS)]
        if not state.alive[sid]:
            style = "dim " + style
        for position, cell in enumerate(body):
            cells[cell] = (sid[-1] if position == 0 else glyph, style)
    text = Text()
    label = len(str(rules.height - 1))
    for y in range(rules.height - 1, -1, -1):
        text.append(f"{y:>{label}} ", style="dim")
        for x in range(rules.width):
            char, style = cells.get((x, y), (".", "dim"))
            text.append(char + " ", style=style)
        text.append("\n")
    text.append(" " * (label + 1) + " ".join(str(x % 10) for x in range(rules.width)), style="dim")
    return text


def frame_view(
    state: GameState,
    rules: Rules,
    names: Mapping[str, str],
    moves: Mapping[str, Mapping[str, Any]] | None = None,
) -> Panel:
    """One round: the board beside each snake's score, move and rationale."""
    table = Table.grid(padding=(0, 2))
    table.add_column()
    table.add_column(max_width=70)
    table.add_row(board_text(state, rules), _moves_text(state, names, moves or {}))
    title = f"round {state.round} / {rules.max_rounds}"
    if state.results:
        title += "  ·  " + ", ".join(f"{names[s]} {r}" for s, r in state.results.items())
    return Panel(table, title=title, title_align="left")


def _moves_text(
    state: GameState, names: Mapping[str, str], moves: Mapping[str, Mapping[str, Any]]
) -> Group:
    parts = []
    for index, sid in enumerate(state.snakes):
        style = SNAKE_STYLES[index % len(SNAKE_STYLES)]
        line = Text(f"{sid} {names.get(sid, sid)}", style=style)
        line.append(f"  score {state.scores[sid]}", style="bold")
        death = state.deaths.get(sid)
        if death:
            line.append(f"  died: {death.reason}", style="red")
        move = moves.get(sid)
        if move:
            line.append(f"  → {move.get('move')}", style="bold")
            parts.append(line)
            # Text() never interprets markup, so model text shows as written.
            parts.append(Text(_tail(str(move.get("rationale") or "")), style="italic"))
        else:
            parts.append(line)
    return Group(*parts)


def _tail(rationale: str) -> str:
    lines = [line for line in rationale.strip().splitlines() if line.strip()]
    shown = lines[-RATIONALE_LINES:]
    prefix = ["…"] if len(lines) > RATIONALE_LINES else []
    return "\n".join(prefix + [line[:200] for line in shown])
