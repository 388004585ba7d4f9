"""Re-simulate a replay from its recorded moves and report the first disagreement.

Apple spawns are the one thing the rules leave to chance, so they are taken from
the file (the apples appended after each round) and checked to be legal: on a
free cell, inside the board. Everything else (bodies, deaths, scores, results,
rounds played) must follow from the moves, under ``replay.rules``: the rules the file
states, or for the original's files, which state none, the standard rules with the
variants :func:`snakebench.engine.replay.parse_replay` inferred from the file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from snakebench.engine.replay import RecordedRound, Replay, state_to_dict
from snakebench.engine.rules import DIRECTIONS, Cell, Rules, RulesError
from snakebench.engine.state import GameState
from snakebench.engine.step import deaths_in_round, forfeit, step

# Games our writer marks as stopped before their end (see snakebench.games.loop).
UNFINISHED = ("void", "failed", "cancelled")


@dataclass(frozen=True)
class Mismatch:
    frame: int  # index into the file's frames (-1 for the summary blocks)
    field: str
    expected: Any  # what the rules give
    found: Any  # what the file says

    def __str__(self) -> str:
        where = f"frame {self.frame}" if self.frame >= 0 else "summary"
        return f"{where}: {self.field}: expected {self.expected!r}, found {self.found!r}"


class RecordedSpawner:
    """Hands the engine the apples the file says appeared after a round."""

    def __init__(self) -> None:
        self.recorded: list[Cell] | None = None
        self.problem: str | None = None

    def __call__(
        self, round_index: int, rules: Rules, occupied: set[Cell], count: int
    ) -> Sequence[Cell]:
        if self.recorded is None:  # the file does not show this round's result
            return []
        new = self.recorded[max(0, len(self.recorded) - count) :]
        seen: set[Cell] = set()
        for cell in new:
            x, y = cell
            if not (0 <= x < rules.width and 0 <= y < rules.height):
                self.problem = f"spawned apple {list(cell)} is off the board"
            elif cell in occupied or cell in seen:
                self.problem = f"spawned apple {list(cell)} is on an occupied cell"
            seen.add(cell)
        return new


def verify_replay(replay: Replay) -> Mismatch | None:
    """``None`` when the file is exactly what the rules produce from its moves."""
    rules = replay.rules
    state = replay.initial_state()
    try:
        rules.validate(len(state.snakes))
    except RulesError as exc:
        return Mismatch(-1, "game.board", "valid rules", str(exc))
    spawner = RecordedSpawner()
    offset = 1 if replay.convention == "pre" else 0
    for rnd in replay.rounds:
        if state.over:
            return Mismatch(rnd.index, "rounds_played", state.round, replay.rounds_played)
        found = _play_round(state, rnd, rules, spawner)
        if isinstance(found, Mismatch):
            return found
        state = found
        if rnd.after is not None:
            mismatch = _compare_state(rnd.index + offset, state, rnd.after)
            if mismatch:
                return mismatch
        mismatch = _compare_events(rnd, state)
        if mismatch:
            return mismatch
    mismatch = _compare_trailing_frame(replay)
    if mismatch:
        return mismatch
    if not state.over:
        if replay.game.get("status") in UNFINISHED:
            return None  # stopped by an outage or an error; every round it has checks out
        return Mismatch(len(replay.frames) - 1, "game over", True, False)
    return _compare_summary(replay, state)


def _play_round(
    state: GameState, rnd: RecordedRound, rules: Rules, spawner: RecordedSpawner
) -> GameState | Mismatch:
    moves: dict[str, str] = {}
    for sid in state.alive_ids():
        move = (rnd.moves.get(sid) or {}).get("move")
        if move not in DIRECTIONS:
            return Mismatch(rnd.index, f"moves.{sid}.move", "UP, DOWN, LEFT or RIGHT", move)
        moves[sid] = move
    quitters = [sid for sid in moves if (rnd.moves.get(sid) or {}).get("forfeit") is True]
    if quitters:  # an invalid reply under the forfeit policy ended the game
        return forfeit(state, quitters)
    spawner.problem = None
    spawner.recorded = (
        [(int(x), int(y)) for x, y in rnd.after["apples"]] if rnd.after is not None else None
    )
    after = step(state, moves, rules, spawner)
    if spawner.problem:
        return Mismatch(rnd.index, "apples", "spawns on free cells", spawner.problem)
    return after


def _compare_state(frame: int, state: GameState, recorded: dict[str, Any]) -> Mismatch | None:
    ours = state_to_dict(state)
    for sid, body in ours["snakes"].items():
        theirs = recorded["snakes"].get(sid)
        if theirs != body:
            return Mismatch(frame, f"state.snakes.{sid}", body, theirs)
    for key in ("alive", "scores"):
        for sid, value in ours[key].items():
            theirs = recorded.get(key, {}).get(sid)
            if theirs != value:
                return Mismatch(frame, f"state.{key}.{sid}", value, theirs)
    if recorded["apples"] != ours["apples"]:
        return Mismatch(frame, "state.apples", ours["apples"], recorded["apples"])
    return None


def _compare_events(rnd: RecordedRound, state: GameState) -> Mismatch | None:
    ours = sorted(deaths_in_round(state, rnd.index))
    theirs = sorted(
        (str(e.get("player_id")), str(e.get("reason")))
        for e in rnd.events
        if isinstance(e, dict) and e.get("type") == "death"
    )
    if ours != theirs:
        return Mismatch(rnd.index, "events", ours, theirs)
    return None


def _compare_trailing_frame(replay: Replay) -> Mismatch | None:
    """Old files end with a frame repeating the final state and the last round's
    moves. Nothing is played from it, so it is checked to repeat them exactly."""
    if replay.convention != "pre" or len(replay.frames) != len(replay.rounds) + 1:
        return None
    index = len(replay.frames) - 1
    last, trailing = replay.rounds[-1].moves, replay.frames[index]["moves"]
    for sid in sorted(set(last) | set(trailing)):
        expected = (last.get(sid) or {}).get("move")
        found = (trailing.get(sid) or {}).get("move")
        if expected != found:
            return Mismatch(index, f"moves.{sid}.move (repeated final frame)", expected, found)
    return None


def _compare_summary(replay: Replay, state: GameState) -> Mismatch | None:
    played = replay.game.get("rounds_played")
    if played is not None and played != state.round:
        return Mismatch(-1, "game.rounds_played", state.round, played)
    for sid in state.snakes:
        player = replay.players.get(sid) or {}
        death = state.deaths.get(sid)
        expected = {
            "result": (state.results or {}).get(sid),
            "final_score": state.scores[sid],
            "death": None if death is None else {"reason": death.reason, "round": death.round},
        }
        for key, value in expected.items():
            if key in player and player[key] != value:
                return Mismatch(-1, f"players.{sid}.{key}", value, player[key])
        mismatch = _compare_totals(replay, sid, player.get("totals"))
        if mismatch:
            return mismatch
    return _compare_metadata(replay, state)


def _compare_metadata(replay: Replay, state: GameState) -> Mismatch | None:
    """The original's summary block, which its tools read instead of the frames, must
    say what the frames say: each field it has is checked, none is required."""
    meta = replay.metadata
    deaths = {sid: {"reason": d.reason, "round": d.round} for sid, d in state.deaths.items()}
    expected = {
        "game_result": state.results or {},
        "final_scores": dict(state.scores),
        "death_info": deaths,
        "actual_rounds": state.round,
        "max_rounds": replay.rules.max_rounds,
        "models": {sid: p.get("name") for sid, p in replay.players.items() if "name" in p},
    }
    for key, value in expected.items():
        if key in meta and meta[key] != value:
            return Mismatch(-1, f"metadata.{key}", value, meta[key])
    costs = meta.get("player_costs")
    if isinstance(costs, dict):
        for sid in state.snakes:
            found = _compare_sums(replay, [sid], costs.get(sid), f"metadata.player_costs.{sid}")
            if found:
                return found
    if "total_cost" in meta:
        return _compare_sums(replay, list(state.snakes), meta["total_cost"], "metadata.total_cost")
    return None


def _compare_totals(replay: Replay, sid: str, totals: Any) -> Mismatch | None:
    """Player totals must add up from the moves (:func:`_compare_sums`)."""
    if not isinstance(totals, dict):
        return None
    for key in ("input_tokens", "output_tokens", "cost"):
        if key in totals:
            found = _compare_sums(replay, [sid], totals[key], f"players.{sid}.totals.{key}", key)
            if found:
                return found
    return None


def _compare_sums(
    replay: Replay, sids: list[str], found: Any, label: str, key: str = "cost"
) -> Mismatch | None:
    """``found`` must be the sum of ``key`` over the moves of ``sids``. The original
    summed over every frame, the repeated trailing frame of old files included, so
    either sum is accepted for files in that form."""
    played = [r.moves.get(sid) or {} for r in replay.rounds for sid in sids]
    every = [f["moves"].get(sid) or {} for f in replay.frames for sid in sids]
    sums = [_sum(played, key), _sum(every, key)]
    if not any(_close(found, total) for total in sums):
        return Mismatch(-1, label, sums[0], found)
    return None


def _sum(moves: list[dict[str, Any]], key: str) -> float | None:
    """The sum of a numeric field over moves; None when a value is not a number."""
    values = [m.get(key) or 0 for m in moves]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    return float(sum(values))


def _close(found: Any, total: float | None) -> bool:
    if total is None or isinstance(found, bool) or not isinstance(found, int | float):
        return False
    return math.isclose(found, total, rel_tol=1e-9, abs_tol=1e-9)
