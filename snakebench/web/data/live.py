"""Running games with the board their worker last published to Redis, and one game
as its live page follows it (the board and its players' thoughts)."""

from __future__ import annotations

import time
from typing import Any

import redis

from snakebench.games.live import no_thoughts
from snakebench.store import (
    FINAL_GAME_STATUSES,
    Game,
    Participant,
    game_participants,
    get_game,
    lineups,
    running_games,
)
from snakebench.web.data.common import MAX_LIMIT, published_boards, require_int, with_store


@with_store
def live_games(limit: int = 50, connection: redis.Redis | None = None) -> list[dict[str, Any]]:
    """Running games, newest start first, with the board their worker last published
    (``state`` and ``updated_at`` are None until the first round, or when Redis
    cannot be read: the list itself comes from the database). ``connection``
    defaults to the app's Redis."""
    require_int("limit", limit, 1, MAX_LIMIT)
    games = running_games(limit)
    boards_by_id = published_boards([game.id for game in games], connection)
    by_game = lineups(game.id for game in games)
    return [_live_dict(game, by_game.get(game.id, []), boards_by_id.get(game.id)) for game in games]


def _live_dict(
    game: Game, lineup: list[Participant], board: dict[str, Any] | None
) -> dict[str, Any]:
    board = board or {}
    return {
        "game_id": game.id,
        "round": board.get("round", game.rounds),
        "max_rounds": game.max_rounds,
        "width": game.width,
        "height": game.height,
        "players": [{"slot": p.slot, "model": p.model.name} for p in lineup],
        "state": board.get("state"),
        "updated_at": board.get("updated_at"),
    }


@with_store
def live_game(game_id: str, connection: redis.Redis | None = None) -> dict[str, Any]:
    """One game as its live page follows it. ``status`` and ``finished`` come from the
    database (a finished game's replay is at ``/games/<id>``); while it runs, the
    document its worker last published gives the round, the board (``state``, None
    before the first) and, in ``players`` by slot, each snake's latest ``rationale``,
    its ``rationale_round``, the ``move`` it chose, and ``thinking_since`` (Unix time
    its move was asked for, None when none is awaited). ``server_time`` (Unix time)
    lets a page time the wait on its own clock. Unknown ids raise :class:`UnknownGameError`."""
    game = get_game(game_id)
    lineup = game_participants(game_id)
    finished = game.status in FINAL_GAME_STATUSES
    board = {} if finished else published_boards([game.id], connection).get(game.id, {})
    published = board.get("players")
    published = published if isinstance(published, dict) else {}
    return {
        "game_id": game.id,
        "status": game.status,
        "finished": finished,
        "round": board.get("round", game.rounds),
        "max_rounds": game.max_rounds,
        "width": game.width,
        "height": game.height,
        "models": {str(p.slot): p.model.name for p in lineup},
        "players": {str(p.slot): _thoughts(published.get(str(p.slot))) for p in lineup},
        "state": board.get("state"),
        "updated_at": board.get("updated_at"),
        "server_time": time.time(),
    }


def _thoughts(raw: Any) -> dict[str, Any]:
    """A published player entry with the types it must have (defaults otherwise)."""
    entry = no_thoughts()
    if not isinstance(raw, dict):
        return entry
    for text in ("rationale", "move"):
        if isinstance(raw.get(text), str):
            entry[text] = raw[text]
    if type(raw.get("rationale_round")) is int:
        entry["rationale_round"] = raw["rationale_round"]
    since = raw.get("thinking_since")
    if isinstance(since, int | float) and not isinstance(since, bool):
        entry["thinking_since"] = float(since)
    return entry
