"""What the web shows, as plain JSON-ready dicts: shared by the JSON API and the pages.

Every function reads the database (and, for live boards, Redis) and returns dicts and
lists only, so the API serialises them as they are and the templates walk them without
touching peewee. Timestamps are ISO 8601 strings in UTC with an explicit offset.

Inside a Flask app the app's services open the database on first use; outside one the
caller opens the store first (:func:`snakebench.store.open_store`). Unknown ids and names
raise the store's :class:`UnknownGameError`, :class:`UnknownModelError` or
:class:`UnknownBatchError` (all ``LookupError``: a 404); bad arguments raise
:class:`InvalidArgument` (a ``ValueError`` naming the field: a 422).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import peewee as pw
import redis
from flask import has_app_context

from snakebench import leaderboard as boards
from snakebench import live
from snakebench.batches import progress_of
from snakebench.engine.replay import ReplayFormatError, parse_replay
from snakebench.store import (
    GAME_STATUSES,
    Batch,
    Game,
    Model,
    Participant,
    RatingChange,
    UnknownBatchError,
    UnknownGameError,
    UnknownModelError,
    batch_timespan,
    database,
    game_participants,
    get_batch,
    get_game,
    get_model,
    utcnow,
)
from snakebench.store.models import RESULTS
from snakebench.store.rating_queries import rated_game_ids

__all__ = [
    "MAX_PER_PAGE",
    "InvalidArgument",
    "ReplayUnavailableError",
    "UnknownBatchError",
    "UnknownGameError",
    "UnknownModelError",
    "batch_detail",
    "game_detail",
    "game_replay",
    "game_summary",
    "leaderboard",
    "list_batches",
    "list_games",
    "live_games",
    "model_detail",
]

log = logging.getLogger("snakebench.web")

MAX_PER_PAGE = 200
MAX_LIMIT = 500
RECENT_GAMES = 20
MAX_FAILURES = 100

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


def _with_store(func: Callable[P, R]) -> Callable[P, R]:
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


def _require_int(field: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, "must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidArgument(field, f"must be {bound}, got {value}")
    return value


# --- leaderboard ---------------------------------------------------------------------

_BT_CACHE: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
_BT_CACHE_SIZE = 16
_bt_lock = threading.Lock()


@_with_store
def leaderboard(method: str = "trueskill", min_games: int = 0) -> list[dict[str, Any]]:
    """:func:`snakebench.leaderboard.leaderboard` rows as dicts, best first.

    A Bradley-Terry fit with its 1,000 bootstrap resamples takes a moment, so it is
    cached per database, method, ``min_games`` and the rated games' count and highest
    ``rating_seq``: any newly rated game (or a retirement) changes the key.
    """
    if method not in boards.METHODS:
        raise InvalidArgument("method", f"must be one of {', '.join(boards.METHODS)}")
    _require_int("min_games", min_games, 0)
    if method != "bt":
        return [row.to_dict() for row in boards.leaderboard(method, min_games=min_games)]
    key = (_database_key(), method, min_games, *_rated_fingerprint())
    with _bt_lock:
        if key in _BT_CACHE:
            return [dict(row) for row in _BT_CACHE[key]]
    rows = [row.to_dict() for row in boards.leaderboard(method, min_games=min_games)]
    with _bt_lock:
        if len(_BT_CACHE) >= _BT_CACHE_SIZE:
            _BT_CACHE.pop(next(iter(_BT_CACHE)))
        _BT_CACHE[key] = rows
    return [dict(row) for row in rows]


def _database_key() -> tuple[str, str]:
    db: Any = database.obj
    return type(db).__name__, str(getattr(db, "database", ""))


def _rated_fingerprint() -> tuple[int, int]:
    """How many rated games there are and the highest rating sequence among them."""
    query: Any = Game.select(pw.fn.COUNT(Game.id), pw.fn.MAX(Game.rating_seq)).where(
        Game.id.in_(rated_game_ids())
    )
    count, top = query.tuples()[0]
    return int(count or 0), int(top or 0)


# --- models --------------------------------------------------------------------------


@_with_store
def model_detail(name: str) -> dict[str, Any]:
    """One model: its settings and rating, its record over completed games, its
    TrueSkill history (one point per rated game, in rating order) and its newest games."""
    model = get_model(name)
    return {
        "model": _model_dict(model),
        "record": _record(model.id),
        "rating_history": _rating_history(model.id),
        "recent_games": _recent_games(model.id),
    }


def _model_dict(model: Model) -> dict[str, Any]:
    return {
        "name": model.name,
        "provider": model.provider,
        "model_slug": model.model_slug,
        "test_status": model.test_status,
        "is_active": bool(model.is_active),
        "trueskill_mu": model.trueskill_mu,
        "trueskill_sigma": model.trueskill_sigma,
        "rating": model.trueskill_mu - 3 * model.trueskill_sigma,
        "price_input_per_m": model.price_input_per_m,
        "price_output_per_m": model.price_output_per_m,
    }


def _record(model_id: int) -> dict[str, Any]:
    """Totals over the model's completed games, in one aggregate query."""
    query: Any = (
        Participant.select(
            pw.fn.COUNT(Participant.id),
            pw.fn.SUM(pw.Case(None, [(Participant.result == "won", 1)], 0)),
            pw.fn.SUM(pw.Case(None, [(Participant.result == "lost", 1)], 0)),
            pw.fn.SUM(pw.Case(None, [(Participant.result == "tied", 1)], 0)),
            pw.fn.SUM(Participant.score),
            pw.fn.SUM(Participant.invalid_moves),
            pw.fn.SUM(Participant.fallback_parses),
            pw.fn.SUM(Participant.moves),
            pw.fn.SUM(Participant.cost),
        )
        .join(Game)
        .where((Participant.model == model_id) & (Game.status == "completed"))
    )
    *counts, cost = query.tuples()[0]
    names = ("games", "wins", "losses", "ties", "apples", "invalid_moves", "fallback_parses")
    record: dict[str, Any] = {
        name: int(value or 0) for name, value in zip(names, counts[:7], strict=True)
    }
    record["moves"] = int(counts[7] or 0)
    record["cost"] = float(cost or 0.0)
    return record


