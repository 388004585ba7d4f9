"""The leaderboard, with a cached Bradley-Terry fit (a 1,000-resample refit takes a
moment; the cache key changes whenever a game is rated)."""

from __future__ import annotations

import threading
from typing import Any

from snakebench.services import leaderboard as boards
from snakebench.store import database, rated_fingerprint
from snakebench.web.data.common import (
    InvalidArgument,
    require_int,
    with_store,
)

_BT_CACHE: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
_BT_CACHE_SIZE = 16
_bt_lock = threading.Lock()


@with_store
def leaderboard(method: str = "trueskill", min_games: int = 0) -> list[dict[str, Any]]:
    """:func:`snakebench.services.leaderboard.leaderboard` rows as dicts, best first.

    A Bradley-Terry fit with its 1,000 bootstrap resamples takes a moment, so the full
    board is cached per database and the rated games' count and highest ``rating_seq``
    (any newly rated game, or a retirement, changes the key), and ``min_games`` only
    filters it: no query string can make the app fit again. The fit runs under the
    lock, so concurrent requests for a new key fit once.
    """
    if method not in boards.METHODS:
        raise InvalidArgument("method", f"must be one of {', '.join(boards.METHODS)}")
    require_int("min_games", min_games, 0)
    if method != "bt":
        return [row.to_dict() for row in boards.leaderboard(method, min_games=min_games)]
    key = (_database_key(), method, *rated_fingerprint())
    with _bt_lock:
        if key not in _BT_CACHE:
            if len(_BT_CACHE) >= _BT_CACHE_SIZE:
                _BT_CACHE.pop(next(iter(_BT_CACHE)))
            _BT_CACHE[key] = [row.to_dict() for row in boards.leaderboard(method)]
        rows = _BT_CACHE[key]
    return [dict(row) for row in rows if row["games"] >= min_games]


def _database_key() -> tuple[str, str]:
    db: Any = database.obj
    return type(db).__name__, str(getattr(db, "database", ""))
