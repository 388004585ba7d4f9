"""What publishing the players' thoughts costs a worker per round of an LLM game.

    python scripts/bench_live.py [--rounds 2000] [--rationale-chars 300]

Replays the rounds of recorded bot games through :class:`LivePublisher` against a
claimed database of the Redis on 127.0.0.1:6379, as an LLM game's worker calls it, and
prints per round: this process's CPU, wall time, documents sent and bytes sent.

- **board only**: one document per round played, no players (the live board before
  rationales were published, and still a game of bots);
- **with thoughts**: the round's start, each model's move as it comes back and the
  round played (the last skipped, as it comes within MIN_INTERVAL of the last move),
  with rationales of ``--rationale-chars`` characters;
- **with thoughts, 2,000-char rationales**: the same at the bound.

A fake monotonic clock spaces the calls as a 1.5 s LLM round would, so the throttle
decides as it would in a real game; the time spent is real.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import host_speed, table

from snakebench.engine import Direction, GameState, Rules
from snakebench.games.live import MAX_RATIONALE_CHARS, LivePublisher, mark_watched
from snakebench.games.loop import GameSetup, play_game
from snakebench.players.base import MoveDecision
from snakebench.players.bots import make_bot
from snakebench.testing.support import claim_redis_db, holding


class Counting:
    """A Redis client's ``set`` and ``delete``, counting documents and bytes."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.documents = 0
        self.bytes = 0

    def set(self, key: str, value: str, ex: int) -> None:
        self.documents += 1
        self.bytes += len(value.encode())
        self.client.set(key, value, ex=ex)

    def delete(self, key: str) -> None:
        self.client.delete(key)

    def exists(self, key: str) -> int:
        return int(self.client.exists(key))


def recorded_states(rounds: int) -> list[GameState]:
    """At least ``rounds`` round states from bot games (greedy v survivor)."""
    states: list[GameState] = []
    seed = 0
    while len(states) < rounds:
        seed += 1
        setup = GameSetup(f"g{seed}", Rules(max_rounds=100), seed, {"0": "a", "1": "b"})
        players = {"0": make_bot("greedy", seed), "1": make_bot("survivor", seed)}
        play_game(setup, players, lambda state, moves: states.append(state))
    return states[:rounds]


Variant = Callable[[LivePublisher, GameState, GameState, list[float]], None]


def board_only(
    publisher: LivePublisher, before: GameState, after: GameState, clock: list[float]
) -> None:
    clock[0] += 1.5
    publisher(after, {})


def thoughts(chars: int) -> Variant:
    rationale = ("I am heading for the nearest apple, away from the wall. " * 40)[:chars]

    def play(
        publisher: LivePublisher, before: GameState, after: GameState, clock: list[float]
    ) -> None:
        clock[0] += 0.001
        publisher.round_started(before)
        for sid, lag in (("0", 1.2), ("1", 0.3)):
            clock[0] += lag
            publisher.moved(sid, MoveDecision(Direction.UP, rationale=rationale))
        clock[0] += 0.001
        publisher(after, {})

    return play


def measure(connection: redis.Redis, states: list[GameState], variant: Variant) -> list[str]:
    counting = Counting(connection)
    clock = [1000.0]
    publisher = LivePublisher(counting, "bench", clock=lambda: clock[0], remote=True)  # type: ignore[arg-type]
    previous = states[0]._replace(round=0)
    cpu, wall = time.process_time(), time.perf_counter()
    for state in states:
        variant(publisher, previous, state, clock)
        previous = state
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    publisher.clear()
    n = len(states)
    return [
        f"{cpu / n * 1e6:,.0f}",
        f"{wall / n * 1e6:,.0f}",
        f"{counting.documents / n:.2f}",
        f"{counting.bytes / n:,.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--rationale-chars", type=int, default=300)
    args = parser.parse_args()
    states = recorded_states(args.rounds)
    variants: list[tuple[str, Variant]] = [
        ("board only (before; bot games)", board_only),
        (f"with thoughts, {args.rationale_chars}-char rationales", thoughts(args.rationale_chars)),
        (f"with thoughts, {MAX_RATIONALE_CHARS}-char rationales", thoughts(MAX_RATIONALE_CHARS)),
    ]
    with holding(claim_redis_db()) as claim:
        connection = redis.Redis.from_url(claim.url)
        mark_watched(connection)  # what is measured: publishing to someone watching
        rows = [[name, *measure(connection, states, variant)] for name, variant in variants]
        connection.close()
    table(
        f"Publishing the live document, per round ({args.rounds} rounds)",
        ["variant", "CPU us", "wall us", "documents", "bytes"],
        rows,
    )
    print(host_speed())


if __name__ == "__main__":
    main()
