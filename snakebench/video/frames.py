"""A replay's board positions as pictures (Pillow): the board, both models' names and
scores, the round, and each model's rationale for the moves that led to the position.

Pure drawing, no files and no processes (an import-linter contract keeps it so):
:mod:`snakebench.video.encode` turns the pictures into MP4, GIF or WebP.

The board follows the web viewer's drawing contract (``static/board.js``), so a frame
and the replay page agree pixel for pixel in colour: y grows upward, cell (x, y) is a
``cell - 1`` square at ``x * cell``, ``(height - 1 - y) * cell`` from the board's
corner with a one-pixel gap on its right and bottom, and its centre pixel
(:meth:`Layout.cell_centre`) always has the cell's colour.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from snakebench.engine.replay import Position, Replay, board_positions
from snakebench.engine.state import GameState

RGB = tuple[int, int, int]


def _rgb(code: str) -> RGB:
    return (int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16))


# The web viewer's colours (static/board.js), so a video looks like the replay page.
EMPTY = _rgb("#f1f5f9")
GAP = _rgb("#e2e8f0")
APPLE = _rgb("#dc2626")
SNAKES: tuple[tuple[RGB, RGB], ...] = tuple(  # (head, body) per snake, cycled
    (_rgb(head), _rgb(body))
    for head, body in (
        ("#1d4ed8", "#60a5fa"),
        ("#c2410c", "#fb923c"),
        ("#15803d", "#4ade80"),
        ("#7e22ce", "#c084fc"),
    )
)
BACKGROUND = _rgb("#ffffff")
TEXT = _rgb("#0f172a")
MUTED = _rgb("#64748b")

DEFAULT_SCALE = 32  # pixels per board cell
MIN_WIDTH = 320  # narrower frames cannot hold the names and the rationales
MAX_WIDTH = 3840
MIN_CELL = 4
RATIONALE_LINES = 4  # lines of each model's rationale excerpt under the board
EXCERPT_CHARS = 400  # of a rationale, before wrapping (the lines cut it further)


class VideoSizeError(ValueError):
    """A size the frames cannot be drawn at; the message says which and why."""


@dataclass(frozen=True)
class Layout:
    """Where everything goes in a frame of ``width`` x ``height`` pixels (both even,
    as H.264 in yuv420p needs)."""

    width: int
    height: int
    cell: int
    board_left: int
    board_top: int
    board_cols: int
    board_rows: int
    font_size: int
    line_height: int
    header_top: int
    text_top: int

    def cell_centre(self, x: int, y: int) -> tuple[int, int]:
        """The pixel at the centre of board cell (x, y): always the cell's colour."""
        left = self.board_left + x * self.cell
        top = self.board_top + (self.board_rows - 1 - y) * self.cell
        return left + self.cell // 2, top + self.cell // 2


