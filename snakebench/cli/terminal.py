"""What SnakeBench writes to a terminal: a console that shows text from models,
providers, replay files and the database as written and nothing more; the live board
of ``snakebench play`` and the frames of ``snakebench replay show``; and live displays
that end on a line of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from snakebench.engine import GameState, Rules

# C0 and C1 control characters but tab and newline (ESC, \x1b, starts every sequence
# that retitles, clears or recolours a terminal; \x9b is CSI on its own), and the Unicode
# marks and overrides that reorder what follows them on screen.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(value: object) -> str:
    """``value`` as text a terminal shows as written: its control characters and
    direction overrides removed, tabs and newlines kept."""
    return _CONTROLS.sub("", str(value))


def one_line(value: object, limit: int | None = None) -> str:
    """:func:`clean` on one line (whitespace runs made one space), cut to ``limit``."""
    text = " ".join(clean(value).split())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def safe_text(value: object, style: str = "") -> Text:
    """``value`` as a rich ``Text``: never read as markup, no control characters."""
    return Text(clean(value), style=style)


class SafeConsole(Console):
    """A rich console for text that may come from a model, a provider, a replay file or
    the database. Strings it prints, or finds in a table or a title, are never read as
    markup (a name like ``[link=...]`` stays literal) and lose their control characters
    (escape sequences in a reply cannot retitle, clear or recolour the operator's
    terminal). Styles come only from ``Text`` the code builds (:func:`safe_text`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("highlight", False)
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs["markup"] = False  # even when a caller asks: no string is trusted
        return super().render_str(clean(text), **kwargs)

    def print_json(self, *args: Any, **kwargs: Any) -> None:
        """JSON with every non-ASCII character escaped (``\u009b``, ``\u202e``): the
        same document for a program, nothing a terminal acts on."""
        kwargs["ensure_ascii"] = True
        super().print_json(*args, **kwargs)


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
        title += "  ·  " + ", ".join(f"{one_line(names[s])} {r}" for s, r in state.results.items())
    return Panel(table, title=safe_text(title), title_align="left")


def _moves_text(
    state: GameState, names: Mapping[str, str], moves: Mapping[str, Mapping[str, Any]]
) -> Group:
    parts = []
    for index, sid in enumerate(state.snakes):
        style = SNAKE_STYLES[index % len(SNAKE_STYLES)]
        line = safe_text(f"{sid} {one_line(names.get(sid, sid))}", style=style)
        line.append(f"  score {state.scores[sid]}", style="bold")
        death = state.deaths.get(sid)
        if death:
            line.append(f"  died: {one_line(death.reason)}", style="red")
        move = moves.get(sid)
        if move:
            line.append(f"  → {one_line(move.get('move'))}", style="bold")
            parts.append(line)
            # A model's own words, shown as written: no markup, no control characters.
            parts.append(safe_text(_tail(str(move.get("rationale") or "")), style="italic"))
        else:
            parts.append(line)
    return Group(*parts)


def _tail(rationale: str) -> str:
    lines = [line for line in rationale.strip().splitlines() if line.strip()]
    shown = lines[-RATIONALE_LINES:]
    prefix = ["…"] if len(lines) > RATIONALE_LINES else []
    return "\n".join(prefix + [line[:200] for line in shown])
