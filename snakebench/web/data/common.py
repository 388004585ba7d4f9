"""What every read function shares: argument checks, errors, timestamps, and
opening the app's database first."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import redis
from flask import has_app_context

from snakebench.games import live
from snakebench.web.services import services

MAX_PER_PAGE = 200
# Past this the row offset overflows a 64-bit integer (a 500 from the database).
MAX_PAGE = 10**9
MAX_LIMIT = 500
RECENT_GAMES = 20
MAX_FAILURES = 100

log = logging.getLogger("snakebench.web")

P = ParamSpec("P")
R = TypeVar("R")


class InvalidArgument(ValueError):
    """An argument out of range or of the wrong kind; ``field`` names it (the API
    answers 422 with ``{"error": {"field", "message"}}``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ReplayUnavailableError(LookupError):
    """The game exists but has no readable replay (not played yet, file gone or bad)."""


def with_store(func: Callable[P, R]) -> Callable[P, R]:
    """Open the app's database first when called inside a Flask app, so pages and API
    need not remember to (outside one, the caller has opened the store)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if has_app_context():
            from snakebench.web.services import services

            services().database()
        return func(*args, **kwargs)

    return wrapper


def iso(value: datetime | None) -> str | None:
    """A stored naive-UTC timestamp as ISO 8601 with its offset (``+00:00``)."""
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


def require_int(field: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, "must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidArgument(field, f"must be {bound}, got {value}")
    return value


def published_boards(
    game_ids: list[str], connection: redis.Redis | None = None
) -> dict[str, dict[str, Any]]:
    """The live board each running game's worker last published (round, state with
    scores), by game id; ``connection`` defaults to the app's Redis. Best effort: no
    app, no Redis or an unreadable board just means no board (the database stays the
    truth about which games run)."""
    if not game_ids:
        return {}
    if connection is None:
        if not has_app_context():
            return {}
        connection = services().redis()
    try:
        return live.read_many(connection, game_ids)
    except redis.RedisError as exc:
        log.warning("live boards unavailable: %s", exc)
        return {}
