"""Engine speed on one core: rounds per second of the bare step, and complete bot
games per second with the replay built in memory.

    python scripts/bench_engine.py [--seconds 5] [--games 200] [--repeat 5]

The step is measured on recorded bot games (greedy v survivor: long games in which
snakes grow and apples are eaten and re-spawned), replayed move for move. The
baseline row in the same run replays the same games through a minimal
transcription of the original engine's round (mutable lists, same death checks)
with the recorded apples handed to it, so it pays nothing for randomness: a lower
bound on the original's cost per round.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from snakebench.engine import Cell, GameState, Rules, SeededSpawner, new_game, step
from snakebench.games.loop import GameSetup, play_game
from snakebench.players import Turn, make_bot

DELTA = {"UP": (0, 1), "DOWN": (0, -1), "LEFT": (-1, 0), "RIGHT": (1, 0)}
RULES = Rules(max_rounds=100)


@dataclass
class Recording:
    seed: int
    start: GameState
    moves: list[dict[str, str]]
    spawns: list[Cell]  # every apple added after the start, in order


def record_games(count: int) -> list[Recording]:
    """Bot games to replay (not timed)."""
    games = []
    for seed in range(count):
        state = start = new_game(RULES, seed)
        bots = {"0": make_bot("greedy", seed), "1": make_bot("survivor", seed)}
        spawn, moves, spawns = SeededSpawner(seed), [], []
        while not state.over:
            picks = {
                sid: bots[sid].choose(Turn(sid, state, RULES)).move for sid in state.alive_ids()
            }
            after = step(state, picks, RULES, spawn)
            kept = [a for a in state.apples if a in after.apples]
            spawns.extend(after.apples[len(kept) :])
            moves.append({sid: str(m) for sid, m in picks.items()})
            state = after
        games.append(Recording(seed, start, moves, spawns))
    return games


def timed(run: Callable[[], int], seconds: float) -> tuple[int, float]:
    """Call ``run`` (which returns a work count) until ``seconds`` pass."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += run()
    return done, time.perf_counter() - start


def best_rate(run: Callable[[], int], seconds: float, repeat: int) -> tuple[int, float]:
    """The fastest of ``repeat`` timings: other load on a shared machine only ever
    slows a run down, so the best one is the closest to the code's own speed."""
    return max((timed(run, seconds / repeat) for _ in range(repeat)), key=lambda r: r[0] / r[1])


def snakebench_replay(games: list[Recording]) -> Callable[[], int]:
    def run() -> int:
        rounds = 0
        for game in games:
            state, spawn = game.start, SeededSpawner(game.seed)
            for moves in game.moves:
                state = step(state, moves, RULES, spawn)
            rounds += len(game.moves)
        return rounds

    return run


def original_style_replay(games: list[Recording]) -> Callable[[], int]:
    def run() -> int:
        rounds = 0
        for game in games:
            rounds += _original_round_loop(game)
        return rounds

    return run


def _original_round_loop(game: Recording) -> int:
    """The original's round, transcribed: proposed bodies, wall / head / body checks,
    fatal round not applied, apples removed then refilled (from the recording)."""
    snakes = {sid: list(body) for sid, body in game.start.snakes.items()}
    apples = list(game.start.apples)
    spawns = iter(game.spawns)
    scores = {sid: 0 for sid in snakes}
    for played, picks in enumerate(game.moves, start=1):
        heads = {}
        for sid, move in picks.items():
            dx, dy = DELTA[move]
            heads[sid] = (snakes[sid][0][0] + dx, snakes[sid][0][1] + dy)
        eats = {sid: heads[sid] in apples for sid in snakes}
        bodies = {
            sid: [heads[sid], *snakes[sid]] if eats[sid] else [heads[sid], *snakes[sid][:-1]]
            for sid in snakes
        }
        dead = {
            sid
            for sid, (x, y) in heads.items()
            if not (0 <= x < RULES.width and 0 <= y < RULES.height)
        }
        if heads["0"] == heads["1"]:
            dead |= {"0", "1"}
        cells: set[Cell] = set()
        for sid in snakes:
            if sid not in dead:
                cells.update(bodies[sid][1:])
        dead |= {sid for sid in snakes if sid not in dead and heads[sid] in cells}
        if dead:
            return played
        for sid in snakes:
            snakes[sid] = bodies[sid]
            if eats[sid]:
                scores[sid] += 1
                apples.remove(heads[sid])
        while len(apples) < RULES.num_apples:
            apples.append(next(spawns))
    return len(game.moves)


def bot_games(a: str, b: str) -> Callable[[], int]:
    seed = [0]

    def run() -> int:
        seed[0] += 1
        setup = GameSetup(str(seed[0]), RULES, seed[0], {"0": a, "1": b})
        play_game(setup, {"0": make_bot(a, seed[0]), "1": make_bot(b, seed[0] + 1)})
        return 1

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per row")
    parser.add_argument("--games", type=int, default=200, help="recorded games to replay")
    parser.add_argument("--repeat", type=int, default=5, help="timings per row; the best counts")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as promised
    games = record_games(args.games)
    rounds = sum(len(g.moves) for g in games)
    eaten = sum(len(g.spawns) for g in games)
    print(f"replaying {len(games)} greedy v survivor games: {rounds:,} rounds, {eaten:,} apples")
    print(f"{'measurement':52} {'count':>10} {'seconds':>8} {'per second':>12}")
    rows = [
        ("baseline: original-style round (rounds)", original_style_replay(games)),
        ("snakebench step (rounds)", snakebench_replay(games)),
        ("bot games random v random (games)", bot_games("random", "random")),
        ("bot games greedy v random (games)", bot_games("greedy", "random")),
        ("bot games greedy v greedy (games)", bot_games("greedy", "greedy")),
        ("bot games survivor v greedy (games)", bot_games("survivor", "greedy")),
    ]
    for label, run in rows:
        count, elapsed = best_rate(run, args.seconds, args.repeat)
        print(f"{label:52} {count:>10,} {elapsed:>8.2f} {count / elapsed:>12,.0f}")


if __name__ == "__main__":
    main()
