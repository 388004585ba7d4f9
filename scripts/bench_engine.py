"""Engine speed on one core: rounds per second of the bare step, and complete bot
games per second with the replay built in memory.

    python scripts/bench_engine.py [--seconds 3]

The baseline row in the same run is a minimal re-implementation of the original
engine's round (list-based bodies, ``random.randint`` rejection sampling for apples,
the same death checks), so the figures compare like with like on this machine.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable

from snakebench.engine import DIRECTIONS, Rules, SeededSpawner, new_game, step
from snakebench.game import GameSetup, play_game
from snakebench.players import make_bot

DELTA = {"UP": (0, 1), "DOWN": (0, -1), "LEFT": (-1, 0), "RIGHT": (1, 0)}


def timed(run: Callable[[], int], seconds: float) -> tuple[int, float]:
    """Call ``run`` (which returns a work count) until ``seconds`` pass."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += run()
    return done, time.perf_counter() - start


def random_moves(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(DIRECTIONS) for _ in range(count)]


def bare_steps(rules: Rules, moves: list[str]) -> Callable[[], int]:
    """Random games played only through ``step``; moves are drawn beforehand."""
    seed = [0]

    def run() -> int:
        seed[0] += 1
        state, spawn, rounds = new_game(rules, seed[0]), SeededSpawner(seed[0]), 0
        while not state.over:
            m = moves[(rounds * 2 + seed[0]) % (len(moves) - 1)]
            n = moves[(rounds * 2 + seed[0] + 1) % (len(moves) - 1)]
            state = step(state, {"0": m, "1": n}, rules, spawn)
            rounds += 1
        return rounds

    return run


def original_style_steps(rules: Rules, moves: list[str]) -> Callable[[], int]:
    """The baseline: the original's round structure, transcribed minimally."""
    seed = [0]

    def free_cell(
        rng: random.Random, snakes: dict[str, list[tuple[int, int]]], apples: list
    ) -> tuple[int, int]:  # type: ignore[type-arg]
        while True:
            cell = (rng.randint(0, rules.width - 1), rng.randint(0, rules.height - 1))
            if not any(cell in s for s in snakes.values()) and cell not in apples:
                return cell

    def run() -> int:
        seed[0] += 1
        rng = random.Random(seed[0])
        snakes: dict[str, list[tuple[int, int]]] = {}
        apples: list[tuple[int, int]] = []
        for _ in range(rules.num_apples):
            apples.append(free_cell(rng, snakes, apples))
        for sid in ("0", "1"):
            snakes[sid] = [free_cell(rng, snakes, apples)]
        scores = {"0": 0, "1": 0}
        rounds = 0
        while True:
            picks = {
                "0": moves[(rounds * 2 + seed[0]) % (len(moves) - 1)],
                "1": moves[(rounds * 2 + seed[0] + 1) % (len(moves) - 1)],
            }
            heads = {}
            for sid, move in picks.items():
                dx, dy = DELTA[move]
                heads[sid] = (snakes[sid][0][0] + dx, snakes[sid][0][1] + dy)
            eats = {sid: heads[sid] in apples for sid in snakes}
            bodies = {
                sid: [heads[sid], *snakes[sid]] if eats[sid] else [heads[sid], *snakes[sid][:-1]]
                for sid in snakes
            }
            dead = set()
            for sid, (x, y) in heads.items():
                if not (0 <= x < rules.width and 0 <= y < rules.height):
                    dead.add(sid)
            if heads["0"] == heads["1"]:
                dead |= {"0", "1"}
            cells = set()
            for sid in snakes:
                if sid not in dead:
                    cells.update(bodies[sid][1:])
            dead |= {sid for sid in snakes if sid not in dead and heads[sid] in cells}
            rounds += 1
            if dead:
                return rounds
            for sid in snakes:
                snakes[sid] = bodies[sid]
                if eats[sid]:
                    scores[sid] += 1
                    apples.remove(heads[sid])
            while len(apples) < rules.num_apples:
                apples.append(free_cell(rng, snakes, apples))
            if rounds >= rules.max_rounds or max(scores.values()) >= rules.apple_target:
                return rounds

    return run


def bot_games(rules: Rules, a: str, b: str) -> Callable[[], int]:
    seed = [0]

    def run() -> int:
        seed[0] += 1
        setup = GameSetup(str(seed[0]), rules, seed[0], {"0": a, "1": b})
        play_game(setup, {"0": make_bot(a, seed[0]), "1": make_bot(b, seed[0] + 1)})
        return 1

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as promised
    rules = Rules(max_rounds=100)
    moves = random_moves(10_007)
    print(f"{'measurement':44} {'count':>10} {'seconds':>8} {'per second':>12}")
    rows = [
        ("baseline: original-style round (rounds)", original_style_steps(rules, moves)),
        ("snakebench step (rounds)", bare_steps(rules, moves)),
        ("bot games random v random (games)", bot_games(rules, "random", "random")),
        ("bot games greedy v random (games)", bot_games(rules, "greedy", "random")),
        ("bot games greedy v greedy (games)", bot_games(rules, "greedy", "greedy")),
        ("bot games survivor v greedy (games)", bot_games(rules, "survivor", "greedy")),
    ]
    for label, run in rows:
        count, elapsed = timed(run, args.seconds)
        print(f"{label:44} {count:>10,} {elapsed:>8.2f} {count / elapsed:>12,.0f}")


if __name__ == "__main__":
    main()
