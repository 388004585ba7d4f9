"""Replay files, version 1: the original's format, read in both frame conventions.

Old files (before about December 2025) store in ``frames[i].state`` the state
*before* round ``i`` and end with an extra frame holding the final state; newer
files store the state *after* round ``i``. :func:`parse_replay` turns either into
one shape, :class:`Replay`, whose rounds carry the state after them when the
file has it. The writer always writes the newer form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeGuard

from snakebench.engine.rules import DEFAULT_APPLE_TARGET, DOUBLE_DEATH_POLICIES, DoubleDeath, Rules
from snakebench.engine.state import Death, GameState, start_state

REPLAY_VERSION = 1
# Larger boards are not games anyone plays; a file claiming one is refused rather
# than allowed to make `replay show` allocate a grid of a billion cells.
MAX_BOARD_SIDE = 1000
# Recorded games started before this call every double death a tie.
DOUBLE_DEATH_SCORE_SINCE = "2025-12-12"

Convention = Literal["post", "pre"]
StateDict = dict[str, Any]


class ReplayFormatError(ValueError):
    """The file is not a readable SnakeBench replay; the message says why."""


@dataclass(frozen=True)
class RuleVariant:
    """A rule the file does not state, inferred from what it shows, under which the
    game differs from the standard rules: the original changed two rules while it
    recorded games, and its files never say which rules they were played under."""

    rule: str  # the Rules field it sets
    summary: str  # what the rule was, e.g. "apple target not enforced"
    evidence: str  # what in the file shows it

    def __str__(self) -> str:
        return f"{self.summary}; {self.evidence}"


@dataclass(frozen=True)
class RecordedRound:
    index: int
    moves: dict[str, dict[str, Any]]
    after: StateDict | None  # the recorded state after this round, when the file has it
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Replay:
    game: dict[str, Any]
    players: dict[str, dict[str, Any]]
    totals: dict[str, Any]
    rules: Rules
    initial: StateDict
    rounds: list[RecordedRound]
    convention: Convention
    frames: list[dict[str, Any]] = field(repr=False)
    # The original's summary block (results, scores, deaths, models, costs), when present.
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    # The rule variants inferred from the file that made its game differ from the
    # standard rules; ``rules`` already holds them.
    variants: tuple[RuleVariant, ...] = ()

    @property
    def rounds_played(self) -> int:
        return len(self.rounds)

    def initial_state(self) -> GameState:
        return state_from_dict(self.initial)


Position = tuple[GameState, dict[str, Any] | None]


def board_positions(replay: Replay) -> list[Position]:
    """The initial board, then the board after each round with that round's moves (the
    moves that led to it), as the terminal viewer and the videos show them. The last
    position carries the players' results."""
    positions: list[Position] = [(replay.initial_state(), None)]
    deaths: dict[str, Death] = {}
    for rnd in replay.rounds:
        for event in rnd.events:
            deaths[str(event.get("player_id"))] = Death(str(event.get("reason")), rnd.index)
        if rnd.after is None:
            continue
        state = state_from_dict(rnd.after)._replace(round=rnd.index + 1, deaths=dict(deaths))
        positions.append((state, rnd.moves))
    last, moves = positions[-1]
    results = {sid: p["result"] for sid, p in replay.players.items() if p.get("result")}
    positions[-1] = (last._replace(results=results or None), moves)
    return positions


# --------------------------------------------------------------------- states


def state_to_dict(state: GameState) -> StateDict:
    return {
        "snakes": {sid: [[x, y] for x, y in body] for sid, body in state.snakes.items()},
        "apples": [[x, y] for x, y in state.apples],
        "alive": dict(state.alive),
        "scores": dict(state.scores),
    }


def state_from_dict(data: StateDict) -> GameState:
    state = start_state(data["snakes"], data["apples"], data.get("scores"))
    alive = data.get("alive") or {}
    return state._replace(alive={sid: bool(alive.get(sid, True)) for sid in state.snakes})


# --------------------------------------------------------------------- reading


