"""The built-in models: three bots that play without an API key.

They are deterministic for a seed: a tie between equally good moves is broken by a
hash of ``(seed, round, snake)``, so the same seed and board give the same move in
any process, and a game can resume mid-way without replaying a random generator.

Boards are handled as flat cell indices (``y * width + x``) with precomputed
neighbour lists, because bots run in the hot loop of every bot-only batch.
"""

from __future__ import annotations

from functools import lru_cache

from snakebench.engine import DIRECTIONS, Direction, GameState, Rules
from snakebench.players.base import MoveDecision, Turn, seeded_choice

BOT_NAMES = ("random", "greedy", "survivor")


@lru_cache(maxsize=32)
def _neighbours(width: int, height: int) -> tuple[tuple[int, ...], ...]:
    cells = []
    for index in range(width * height):
        x, y = index % width, index // width
        near = [(x + dx, y + dy) for dx, dy in ((0, 1), (0, -1), (-1, 0), (1, 0))]
        cells.append(
            tuple(nx + ny * width for nx, ny in near if 0 <= nx < width and 0 <= ny < height)
        )
    return tuple(cells)


class Board:
    """One snake's view of the next round: which cells are surely deadly, which
    risk a head-on collision, and where the apples are."""

    __slots__ = ("apple_set", "blocked", "danger", "height", "options", "width")

    def __init__(self, turn: Turn) -> None:
        state, rules, me = turn.state, turn.rules, turn.snake_id
        self.width, self.height = rules.width, rules.height
        width = rules.width
        self.blocked = bytearray(width * rules.height)
        self.apple_set = apples = {x + y * width for x, y in state.apples}
        neighbours = _neighbours(width, rules.height)
        self.danger: set[int] = set()
        for sid, body in state.snakes.items():
            if not state.alive[sid]:
                continue
            hx, hy = body[0]
            near_head = neighbours[hx + hy * width]
            # A tail moves away this round, unless its snake may eat (then it stays).
            may_eat = sid != me and not apples.isdisjoint(near_head)
            for x, y in body if may_eat else body[:-1]:
                self.blocked[x + y * width] = 1
            if sid != me:
                self.danger.update(near_head)
        self.options = self._options(state.snakes[me][0])

    def _options(self, head: tuple[int, int]) -> list[tuple[Direction, int]]:
        """Moves that do not die at once, as (direction, target cell)."""
        x, y = head
        found = []
        for direction, (nx, ny) in zip(
            DIRECTIONS, ((x, y + 1), (x, y - 1), (x - 1, y), (x + 1, y)), strict=True
        ):
            if 0 <= nx < self.width and 0 <= ny < self.height:
                cell = nx + ny * self.width
                if not self.blocked[cell]:
                    found.append((direction, cell))
        return found

    def preferred(self) -> list[tuple[Direction, int]]:
        """Safe moves that also avoid a possible head-on collision, if there are any."""
        calm = [option for option in self.options if option[1] not in self.danger]
        return calm or self.options

    def apple_distance(self, start: int) -> int:
        """Steps from ``start`` to the nearest apple through free cells (-1: none).

        A breadth-first search from the candidate cell that stops at the first
        apple: apples are usually near, so this visits a few cells, not the board.
        """
        apples = self.apple_set
        if start in apples:
            return 0
        neighbours = _neighbours(self.width, self.height)
        seen = {start}
        frontier = [start]
        steps = 0
        while frontier:
            steps += 1
            following = []
            for cell in frontier:
                for near in neighbours[cell]:
                    if near in seen or self.blocked[near]:
                        continue
                    if near in apples:
                        return steps
                    seen.add(near)
                    following.append(near)
            frontier = following
        return -1

    def space(self, start: int, limit: int) -> int:
        """Cells reachable from ``start`` (stops counting at ``limit``)."""
        neighbours = _neighbours(self.width, self.height)
        seen = {start}
        stack = [start]
        while stack and len(seen) < limit:
            for near in neighbours[stack.pop()]:
                if near not in seen and not self.blocked[near]:
                    seen.add(near)
                    stack.append(near)
        return len(seen)


