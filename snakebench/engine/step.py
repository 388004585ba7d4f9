"""One round of Snake, exactly as the original engine plays it.

The order of the death checks, the "fatal round is not applied" rule and the order
in which apples leave and join the list all show in recorded games, so they are
kept as they are (see docs/RULES.md, "A round"); changing any of them breaks the
re-simulation of upstream replays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from snakebench.engine.rules import DELTAS, Cell, Result, Rules
from snakebench.engine.state import Death, GameState, all_cells


class GameOverError(RuntimeError):
    """A move was asked of a game that has already ended."""


class Spawner(Protocol):
    """Chooses where new apples appear. Live games draw them from the seed;
    replay verification takes them from the recorded file."""

    def __call__(
        self, round_index: int, rules: Rules, occupied: set[Cell], count: int
    ) -> Sequence[Cell]: ...


_MASK64 = (1 << 64) - 1


def mix64(value: int) -> int:
    """SplitMix64's finaliser: a well-spread 64-bit hash of an integer. It turns
    ``(seed, round, draw)`` into a random number without any generator state."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


class SeededSpawner:
    """Apple spawns drawn from ``(seed, round)``: the same seed and moves give the same
    apples, and no generator state lives between rounds, so a game can resume from
    any stored state.

    Each draw is a uniform cell; a draw on an occupied cell is drawn again, which
    keeps the choice uniform over the free cells and costs one draw on a roomy
    board. A crowded board falls back to picking from the list of free cells.
    """

    __slots__ = ("seed",)

    # Draws tried per apple before listing the free cells instead.
    PATIENCE = 16

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(
        self, round_index: int, rules: Rules, occupied: set[Cell], count: int
    ) -> list[Cell]:
        width, cells = rules.width, rules.width * rules.height
        base = mix64(mix64(self.seed & _MASK64) ^ (round_index + 1))
        found: list[Cell] = []
        draw = 0
        while len(found) < count and draw < self.PATIENCE * count:
            index = mix64(base + draw) % cells
            draw += 1
            cell = (index % width, index // width)
            if cell not in occupied and cell not in found:
                found.append(cell)
        if len(found) < count:
            taken = occupied.union(found)
            free = [cell for cell in all_cells(rules) if cell not in taken]
            while free and len(found) < count:
                found.append(free.pop(mix64(base + draw) % len(free)))
                draw += 1
        return found


def step(state: GameState, moves: Mapping[str, str], rules: Rules, spawn: Spawner) -> GameState:
    """Play one round: every alive snake moves at once. Returns the next state.

    ``moves`` maps each alive snake's id to "UP", "DOWN", "LEFT" or "RIGHT".
    """
    if state.results is not None:
        raise GameOverError("the game is over")
    movers = [sid for sid, is_alive in state.alive.items() if is_alive]
    heads = _new_heads(state, moves, movers)
    apples = state.apples
    # A handful of apples: scanning the tuple beats building a set every round.
    eaten = {head for head in heads.values() if head in apples}
    bodies = {}
    for sid in movers:
        body = state.snakes[sid]
        head = heads[sid]
        bodies[sid] = (head, *body) if head in eaten else (head, *body[:-1])
    dead = _deaths(heads, bodies, rules)
    if dead and len(state.snakes) == 2:
        return _fatal_round(state, dead, rules)
    return _apply(state, movers, heads, bodies, dead, eaten, rules, spawn)


def _new_heads(state: GameState, moves: Mapping[str, str], movers: list[str]) -> dict[str, Cell]:
    heads: dict[str, Cell] = {}
    for sid in movers:
        try:
            dx, dy = DELTAS[moves[sid]]
        except KeyError:
            raise ValueError(f"snake {sid} needs one of UP, DOWN, LEFT, RIGHT") from None
        x, y = state.snakes[sid][0]
        heads[sid] = (x + dx, y + dy)
    return heads


def _deaths(
    heads: dict[str, Cell], bodies: dict[str, tuple[Cell, ...]], rules: Rules
) -> dict[str, str]:
    """Deaths in the original's order: wall, then head-to-head, then body.

    Body cells are fixed before the body check, so a snake dying there still
    blocks the others; only snakes alive after the first two checks count.
    """
    dead: dict[str, str] = {}
    width, height = rules.width, rules.height
    for sid, (x, y) in heads.items():
        if not (0 <= x < width and 0 <= y < height):
            dead[sid] = "wall"
    standing = [sid for sid in heads if sid not in dead]
    if len({heads[sid] for sid in standing}) < len(standing):
        by_cell: dict[Cell, list[str]] = {}
        for sid in standing:
            by_cell.setdefault(heads[sid], []).append(sid)
        for sids in by_cell.values():
            if len(sids) > 1:
                for sid in sids:
                    dead[sid] = "head_collision"
        standing = [sid for sid in standing if sid not in dead]
    for sid in standing:
        head = heads[sid]
        for other in standing:
            # A moved body holds its own head once; a second time means it bit itself.
            # Another standing snake's head is never this head (no head-to-head left).
            if (head in bodies[other]) if other != sid else bodies[sid].count(head) > 1:
                dead[sid] = "body_collision"
                break
    return dead


def _fatal_round(state: GameState, dead: dict[str, str], rules: Rules) -> GameState:
    """Two snakes and at least one died: the game ends and no move is applied."""
    deaths = dict(state.deaths)
    for sid, reason in dead.items():
        deaths[sid] = Death(reason, state.round)
    alive = {sid: is_alive and sid not in dead for sid, is_alive in state.alive.items()}
    if len(dead) == 1:
        results: dict[str, Result] = {sid: "lost" if sid in dead else "won" for sid in alive}
    elif rules.double_death == "tie":
        results = {sid: "tied" for sid in alive}
    else:
        results = by_score(state.scores)
    return GameState(
        state.round + 1, state.snakes, state.apples, alive, state.scores, deaths, results
    )


def _apply(
    state: GameState,
    movers: list[str],
    heads: dict[str, Cell],
    bodies: dict[str, tuple[Cell, ...]],
    dead: dict[str, str],
    eaten: set[Cell],
    rules: Rules,
    spawn: Spawner,
) -> GameState:
    """Commit the survivors' moves, score apples and refill the board.

    With more than two snakes the dead ones stay where they died (they block
    spawns but not moves), as in the original engine.
    """
    snakes = dict(state.snakes)
    scores = state.scores
    alive = state.alive
    deaths = state.deaths
    if dead:
        alive = {sid: is_alive and sid not in dead for sid, is_alive in alive.items()}
        deaths = {**deaths, **{sid: Death(reason, state.round) for sid, reason in dead.items()}}
    apples = state.apples
    if eaten:
        scores = dict(scores)
        for sid in movers:
            if sid not in dead and heads[sid] in eaten:
                scores[sid] += 1
        eaten_now = {heads[sid] for sid in movers if sid not in dead} & eaten
        apples = tuple(a for a in apples if a not in eaten_now)
    for sid in movers:
        if sid not in dead:
            snakes[sid] = bodies[sid]
    if len(apples) < rules.num_apples:
        occupied = set(apples)
        for body in snakes.values():
            occupied.update(body)
        new = spawn(state.round, rules, occupied, rules.num_apples - len(apples))
        apples = (*apples, *new)
    played = state.round + 1
    results = None
    if (
        max(scores.values()) >= rules.apple_target
        or played >= rules.max_rounds
        or sum(alive.values()) <= 1
    ):
        results = by_score(scores)
    return GameState(played, snakes, apples, alive, scores, deaths, results)


def by_score(scores: Mapping[str, int]) -> dict[str, Result]:
    """The highest score wins; a shared highest score ties; everyone else loses."""
    top = max(scores.values())
    leaders = [sid for sid, score in scores.items() if score == top]
    top_result: Result = "won" if len(leaders) == 1 else "tied"
    return {sid: top_result if score == top else "lost" for sid, score in scores.items()}


def deaths_in_round(state: GameState, round_index: int) -> list[tuple[str, str]]:
    """``(snake id, reason)`` of the deaths that happened in ``round_index``."""
    return [(sid, d.reason) for sid, d in state.deaths.items() if d.round == round_index]


def forfeit(state: GameState, snake_ids: Sequence[str]) -> GameState:
    """End the game because ``snake_ids`` forfeited this round (an invalid reply under
    the ``forfeit`` policy). Nobody's move is applied; a forfeit loses to anyone who
    did not forfeit, and when everyone forfeits the game is a tie."""
    if state.results is not None:
        raise GameOverError("the game is over")
    quitters = set(snake_ids)
    deaths = {**state.deaths, **{sid: Death("forfeit", state.round) for sid in quitters}}
    alive = {sid: is_alive and sid not in quitters for sid, is_alive in state.alive.items()}
    everyone = quitters >= set(state.alive_ids())
    results: dict[str, Result] = {
        sid: "tied" if everyone else ("lost" if sid in quitters or not state.alive[sid] else "won")
        for sid in state.snakes
    }
    return GameState(
        state.round + 1, state.snakes, state.apples, alive, state.scores, deaths, results
    )
