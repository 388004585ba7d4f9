"""Running games with the board their worker last published to Redis."""

from __future__ import annotations

from typing import Any

import redis

from snakebench.store import Game, Participant, lineups, running_games
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
