"""Build the replay of a game played on past the apple target, in the original's file
format of December 2025, for `replay verify`'s inference of that rule variant.

    python scripts/make_played_on_replay.py [--out tests/fixtures/constructed/...json]

Why it is constructed: the original SnakeBench had no apple target until January
2026 (its engine ended a game only at `max_rounds` or when at most one snake was
alive; `APPLE_TARGET = 30` came later), so its earlier games could play on past 30
apples. None of the 26 recorded games in tests/fixtures/upstream-replays gets there
(the highest score is 16), so this file stands in for one: the December-2025 shape
of those files (post-move frames, the `metadata` summary block, no `game.rules`, no
seed), rounds that follow docs/RULES.md with the apple target off, and apples spawned
on free cells where the script chooses (the original spawned them at random).

The game: snake 0 follows a loop through the bottom six rows and snake 1 a loop
through the top three; apples appear a few cells ahead of each head until snake 0
has 34 apples and snake 1 has 6, and on spare cells after that. Snake 0 reaches 30
apples and play goes on until snake 1 turns into the top wall. Deterministic: the
same script writes the same file.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from snakebench.engine import DELTAS, Cell, GameState, Rules, start_state, step
from snakebench.engine.replay import ReplayBuilder

OUT = Path("tests/fixtures/constructed/played-on-past-apple-target.json")
RULES = Rules(width=10, height=10, num_apples=5, max_rounds=150).without_apple_target()
STARTED = datetime(2025, 12, 9, 14, 2, 11, 482913)
FED_UNTIL = {"0": 34, "1": 6}  # apples each snake is fed before apples go to spare cells
BLUNDER_AFTER = 10  # rounds after snake 0 reaches 30 apples, snake 1 may hit the wall


def loop_bottom() -> list[Cell]:
    """A cycle through rows 0-5: along row 0, a serpentine over x 1-9 of rows 1-5,
    back down column 0."""
    cells: list[Cell] = [(x, 0) for x in range(10)]
    for y in range(1, 6):
        xs = range(9, 0, -1) if y % 2 else range(1, 10)
        cells += [(x, y) for x in xs]
    return cells + [(0, y) for y in range(5, 0, -1)]


def loop_top() -> list[Cell]:
    """The rim of x 1-8, rows 7-9."""
    return (
        [(x, 7) for x in range(1, 9)]
        + [(8, 8), (8, 9)]
        + [(x, 9) for x in range(7, 0, -1)]
        + [(1, 8)]
    )


LOOPS = {"0": loop_bottom(), "1": loop_top()}
SPARE: list[Cell] = [(x, 6) for x in range(10)] + [(0, 7), (9, 7), (0, 8), (9, 8)]


def direction(head: Cell, target: Cell) -> str:
    delta = (target[0] - head[0], target[1] - head[1])
    return next(str(name) for name, d in DELTAS.items() if d == delta)


class Planner:
    """Chooses each snake's move (the next cell of its loop) and each new apple."""

    def __init__(self) -> None:
        self.rng = random.Random(2025)
        self.position = {"0": 0, "1": 0}  # each head's index on its loop
        self.fed = {"0": 0, "1": 0}
        self.feed: dict[str, Cell | None] = {sid: self.ahead(sid, 1) for sid in LOOPS}
        self.spare = list(SPARE)
        self.thirty_at: int | None = None

    def ahead(self, sid: str, moved: int) -> Cell:
        """A cell 1 to 4 steps ahead of where the head will be after ``moved`` steps."""
        loop = LOOPS[sid]
        return loop[(self.position[sid] + moved + self.rng.randint(1, 4)) % len(loop)]

    def start_state(self) -> GameState:
        apples = [self.feed["0"], self.feed["1"], *(self.spare.pop() for _ in range(3))]
        return start_state({sid: [loop[0]] for sid, loop in LOOPS.items()}, apples)

    def moves(self, state: GameState) -> dict[str, str]:
        picks = {}
        for sid in state.alive_ids():
            loop, head = LOOPS[sid], state.snakes[sid][0]
            picks[sid] = direction(head, loop[(self.position[sid] + 1) % len(loop)])
        late = self.thirty_at is not None and state.round >= self.thirty_at + BLUNDER_AFTER
        if late and state.snakes["1"][0][1] == 9 and picks["1"] == "LEFT":
            picks["1"] = "UP"  # into the wall above the top row
        return picks

    def new_apples(self) -> list[Cell]:
        """The apples that replace the feed apples eaten this round, in snake order:
        the next feed a few cells ahead, or a spare cell once the snake is fed."""
        new = []
        for sid, loop in LOOPS.items():
            if self.feed[sid] != loop[(self.position[sid] + 1) % len(loop)]:
                continue
            self.fed[sid] += 1
            if self.fed[sid] < FED_UNTIL[sid]:
                cell = self.ahead(sid, 1)
                self.feed[sid] = cell
            else:
                cell = self.spare.pop()
                self.feed[sid] = None
            new.append(cell)
        return new

    def advance(self, after: GameState) -> None:
        for sid in after.alive_ids():
            self.position[sid] = (self.position[sid] + 1) % len(LOOPS[sid])
        if self.thirty_at is None and max(after.scores.values()) >= 30:
            self.thirty_at = after.round


def move_record(sid: str, index: int, move: str) -> dict[str, object]:
    """What the original recorded for a move; the tokens and prices are made up."""
    input_tokens = 900 + 12 * index + 40 * int(sid)
    output_tokens = 150 + (index * 37 + 11 * int(sid)) % 100
    return {
        "move": move,
        "rationale": f"Keeping to my loop, which is clear ahead. {move}",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost": round(input_tokens * 0.25e-6 + output_tokens * 2e-6, 8),
    }


def build() -> dict[str, object]:
    planner = Planner()
    state = planner.start_state()
    players = {sid: {"model_id": sid, "name": f"constructed/loop-{sid}"} for sid in LOOPS}
    builder = ReplayBuilder(
        "constructed-played-on-past-apple-target", RULES, players, state, STARTED, "constructed"
    )
    while not state.over:
        picks = planner.moves(state)
        new = planner.new_apples()
        after = step(state, picks, RULES, lambda *_, spawned=new: spawned)
        moves = {sid: move_record(sid, state.round, move) for sid, move in picks.items()}
        builder.add_round(moves, after)
        planner.advance(after)
        state = after
    assert planner.thirty_at is not None and state.round > planner.thirty_at
    document = builder.build(state, STARTED + timedelta(seconds=41 * state.round))
    game = document["game"]
    for ours in ("rules", "seed", "status"):  # keys the original did not write
        del game[ours]
    return document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