def _rating_history(model_id: int) -> list[dict[str, Any]]:
    query: Any = (
        RatingChange.select(
            RatingChange.game, Game.ended_at, RatingChange.mu_after, RatingChange.sigma_after
        )
        .join(Game)
        .where(RatingChange.model == model_id)
        .order_by(Game.rating_seq, Game.ended_at, Game.id)
    )
    return [
        {"game_id": game_id, "at": iso(at), "mu": mu, "sigma": sigma, "rating": mu - 3 * sigma}
        for game_id, at, mu, sigma in query.tuples()
    ]


def _recent_games(model_id: int) -> list[dict[str, Any]]:
    played = Participant.select(Participant.game).where(Participant.model == model_id)
    query = (
        Game.select()
        .where(Game.id.in_(played))
        .order_by(Game.created_at.desc(), Game.id.desc())
        .limit(RECENT_GAMES)
    )
    return _summaries(list(query))


# --- games ---------------------------------------------------------------------------


def game_summary(game: Game, lineup: Sequence[Participant] | None = None) -> dict[str, Any]:
    """The short form of a game (lists, recent games). ``lineup`` (participants with
    their models) saves a query when the caller read many games' line-ups at once."""
    players = list(lineup) if lineup is not None else game_participants(game.id)
    winners = [p.model.name for p in players if p.result == "won"]
    return {
        "id": game.id,
        "status": game.status,
        "created_at": iso(game.created_at),
        "ended_at": iso(game.ended_at),
        "rounds": game.rounds,
        "max_rounds": game.max_rounds,
        "batch_id": game.batch_id,
        "game_type": game.game_type,
        "total_cost": game.total_cost,
        "players": [
            {
                "slot": p.slot,
                "model": p.model.name,
                "score": p.score,
                "result": p.result,
                "cost": p.cost,
                "invalid_moves": p.invalid_moves,
            }
            for p in players
        ],
        "winner": winners[0] if len(winners) == 1 else None,
    }


