"""The leaderboard, with a cached Bradley-Terry fit (a 1,000-resample refit takes a
moment; the cache key changes whenever a game is rated)."""

from __future__ import annotations

import threading
from typing import Any

from snakebench.games import prompts as prompt_variants
from snakebench.games.prompts import PromptVariantError
from snakebench.services import leaderboard as boards
from snakebench.store import database, rated_fingerprint
from snakebench.web.data.common import (
    InvalidArgument,
    require_int,
    with_store,
)

_BT_CACHE: dict[tuple[Any, ...], list[boards.Row]] = {}
_BT_CACHE_SIZE = 16
_bt_lock = threading.Lock()


@with_store
def leaderboard(
    method: str = "trueskill", min_games: int = 0, prompt_variant: str | None = None
) -> list[dict[str, Any]]:
    """:func:`snakebench.services.leaderboard.leaderboard` rows as dicts, best first;
    with ``prompt_variant``, records over the games played under it.

    A Bradley-Terry fit with its 1,000 bootstrap resamples takes a moment, so the full
    board is cached per database and the rated games' count and highest ``rating_seq``
    (any newly rated game, or a retirement, changes the key), and ``min_games`` only
    and ``prompt_variant`` only filter it: no query string can make the app fit again.
    The fit runs under the lock, so concurrent requests for a new key fit once.
    """
    if method not in boards.METHODS:
        raise InvalidArgument("method", f"must be one of {', '.join(boards.METHODS)}")
    require_int("min_games", min_games, 0)
    if prompt_variant is not None:
        try:
            prompt_variants.prompt_variant(prompt_variant)
        except PromptVariantError as exc:
            raise InvalidArgument("prompt_variant", str(exc)) from None
    if method != "bt":
        rows = boards.leaderboard(method, min_games=min_games, prompt_variant=prompt_variant)
        return [row.to_dict() for row in rows]
    key = (_database_key(), method, *rated_fingerprint())
    with _bt_lock:
        if key not in _BT_CACHE:
            if len(_BT_CACHE) >= _BT_CACHE_SIZE:
                _BT_CACHE.pop(next(iter(_BT_CACHE)))
            _BT_CACHE[key] = boards.leaderboard(method)
        board = _BT_CACHE[key]
    shown = boards.select_rows(board, min_games=min_games, prompt_variant=prompt_variant)
    return [row.to_dict() for row in shown]


@with_store
def prompt_variant_names() -> list[str]:
    """Every prompt variant's name, removed ones too (their games can still be viewed):
    the leaderboard page's choice."""
    return [variant.name for variant, _ in prompt_variants.known_prompt_variants()]


def _database_key() -> tuple[str, str]:
    db: Any = database.obj
    return type(db).__name__, str(getattr(db, "database", ""))