def read_replay(path: str | Path) -> Replay:
    """Load and parse a replay file; any problem is a :class:`ReplayFormatError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayFormatError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayFormatError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number; [[[[... nesting
        raise ReplayFormatError(f"not a usable JSON document ({type(exc).__name__})") from None
    return parse_replay(data)


def parse_replay(data: Any) -> Replay:
    _require(isinstance(data, dict), "not a SnakeBench replay: the top level is not an object")
    for key in ("game", "players", "initial_state", "frames"):
        _require(key in data, f"not a SnakeBench replay: missing '{key}'")
    version = data.get("version", REPLAY_VERSION)
    _require(version == REPLAY_VERSION, f"unsupported replay version {version!r}")
    game, players, frames = data["game"], data["players"], data["frames"]
    _require(isinstance(game, dict), "'game' is not an object")
    _require(isinstance(players, dict) and bool(players), "'players' is not a non-empty object")
    _require(isinstance(frames, list), "'frames' is not a list")
    for sid, player in players.items():
        _require(isinstance(player, dict), f"players.{sid} is not an object")
    initial = _check_state(data["initial_state"], "initial_state")
    for i, frame in enumerate(frames):
        _require(isinstance(frame, dict), f"frame {i} is not an object")
        _require("moves" in frame and isinstance(frame["moves"], dict), f"frame {i} has no moves")
        for sid, move in frame["moves"].items():
            _require(isinstance(move, dict), f"frame {i}: moves.{sid} is not an object")
        events = frame.get("events", [])
        _require(
            isinstance(events, list) and all(isinstance(e, dict) for e in events),
            f"frame {i}: 'events' is not a list of objects",
        )
        _check_state(frame.get("state"), f"frame {i} state")
    convention = _convention(initial, frames)
    rounds = _rounds(frames, convention, game.get("rounds_played"))
    rules, variants = _inferred_variants(game, initial, rounds, _rules(game, initial))
    return Replay(
        game=game,
        players=players,
        totals=data.get("totals") or {},
        rules=rules,
        initial=initial,
        rounds=rounds,
        convention=convention,
        frames=frames,
        metadata=_metadata_block(data.get("metadata")),
        variants=variants,
    )


def _metadata_block(block: Any) -> dict[str, Any]:
    _require(block is None or isinstance(block, dict), "'metadata' is not an object")
    return dict(block or {})


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ReplayFormatError(message)


def _check_state(state: Any, where: str) -> StateDict:
    _require(isinstance(state, dict), f"{where} is not an object")
    for key in ("snakes", "apples"):
        _require(key in state, f"{where} has no '{key}'")
    snakes, apples = state["snakes"], state["apples"]
    _require(
        isinstance(snakes, dict) and bool(snakes), f"{where}: 'snakes' is empty or not an object"
    )
    for sid, body in snakes.items():
        _require(
            isinstance(body, list) and bool(body) and all(_is_cell(c) for c in body),
            f"{where}: snake {sid} is not a non-empty list of [x, y] cells",
        )
    _require(
        isinstance(apples, list) and all(_is_cell(c) for c in apples),
        f"{where}: 'apples' is not a list of [x, y] cells",
    )
    alive, scores = state.get("alive", {}), state.get("scores", {})
    _require(isinstance(alive, dict), f"{where}: 'alive' is not an object")
    _require(isinstance(scores, dict), f"{where}: 'scores' is not an object")
    for sid in snakes:
        _require(isinstance(alive.get(sid, True), bool), f"{where}: alive.{sid} is not true/false")
        # No scores at all means all zero (old files); scores for some snakes only is a
        # damaged file, not a default.
        _require(not scores or sid in scores, f"{where}: scores has no entry for snake {sid}")
        score = scores.get(sid, 0)
        _require(_is_int(score), f"{where}: scores.{sid} is not a whole number")
    checked: StateDict = state
    return checked


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_cell(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_int, value))


def _convention(initial: StateDict, frames: list[dict[str, Any]]) -> Convention:
    """Old files repeat the initial state as frame 0; a post-move frame 0 never
    equals it, because round 0 either moved a snake or killed one."""
    if frames and _same_state(frames[0]["state"], initial):
        return "pre"
    return "post"


def _same_state(a: StateDict, b: StateDict) -> bool:
    return all(a.get(k) == b.get(k) for k in ("snakes", "apples", "alive", "scores"))


def _rounds(
    frames: list[dict[str, Any]], convention: Convention, rounds_played: Any
) -> list[RecordedRound]:
    if convention == "post":
        count = len(frames)
    else:
        # The trailing frame holds the final state and repeats the last moves.
        count = len(frames) - 1 if len(frames) > 1 else len(frames)
        if isinstance(rounds_played, int) and 0 < rounds_played <= len(frames):
            count = rounds_played
    rounds = []
    for i in range(count):
        frame = frames[i]
        if convention == "post":
            after = frame["state"]
        else:
            after = frames[i + 1]["state"] if i + 1 < len(frames) else None
        events = frame.get("events") or []
        rounds.append(RecordedRound(i, frame["moves"], after, events))
    return rounds


def _rules(game: dict[str, Any], initial: StateDict) -> Rules:
    board: dict[str, Any] = game.get("board") or {}
    recorded = game.get("rules") or {}
    _require(isinstance(board, dict) and bool(board), "game.board is not an object")
    _require(isinstance(recorded, dict), "game.rules is not an object")
    for side in ("width", "height"):
        value = board.get(side)
        _require(
            _is_int(value) and 1 <= value <= MAX_BOARD_SIDE,
            f"game.board.{side} is not a whole number from 1 to {MAX_BOARD_SIDE}",
        )
    numbers = {
        "max_rounds": game.get("max_rounds"),
        "num_apples": board.get("num_apples", len(initial["apples"])),
        "apple_target": recorded.get("apple_target", DEFAULT_APPLE_TARGET),
    }
    for name, value in numbers.items():
        _require(_is_int(value) and value >= 0, f"{name} is not a whole number")
    policy = recorded.get("double_death") or _double_death_by_date(game)
    _require(policy in DOUBLE_DEATH_POLICIES, f"game.rules.double_death {policy!r} is unknown")
    return Rules(
        width=board["width"],
        height=board["height"],
        num_apples=numbers["num_apples"],
        max_rounds=numbers["max_rounds"],
        apple_target=numbers["apple_target"],
        double_death=policy,
    )


def _double_death_by_date(game: dict[str, Any]) -> DoubleDeath:
    started = str(game.get("started_at") or "")
    return "tie" if started and started < DOUBLE_DEATH_SCORE_SINCE else "score"


def _inferred_variants(
    game: dict[str, Any], initial: StateDict, rounds: list[RecordedRound], rules: Rules
) -> tuple[Rules, tuple[RuleVariant, ...]]:
    """The rule variants the file shows for the rules it does not state (``game.rules``:
    our files state them all, the original's none), and the rules that include them.

    - Apple target: the original had none until January 2026; a game ended by rounds or
      deaths only. A file whose recorded scores reach the target before its last round
      played on past it, so its rules get a target no game can reach. (A file that
      states its target is held to it: playing on past it is a mismatch.)
    - Double deaths: games before 2025-12-12 tied them all (:func:`_rules` reads that
      from the date); it is listed when the game ended in a double death on unequal
      scores, the one case where the two rules disagree.
    """
    stated = game.get("rules") or {}
    variants: list[RuleVariant] = []
    if "apple_target" not in stated:
        past = _played_past_target(rounds, rules.apple_target)
        if past is not None:
            start = max(0, *_scores(initial).values())  # a negative start needs no more
            rules = rules.without_apple_target(start)
            variants.append(past)
    if not stated.get("double_death") and rules.double_death == "tie":
        tied = _tied_double_death(rounds)
        if tied is not None:
            variants.append(tied)
    return rules, tuple(variants)


def _scores(state: StateDict) -> dict[str, int]:
    """Each snake's recorded score (0 when the file has none, as old files)."""
    scores = state.get("scores") or {}
    return {sid: scores.get(sid, 0) for sid in state["snakes"]}


def _played_past_target(rounds: list[RecordedRound], target: int) -> RuleVariant | None:
    for rnd in rounds[:-1]:
        if rnd.after is None:
            continue
        for sid, score in _scores(rnd.after).items():
            if score >= target:
                return RuleVariant(
                    "apple_target",
                    "apple target not enforced",
                    f"played on after snake {sid} reached {score} apples in round {rnd.index}",
                )
    return None


def _tied_double_death(rounds: list[RecordedRound]) -> RuleVariant | None:
    last = rounds[-1] if rounds else None
    if last is None or last.after is None:
        return None
    scores = _scores(last.after)
    dead = sorted({str(e.get("player_id")) for e in last.events if e.get("type") == "death"})
    if len(dead) < 2 or not set(dead) <= set(scores):
        return None
    if len({scores[sid] for sid in dead}) == 1:
        return None  # equal scores tie under either rule
    return RuleVariant(
        "double_death",
        f"every double death tied, as before {DOUBLE_DEATH_SCORE_SINCE}",
        f"snakes {' and '.join(dead)} died together in round {last.index} "
        f"with {' and '.join(str(scores[sid]) for sid in dead)} apples and tied",
    )


# --------------------------------------------------------------------- writing


@dataclass
class ReplayBuilder:
    """Collects a game's rounds in memory and writes the version-1 document.

    ``players`` maps a snake id to ``{"model_id": ..., "name": ...}``.
    """

    game_id: str
    rules: Rules
    players: dict[str, dict[str, Any]]
    initial: GameState
    started_at: datetime
    game_type: str = "ladder"
    seed: int | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)

    def add_round(self, moves: dict[str, dict[str, Any]], after: GameState) -> None:
        """Record round ``len(frames)``: each snake's move record and the state after it."""
        index = len(self.frames)
        frame: dict[str, Any] = {"round": index, "state": state_to_dict(after), "moves": moves}
        events = [
            {"type": "death", "player_id": sid, "reason": death.reason}
            for sid, death in after.deaths.items()
            if death.round == index
        ]
        if events:
            frame["events"] = events
        self.frames.append(frame)

    def build(
        self,
        final: GameState,
        ended_at: datetime,
        status: str = "completed",
        error: str | None = None,
    ) -> dict[str, Any]:
        """The document. A ``void``, ``failed`` or ``cancelled`` game stops mid-way;
        its status says so."""
        players = self._players_block(final)
        game = {
            "id": self.game_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": ended_at.isoformat(),
            "game_type": self.game_type,
            "max_rounds": self.rules.max_rounds,
            "rounds_played": len(self.frames),
            "board": {
                "width": self.rules.width,
                "height": self.rules.height,
                "num_apples": self.rules.num_apples,
            },
            "rules": {
                "apple_target": self.rules.apple_target,
                "double_death": self.rules.double_death,
            },
            "seed": self.seed,
            "status": status,
        }
        if error:
            game["error"] = error
        return {
            "version": REPLAY_VERSION,
            "game": game,
            "players": players,
            "totals": {
                key: sum(p["totals"][key] for p in players.values())
                for key in ("cost", "input_tokens", "output_tokens")
            },
            "initial_state": state_to_dict(self.initial),
            "frames": self.frames,
            "metadata": _metadata(game, players, final),
        }

    def _players_block(self, final: GameState) -> dict[str, dict[str, Any]]:
        totals = self._player_totals()
        return {
            sid: {
                **info,
                "result": (final.results or {}).get(sid),
                "final_score": final.scores.get(sid, 0),
                "death": _death_dict(final, sid),
                "totals": totals[sid],
            }
            for sid, info in self.players.items()
        }

    def _player_totals(self) -> dict[str, dict[str, Any]]:
        totals = {sid: {"input_tokens": 0, "output_tokens": 0, "cost": 0.0} for sid in self.players}
        for frame in self.frames:
            for sid, move in frame["moves"].items():
                entry = totals[sid]
                entry["input_tokens"] += move.get("input_tokens", 0)
                entry["output_tokens"] += move.get("output_tokens", 0)
                entry["cost"] += move.get("cost", 0.0)
        return totals


def _death_dict(state: GameState, sid: str) -> dict[str, Any] | None:
    death = state.deaths.get(sid)
    return None if death is None else {"reason": death.reason, "round": death.round}


def _metadata(
    game: dict[str, Any], players: dict[str, dict[str, Any]], final: GameState
) -> dict[str, Any]:
    """The original's summary block, kept because its tools still read it."""
    return {
        "game_id": game["id"],
        "start_time": game["started_at"],
        "end_time": game["ended_at"],
        "models": {sid: p["name"] for sid, p in players.items()},
        "game_result": final.results,
        "final_scores": dict(final.scores),
        "death_info": {sid: p["death"] for sid, p in players.items() if p["death"]},
        "max_rounds": game["max_rounds"],
        "actual_rounds": game["rounds_played"],
        "total_cost": sum(p["totals"]["cost"] for p in players.values()),
        "player_costs": {sid: p["totals"]["cost"] for sid, p in players.items()},
    }


def write_replay(path: str | Path, document: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a replay."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
    tmp.replace(target)
    return target