def _summaries(games: Sequence[Game]) -> list[dict[str, Any]]:
    """Summaries of many games with their line-ups read in one query."""
    lineups = _lineups(game.id for game in games)
    return [game_summary(game, lineups.get(game.id, [])) for game in games]


def _lineups(game_ids: Iterable[str]) -> dict[str, list[Participant]]:
    ids = list(game_ids)
    if not ids:
        return {}
    query = (
        Participant.select(Participant, Model)
        .join(Model)
        .where(Participant.game.in_(ids))
        .order_by(Participant.game, Participant.slot)
    )
    found: dict[str, list[Participant]] = {}
    for participant in query:
        found.setdefault(participant.game_id, []).append(participant)
    return found


@_with_store
def list_games(
    model: str | None = None,
    batch: str | None = None,
    status: str | None = None,
    result: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict[str, Any]:
    """Games newest first, filtered, one page at a time. ``result`` (won, lost, tied)
    is ``model``'s result, so it needs ``model``. An unknown model or batch in a
    filter is a bad argument, not a missing page: :class:`InvalidArgument`."""
    _require_int("page", page, 1)
    _require_int("per_page", per_page, 1, MAX_PER_PAGE)
    query = Game.select().where(_game_filters(model, batch, status, result))
    total = query.count()
    games = list(query.order_by(Game.created_at.desc(), Game.id.desc()).paginate(page, per_page))
    return {"games": _summaries(games), "total": total, "page": page, "per_page": per_page}


def _game_filters(
    model: str | None, batch: str | None, status: str | None, result: str | None
) -> Any:
    condition: Any = Game.id.is_null(False)
    if status is not None:
        if status not in GAME_STATUSES:
            raise InvalidArgument("status", f"must be one of {', '.join(GAME_STATUSES)}")
        condition &= Game.status == status
    if batch is not None:
        if Batch.get_or_none(Batch.id == batch) is None:
            raise InvalidArgument("batch", f"unknown batch {batch!r}")
        condition &= Game.batch == batch
    if result is not None:
        if result not in RESULTS:
            raise InvalidArgument("result", f"must be one of {', '.join(RESULTS)}")
        if model is None:
            raise InvalidArgument("result", "needs model: a result is a model's result")
    if model is not None:
        found = Model.get_or_none(Model.name == model)
        if found is None:
            raise InvalidArgument("model", f"unknown model {model!r}")
        played: Any = Participant.select(Participant.game).where(Participant.model == found.id)
        if result is not None:
            played = played.where(Participant.result == result)
        condition &= Game.id.in_(played)
    return condition


@_with_store
def game_detail(game_id: str) -> dict[str, Any]:
    """Everything about one game but its moves (those are in :func:`game_replay`)."""
    game = get_game(game_id)
    lineup = game_participants(game_id)
    return {
        **game_summary(game, lineup),
        "seed": game.seed,
        "width": game.width,
        "height": game.height,
        "num_apples": game.num_apples,
        "error": game.error,
        "started_at": iso(game.started_at),
        "worker": game.worker,
        "replay_available": game.replay_path is not None and Path(game.replay_path).is_file(),
        "participants": [_participant_dict(p) for p in lineup],
    }


def _participant_dict(p: Participant) -> dict[str, Any]:
    return {
        "slot": p.slot,
        "model": p.model.name,
        "score": p.score,
        "result": p.result,
        "cost": p.cost,
        "input_tokens": p.input_tokens,
        "output_tokens": p.output_tokens,
        "invalid_moves": p.invalid_moves,
        "moves": p.moves,
        "fallback_parses": p.fallback_parses,
        "death_round": p.death_round,
        "death_reason": p.death_reason,
        "total_latency_ms": p.total_latency_ms,
    }


@_with_store
def game_replay(game_id: str) -> dict[str, Any]:
    """The game's replay document (format: docs/rules.md), checked by the replay
    parser so a viewer never gets half a file."""
    game = get_game(game_id)
    if not game.replay_path:
        raise ReplayUnavailableError(f"game {game_id} has no replay (status {game.status})")
    try:
        data = json.loads(Path(game.replay_path).read_text(encoding="utf-8"))
        parse_replay(data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ReplayFormatError) as exc:
        log.warning("replay of game %s unreadable: %s", game_id, exc)
        raise ReplayUnavailableError(f"the replay of game {game_id} cannot be read") from None
    loaded: dict[str, Any] = data
    return loaded


# --- batches -------------------------------------------------------------------------


@_with_store
def list_batches(limit: int = 50) -> list[dict[str, Any]]:
    """The newest batches first, each with its progress, parameters, rate and cost."""
    _require_int("limit", limit, 1, MAX_LIMIT)
    return [_batch_dict(batch) for batch in _newest_batches(limit)]


def _newest_batches(limit: int) -> list[Batch]:
    return list(Batch.select().order_by(Batch.created_at.desc(), Batch.id).limit(limit))


@_with_store
def batch_detail(batch_id: str) -> dict[str, Any]:
    """One batch as in :func:`list_batches`, plus its failed and void games."""
    batch = get_batch(batch_id)
    return {**_batch_dict(batch), "failures": _failures(batch_id)}


def _batch_dict(batch: Batch) -> dict[str, Any]:
    progress = progress_of(batch).to_dict()
    first, last = batch_timespan(batch.id)
    return {
        **progress,
        "created_at": iso(batch.created_at),
        "params": dict(batch.params or {}),
        "first_started_at": iso(first),
        "last_ended_at": iso(last),
        "games_per_minute": _games_per_minute(batch, first, last, progress["finished"]),
        "cost": batch.total_cost,
    }


def _games_per_minute(
    batch: Batch, first: datetime | None, last: datetime | None, finished: bool
) -> float | None:
    """Completed games per minute: over the span the batch ran once it is over (a
    batch read a week later must not look slow), since its creation while it runs."""
    if finished and first is not None and last is not None:
        minutes = (last - first).total_seconds() / 60
    else:
        minutes = (utcnow() - batch.created_at).total_seconds() / 60
    return batch.completed / minutes if minutes > 0 else None


def _failures(batch_id: str) -> list[dict[str, Any]]:
    query: Any = (
        Game.select(Game.id, Game.status, Game.error)
        .where((Game.batch == batch_id) & Game.status.in_(["failed", "void"]))
        .order_by(pw.fn.COALESCE(Game.ended_at, Game.created_at).desc(), Game.id)
        .limit(MAX_FAILURES)
    )
    return [
        {"game_id": game_id, "status": status, "error": error}
        for game_id, status, error in query.tuples()
    ]


# --- live games ----------------------------------------------------------------------


@_with_store
def live_games(limit: int = 50, connection: redis.Redis | None = None) -> list[dict[str, Any]]:
    """Running games, newest start first, with the board their worker last published
    (``state`` and ``updated_at`` are None until the first round, or when Redis
    cannot be read: the list itself comes from the database). ``connection``
    defaults to the app's Redis."""
    _require_int("limit", limit, 1, MAX_LIMIT)
    games = list(
        Game.select()
        .where(Game.status == "running")
        .order_by(Game.started_at.desc(), Game.id)
        .limit(limit)
    )
    boards_by_id = _published_boards([game.id for game in games], connection)
    lineups = _lineups(game.id for game in games)
    return [_live_dict(game, lineups.get(game.id, []), boards_by_id.get(game.id)) for game in games]


def _published_boards(
    game_ids: list[str], connection: redis.Redis | None
) -> dict[str, dict[str, Any]]:
    if not game_ids:
        return {}
    if connection is None:
        from snakebench.web.services import services

        connection = services().redis()
    try:
        return live.read_many(connection, game_ids)
    except redis.RedisError as exc:
        log.warning("live boards unavailable: %s", exc)
        return {}


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
