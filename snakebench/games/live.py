"""Live boards: a worker publishes each round's state to Redis, the web app reads it.

One ``SET snakebench:live:<game id> ... EX`` per round (a JSON of the round and the state),
with a TTL so a killed worker's board disappears by itself; the key is deleted when
the game ends. At most one per :data:`MIN_INTERVAL`: an LLM round takes longer than
that, so each is shown, while a bot game's hundreds of rounds a second would cost
a third of its CPU in boards nobody can watch that fast (docs/PERFORMANCE.md).
Publishing is best effort: a failure is logged and the game goes on,
and after one the publisher stays quiet for :data:`BACKOFF_SECONDS`, so an unreachable
Redis costs at most one connection timeout per back-off rather than one per round.
The database stays the truth: which games are running comes from it, not from here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import redis

from snakebench.engine import GameState
from snakebench.engine.replay import state_to_dict
from snakebench.players.base import MoveDecision

KEY_PREFIX = "snakebench:live:"
TTL_SECONDS = 120
BACKOFF_SECONDS = 30.0
MIN_INTERVAL = 0.2  # seconds between two boards of one game (the page polls each second)

RoundHook = Callable[[GameState, Mapping[str, MoveDecision]], None]

log = logging.getLogger(__name__)


def live_key(game_id: str) -> str:
    return f"{KEY_PREFIX}{game_id}"


def board_document(game_id: str, state: GameState) -> dict[str, Any]:
    """What is published for one round: the game, the round, the board and when."""
    return {
        "game_id": game_id,
        "round": state.round,
        "state": state_to_dict(state),
        "updated_at": datetime.now(UTC).isoformat(),
    }


class LivePublisher:
    """A round hook publishing the board after each round; :meth:`clear` at the end."""

    def __init__(
        self,
        connection: redis.Redis,
        game_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.game_id = game_id
        self.clock = clock
        self.quiet_until = 0.0

    def __call__(self, state: GameState, decisions: Mapping[str, MoveDecision]) -> None:
        now = self.clock()
        if now < self.quiet_until:
            return
        self.quiet_until = now + MIN_INTERVAL
        document = json.dumps(board_document(self.game_id, state), separators=(",", ":"))
        try:
            self.connection.set(live_key(self.game_id), document, ex=TTL_SECONDS)
        except (redis.RedisError, OSError) as exc:
            self.quiet_until = self.clock() + BACKOFF_SECONDS
            log.warning("game %s: live board not published: %s", self.game_id, exc)

    def clear(self) -> None:
        try:
            self.connection.delete(live_key(self.game_id))
        except (redis.RedisError, OSError) as exc:  # the TTL removes it anyway
            log.warning("game %s: live board not removed: %s", self.game_id, exc)


@contextmanager
def publishing(
    connection: redis.Redis | None, game_id: str, on_round: RoundHook | None = None
) -> Iterator[RoundHook | None]:
    """The round hook to play with: ``on_round`` plus publishing to ``connection``
    (nothing more when it is None, e.g. a game played in process without Redis). The
    board is removed when the block ends, however it ends."""
    if connection is None:
        yield on_round
        return
    publisher = LivePublisher(connection, game_id)

    def hook(state: GameState, decisions: Mapping[str, MoveDecision]) -> None:
        if on_round is not None:
            on_round(state, decisions)
        publisher(state, decisions)

    try:
        yield hook
    finally:
        publisher.clear()


def read_many(connection: redis.Redis, game_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The published boards of ``game_ids`` (one MGET); games without one are left
    out, and so is a value that is not a board (logged)."""
    if not game_ids:
        return {}
    values: list[Any] = connection.mget([live_key(game_id) for game_id in game_ids])
    found: dict[str, dict[str, Any]] = {}
    for game_id, raw in zip(game_ids, values, strict=True):
        if raw is None:
            continue
        try:
            document = json.loads(raw)
        except (ValueError, TypeError):
            log.warning("game %s: unreadable live board ignored", game_id)
            continue
        if isinstance(document, dict):
            found[game_id] = document
    return found
