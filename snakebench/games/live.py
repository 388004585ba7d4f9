"""Live boards: a worker publishes each round's state to Redis, the web app reads it.

One ``SET snakebench:live:<game id> ... EX`` per round (a JSON of the round, the state
and each snake's latest rationale and how long its move has been awaited), with a TTL
so a killed worker's board disappears by itself; the key is deleted when the game
ends. In a game of language models a round's start and each move as it comes back
are published too (a few a round, each round seconds long); otherwise at most one
document per :data:`MIN_INTERVAL`: a bot game's hundreds of rounds a second would cost
a third of its CPU in boards nobody can watch that fast (docs/PERFORMANCE.md). A
document is at most :data:`MAX_DOCUMENT_BYTES`, its rationales cut to fit.

Boards cost nothing while nobody watches. Every read of boards (:func:`read_many`, the
web's pages and API) sets :data:`WATCHED_KEY` for :data:`WATCHED_TTL` seconds; a
process looks at it at most once per :data:`WATCH_CHECK` seconds for all its publishers
(:class:`WatchedFlag`: a worker playing 32 games sends one ``EXISTS`` a second, not 32)
and they publish only while it is set, so a watcher sees boards within a couple of
seconds of looking. A bot
game publishes nothing in its first :data:`MIN_INTERVAL` (most have ended by then: no
command at all), and a game nobody watches still publishes one board every
:data:`HEARTBEAT_SECONDS`: the stale-games sweep reads a board as "still being played".
Publishing is best effort: a failure is logged and the game goes on,
and after one the publisher stays quiet for :data:`BACKOFF_SECONDS`, so an unreachable
Redis costs at most one connection timeout per back-off rather than one per round.
The database stays the truth: which games are running comes from it, not from here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import redis

from snakebench.engine import GameState
from snakebench.engine.replay import state_to_dict
from snakebench.games.loop import GameHooks, RoundHook
from snakebench.players.base import MoveDecision

KEY_PREFIX = "snakebench:live:"
TTL_SECONDS = 120
WATCHED_KEY = "snakebench:live-watched"  # set while someone reads boards
WATCHED_TTL = 60  # seconds a read keeps boards coming (pages poll each second)
WATCH_CHECK = 1.0  # seconds between a publisher's looks at WATCHED_KEY
HEARTBEAT_SECONDS = 30.0  # an unwatched game's board, well within TTL_SECONDS
BACKOFF_SECONDS = 30.0
MIN_INTERVAL = 0.2  # seconds between two boards of one game (the page polls each second)
MAX_RATIONALE_CHARS = 2000  # a rationale longer than this is cut, ending in an ellipsis
MAX_DOCUMENT_BYTES = 64_000  # a whole document, UTF-8; rationales are cut further to fit

log = logging.getLogger(__name__)


class WatchedFlag:
    """Whether someone reads boards (:data:`WATCHED_KEY`), as the publishers of one
    process that share a Redis connection pool last looked it up: at most once per
    :data:`WATCH_CHECK` for all of them, whoever's turn it is to ask."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.check_at = 0.0  # the next look at WATCHED_KEY
        self.watched = False

    @classmethod
    def of(cls, connection: redis.Redis) -> WatchedFlag:
        """The flag of ``connection``'s pool (made on first use)."""
        pool = connection.connection_pool
        with _FLAGS_LOCK:
            flag = _FLAGS.get(pool)
            if flag is None:
                flag = _FLAGS[pool] = cls()
        return flag


_FLAGS: weakref.WeakKeyDictionary[Any, WatchedFlag] = weakref.WeakKeyDictionary()
_FLAGS_LOCK = threading.Lock()


def live_key(game_id: str) -> str:
    return f"{KEY_PREFIX}{game_id}"