class Bot:
    """Shared plumbing: the name, the seed and the deterministic tie-break."""

    name = "bot"
    remote = False

    def __init__(self, seed: int = 0, name: str | None = None) -> None:
        self.seed = seed
        if name:
            self.name = name

    def _pick(self, options: list[Direction], turn: Turn) -> Direction:
        return seeded_choice(options, self.seed, turn)

    def choose(self, turn: Turn) -> MoveDecision:
        move, why = self.decide(turn, Board(turn))
        return MoveDecision(move=move, rationale=why)

    def decide(self, turn: Turn, board: Board) -> tuple[Direction, str]:
        raise NotImplementedError


class RandomBot(Bot):
    """Uniform over the moves that do not die at once (any move when none is safe).
    A cell an enemy head may also reach is a risk, not a sure death, so it counts."""

    name = "random"

    def decide(self, turn: Turn, board: Board) -> tuple[Direction, str]:
        options = [direction for direction, _ in board.options]
        if not options:
            return self._pick(list(DIRECTIONS), turn), "No safe move; picked at random."
        return self._pick(options, turn), f"Random safe move among {len(options)}."


class SurvivorBot(Bot):
    """The safe move that keeps the most reachable space; then the nearest apple."""

    name = "survivor"

    def decide(self, turn: Turn, board: Board) -> tuple[Direction, str]:
        return _roomiest_move(self, turn, board)


def _roomiest_move(bot: Bot, turn: Turn, board: Board) -> tuple[Direction, str]:
    options = board.preferred()
    if not options:
        return bot._pick(list(DIRECTIONS), turn), "Trapped: every move dies."
    limit = board.width * board.height
    spaces = {cell: board.space(cell, limit) for _, cell in options}
    most = max(spaces.values())
    roomy = [(d, c) for d, c in options if spaces[c] == most]
    if len(roomy) > 1:
        distance = {c: board.apple_distance(c) for _, c in roomy}
        reachable = [steps for steps in distance.values() if steps >= 0]
        if reachable:
            near = min(reachable)
            roomy = [(d, c) for d, c in roomy if distance[c] == near]
    move = bot._pick([d for d, _ in roomy], turn)
    return move, f"Keeping the most room: {most} cells reachable."


class GreedyBot(Bot):
    """The first step of a shortest safe path to the nearest apple.

    A step that leads into a pocket smaller than the snake is skipped when
    another step towards an apple exists; with no reachable apple it plays
    like :class:`SurvivorBot`.
    """

    name = "greedy"

    def decide(self, turn: Turn, board: Board) -> tuple[Direction, str]:
        options = board.preferred()
        distance = {c: board.apple_distance(c) for _, c in options}
        towards = sorted({steps for steps in distance.values() if steps >= 0})
        length = len(turn.state.snakes[turn.snake_id])
        for steps in towards:
            best = [(d, c) for d, c in options if distance[c] == steps]
            roomy = [d for d, c in best if board.space(c, length + 1) > length]
            if roomy:
                move = self._pick(roomy, turn)
                return move, f"Heading for the nearest apple, {steps + 1} steps away."
        return _roomiest_move(self, turn, board)


_BOTS: dict[str, type[Bot]] = {"random": RandomBot, "greedy": GreedyBot, "survivor": SurvivorBot}


def make_bot(kind: str, seed: int = 0, name: str | None = None) -> Bot:
    """A bot of ``kind`` (one of :data:`BOT_NAMES`) seeded with ``seed``."""
    try:
        return _BOTS[kind](seed, name)
    except KeyError:
        raise ValueError(f"unknown bot {kind!r}; bots: {', '.join(BOT_NAMES)}") from None


def bot_move(kind: str, state: GameState, rules: Rules, snake_id: str, seed: int = 0) -> Direction:
    """One bot move for a board, without a game around it."""
    return make_bot(kind, seed).choose(Turn(snake_id, state, rules)).move