def layout_for(
    board_width: int, board_height: int, *, width: int | None = None, scale: int | None = None
) -> Layout:
    """The layout for a board: ``scale`` pixels per cell (default
    :data:`DEFAULT_SCALE`), or the cell that fits a frame ``width`` pixels wide. The
    frame is never narrower than :data:`MIN_WIDTH`; its sides are rounded up to even."""
    if width is not None and scale is not None:
        raise VideoSizeError("give a width or a scale, not both")
    if width is not None and not MIN_WIDTH <= width <= MAX_WIDTH:
        raise VideoSizeError(f"the width must be from {MIN_WIDTH} to {MAX_WIDTH} pixels")
    margin = 16
    if width is not None:
        cell = (width - 2 * margin) // board_width
    else:
        cell = DEFAULT_SCALE if scale is None else scale
    if cell < MIN_CELL:
        raise VideoSizeError(
            f"a {board_width}-cell board needs cells of at least {MIN_CELL} pixels"
        )
    frame_width = _even(max(width or 0, board_width * cell + 2 * margin, MIN_WIDTH))
    if frame_width > MAX_WIDTH:
        raise VideoSizeError(f"the frame would be {frame_width} pixels wide, over {MAX_WIDTH}")
    font_size = max(11, min(28, frame_width // 36))
    line_height = font_size * 5 // 4 + 2
    header_height = 2 * line_height + margin  # one line per model, then the round
    board_top = margin + header_height
    board_height_px = board_height * cell
    text_top = board_top + board_height_px + margin
    # Per model: its name line, then its rationale lines, then a gap.
    text_height = 2 * ((1 + RATIONALE_LINES) * line_height + margin // 2)
    return Layout(
        width=frame_width,
        height=_even(text_top + text_height + margin),
        cell=cell,
        board_left=(frame_width - board_width * cell) // 2,
        board_top=board_top,
        board_cols=board_width,
        board_rows=board_height,
        font_size=font_size,
        line_height=line_height,
        header_top=margin,
        text_top=text_top,
    )


def _even(n: int) -> int:
    return n + (n % 2)


def snake_colours(sid: str, index: int) -> tuple[RGB, RGB]:
    """A snake's (head, body) colours, chosen as the web viewer chooses them."""
    n = int(sid) if sid.lstrip("-").isdigit() else index
    return SNAKES[n % len(SNAKES)]


class FramePainter:
    """Draws a replay's positions at one layout."""

    def __init__(self, replay: Replay, layout: Layout) -> None:
        self.replay = replay
        self.layout = layout
        self.font = ImageFont.load_default(size=layout.font_size)
        self.names = {sid: str(p.get("name") or sid) for sid, p in replay.players.items()}
        self.order = list(replay.players)
        self.max_rounds = replay.rules.max_rounds
        self._widths: dict[str, float] = {}

    def frames(self) -> Iterator[Image.Image]:
        """One picture per board position: the initial board, then each round's."""
        for position in board_positions(self.replay):
            yield self.draw(position)

    def draw(self, position: Position) -> Image.Image:
        state, moves = position
        image = Image.new("RGB", (self.layout.width, self.layout.height), BACKGROUND)
        pen = ImageDraw.Draw(image)
        self._header(pen, state)
        self._board(pen, state)
        self._rationales(pen, moves or {})
        return image

    def _header(self, pen: ImageDraw.ImageDraw, state: GameState) -> None:
        lay = self.layout
        y = lay.header_top
        for index, sid in enumerate(self.order):
            head, _ = snake_colours(sid, index)
            score = state.scores.get(sid, 0)
            line = f"{self.names[sid]}  {score}"
            result = (state.results or {}).get(sid)
            if result:
                line += f"  {result}"
            elif not state.alive.get(sid, True):
                line += "  dead"
            self._swatch(pen, 16, y, head)
            pen.text((16 + lay.font_size + 6, y), self._fit(line), font=self.font, fill=TEXT)
            y += lay.line_height
        round_text = f"Round {state.round} / {self.max_rounds}"
        pen.text((16, y), round_text, font=self.font, fill=MUTED)

    def _swatch(self, pen: ImageDraw.ImageDraw, x: int, y: int, colour: RGB) -> None:
        size = self.layout.font_size
        pen.rectangle((x, y + 2, x + size - 2, y + size), fill=colour)

    def _board(self, pen: ImageDraw.ImageDraw, state: GameState) -> None:
        lay = self.layout
        right = lay.board_left + lay.board_cols * lay.cell - 1
        bottom = lay.board_top + lay.board_rows * lay.cell - 1
        pen.rectangle((lay.board_left, lay.board_top, right, bottom), fill=GAP)
        for x in range(lay.board_cols):
            for y in range(lay.board_rows):
                self._cell(pen, x, y, EMPTY)
        for x, y in state.apples:
            self._cell(pen, x, y, APPLE)
        # Bodies first, then heads, so a head always shows on top (as board.js draws).
        snakes = list(state.snakes.items())
        for index, (sid, body) in enumerate(snakes):
            for x, y in body[1:]:
                self._cell(pen, x, y, snake_colours(sid, index)[1])
        for index, (sid, body) in enumerate(snakes):
            x, y = body[0]
            self._cell(pen, x, y, snake_colours(sid, index)[0])

    def _cell(self, pen: ImageDraw.ImageDraw, x: int, y: int, colour: RGB) -> None:
        lay = self.layout
        if not (0 <= x < lay.board_cols and 0 <= y < lay.board_rows):
            return  # a head that left the board (a wall death) is not drawn
        left = lay.board_left + x * lay.cell
        top = lay.board_top + (lay.board_rows - 1 - y) * lay.cell
        pen.rectangle((left, top, left + lay.cell - 2, top + lay.cell - 2), fill=colour)

    def _rationales(self, pen: ImageDraw.ImageDraw, moves: Mapping[str, Any]) -> None:
        lay = self.layout
        y = lay.text_top
        for index, sid in enumerate(self.order):
            head, _ = snake_colours(sid, index)
            move = moves.get(sid) or {}
            title = f"{self.names[sid]}: {move.get('move') or '-'}"
            self._swatch(pen, 16, y, head)
            pen.text((16 + lay.font_size + 6, y), self._fit(title), font=self.font, fill=TEXT)
            y += lay.line_height
            for line in self._excerpt(move.get("rationale")):
                pen.text((16, y), line, font=self.font, fill=MUTED)
                y += lay.line_height
            y = lay.text_top + (index + 1) * ((1 + RATIONALE_LINES) * lay.line_height + 8)

    def _excerpt(self, rationale: Any) -> list[str]:
        """The rationale's start, on at most :data:`RATIONALE_LINES` lines that fit,
        wrapped word by word (measured, so any font and script fits); the last line
        ends with an ellipsis when the rationale goes on."""
        words = str(rationale or "")[:EXCERPT_CHARS].split()
        room = self.layout.width - 32
        space = self._width(" ")
        lines: list[str] = []
        line, used = "", 0.0
        for word in words:
            width = self._width(word)
            if line and used + space + width <= room:
                line, used = f"{line} {word}", used + space + width
                continue
            if not line and width <= room:
                line, used = word, width
                continue
            if line:
                lines.append(line)
            if len(lines) == RATIONALE_LINES:
                lines[-1] = self._fit(lines[-1] + " …")
                return lines
            line = self._fit(word)  # a word wider than the frame is cut
            used = self._width(line)
        if line:
            lines.append(line)
        return lines[:RATIONALE_LINES]

    def _width(self, word: str) -> float:
        """A word's width, measured once per painter (rationales repeat their words)."""
        width = self._widths.get(word)
        if width is None:
            width = self._widths[word] = self.font.getlength(word)
        return width

    def _fit(self, text: str) -> str:
        """``text`` cut with an ellipsis to the frame's width."""
        room = self.layout.width - 32 - self.layout.font_size
        if self.font.getlength(text) <= room:
            return text
        while text and self.font.getlength(text + "…") > room:
            text = text[:-1]
        return text + "…"


def painter_for(
    replay: Replay, *, width: int | None = None, scale: int | None = None
) -> FramePainter:
    rules = replay.rules
    return FramePainter(replay, layout_for(rules.width, rules.height, width=width, scale=scale))


def final_board_png(replay: Replay, *, width: int | None = None) -> bytes:
    """The last position of a game as a PNG (the game page's social preview image)."""
    painter = painter_for(replay, width=width)
    image = painter.draw(board_positions(replay)[-1])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