def board_document(
    game_id: str, state: GameState, players: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """What is published for one round: the game, the round, the board, when, and each
    snake's latest thoughts (see :class:`LivePublisher`)."""
    return {
        "game_id": game_id,
        "round": state.round,
        "state": state_to_dict(state),
        "updated_at": datetime.now(UTC).isoformat(),
        "players": {sid: dict(entry) for sid, entry in (players or {}).items()},
    }


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the last one an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "\u2026" if limit > 0 else ""


def encode_bounded(document: dict[str, Any]) -> str | None:
    """``document`` as compact JSON of at most :data:`MAX_DOCUMENT_BYTES` (UTF-8), its
    players' rationales cut as far as needed (to :data:`MAX_RATIONALE_CHARS` first);
    None when even without rationales it would not fit."""
    players: dict[str, dict[str, Any]] = document.get("players", {})
    limit = MAX_RATIONALE_CHARS
    while True:
        document["players"] = {
            sid: {**entry, "rationale": clip(str(entry.get("rationale", "")), limit)}
            for sid, entry in players.items()
        }
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        if len(text.encode()) <= MAX_DOCUMENT_BYTES:
            return text
        if limit == 0:
            return None
        limit //= 4


class LivePublisher:
    """Publishes a game's live document: a round hook (called with each round played),
    plus :meth:`round_started` and :meth:`moved` for the moves in between; :meth:`clear`
    at the end.

    The document's ``players`` holds, per snake id, ``rationale`` (its latest move's,
    at most :data:`MAX_RATIONALE_CHARS`), ``rationale_round`` (the round that move was
    for, counted from 1 as ``round`` is; 0 before its first) and ``thinking_since``
    (Unix time its current move was asked for; null when none is awaited), and the
    ``move`` that rationale chose (``""`` before the first). With
    ``remote`` (a language model plays) every round start and move is published, so a
    watcher sees who is being waited for; rounds played, and everything in a game of
    bots, come at most once per :data:`MIN_INTERVAL`."""

    def __init__(
        self,
        connection: redis.Redis,
        game_id: str,
        clock: Callable[[], float] = time.monotonic,
        *,
        wall: Callable[[], float] = time.time,
        remote: bool = False,
    ) -> None:
        self.connection = connection
        self.game_id = game_id
        self.clock = clock
        self.wall = wall
        self.remote = remote
        started = clock()
        # No board before this (MIN_INTERVAL); a bot game's first only after one interval.
        self.quiet_until = 0.0 if remote else started + MIN_INTERVAL
        self.backoff_until = 0.0  # nothing at all before this (after a Redis failure)
        self.watch_flag = WatchedFlag.of(connection)  # shared by the process's publishers
        self.heartbeat_at = started + HEARTBEAT_SECONDS  # the next board, watched or not
        self.published = False  # a board of this run is in Redis: delete it at the end
        self.state: GameState | None = None
        self.players: dict[str, dict[str, Any]] = {}

    def __call__(self, state: GameState, decisions: Mapping[str, MoveDecision]) -> None:
        self._seen(state)
        self._publish(force=False)

    def round_started(self, state: GameState) -> None:
        self._seen(state)
        asked = self.wall()
        for sid in state.alive_ids():
            self.players[sid]["thinking_since"] = asked
        self._publish(force=self.remote)

    def moved(self, snake_id: str, decision: MoveDecision) -> None:
        entry = self.players.setdefault(snake_id, no_thoughts())
        entry["rationale"] = clip(decision.rationale, MAX_RATIONALE_CHARS)
        entry["rationale_round"] = (self.state.round if self.state else 0) + 1
        entry["thinking_since"] = None
        entry["move"] = str(decision.move)
        self._publish(force=self.remote)

    def hooks(self, on_round: RoundHook | None = None) -> GameHooks:
        """The hooks to play with: ``on_round`` (first), then this publisher."""

        def played(state: GameState, decisions: Mapping[str, MoveDecision]) -> None:
            if on_round is not None:
                on_round(state, decisions)
            self(state, decisions)

        return GameHooks(on_round=played, on_round_start=self.round_started, on_move=self.moved)

    def _seen(self, state: GameState) -> None:
        self.state = state
        for sid in state.snakes:
            self.players.setdefault(sid, no_thoughts())

    def _publish(self, *, force: bool) -> None:
        now = self.clock()
        if self.state is None or now < self.backoff_until or (not force and now < self.quiet_until):
            return
        if not self._wanted(now):
            return
        self.quiet_until = now + MIN_INTERVAL
        self.heartbeat_at = now + HEARTBEAT_SECONDS
        document = encode_bounded(board_document(self.game_id, self.state, self.players))
        if document is None:
            log.warning("game %s: live board over %d bytes, not published", self.game_id,
                        MAX_DOCUMENT_BYTES)  # fmt: skip
            return
        try:
            self.connection.set(live_key(self.game_id), document, ex=TTL_SECONDS)
            self.published = True
        except (redis.RedisError, OSError) as exc:
            self._failed("live board not published", exc)

    def _wanted(self, now: float) -> bool:
        """Whether a board is worth a command now: someone watches (looked up at most
        every WATCH_CHECK by one of the process's publishers), or the heartbeat is due."""
        if now >= self.heartbeat_at:
            return True
        flag = self.watch_flag
        with flag.lock:
            if now >= flag.check_at:
                flag.check_at = now + WATCH_CHECK
                try:
                    flag.watched = bool(self.connection.exists(WATCHED_KEY))
                except (redis.RedisError, OSError) as exc:
                    flag.watched = False  # the process's other games stay quiet too
                    self._failed("live board not published", exc)
                    return False
            return flag.watched

    def _failed(self, what: str, exc: BaseException) -> None:
        self.backoff_until = self.clock() + BACKOFF_SECONDS
        log.warning("game %s: %s: %s", self.game_id, what, exc)

    def clear(self) -> None:
        """Delete this run's board, if it published one (an earlier run's expires)."""
        if not self.published:
            return
        try:
            self.connection.delete(live_key(self.game_id))
        except (redis.RedisError, OSError) as exc:  # the TTL removes it anyway
            log.warning("game %s: live board not removed: %s", self.game_id, exc)


def no_thoughts() -> dict[str, Any]:
    """A snake's entry before its first move: no rationale, nothing awaited."""
    return {"rationale": "", "rationale_round": 0, "thinking_since": None, "move": ""}


@contextmanager
def publishing(
    connection: redis.Redis | None,
    game_id: str,
    on_round: RoundHook | None = None,
    *,
    remote: bool = False,
) -> Iterator[GameHooks]:
    """The hooks to play with: ``on_round`` plus publishing to ``connection`` (nothing
    more when it is None, e.g. a game played in process without Redis); ``remote`` as
    :class:`LivePublisher` takes it. The board is removed when the block ends, however
    it ends."""
    if connection is None:
        yield GameHooks(on_round=on_round)
        return
    publisher = LivePublisher(connection, game_id, remote=remote)
    try:
        yield publisher.hooks(on_round)
    finally:
        publisher.clear()


def mark_watched(connection: redis.Redis) -> None:
    """Tell publishers that someone reads boards (for :data:`WATCHED_TTL` seconds)."""
    connection.set(WATCHED_KEY, 1, ex=WATCHED_TTL)


def read_many(connection: redis.Redis, game_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The published boards of ``game_ids`` (one MGET, sent with :func:`mark_watched`'s
    SET: one round trip); games without one are left out, and so is a value that is
    not a board (logged)."""
    if not game_ids:
        return {}
    with connection.pipeline(transaction=False) as pipe:
        pipe.set(WATCHED_KEY, 1, ex=WATCHED_TTL)
        pipe.mget([live_key(game_id) for game_id in game_ids])
        values: list[Any] = pipe.execute()[1]
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
