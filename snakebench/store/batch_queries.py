"""Batch queries: thousands of games written at once, and moved at once.

:mod:`snakebench.store.queries` moves one game at a time; a dispatch of 10,000 games
cannot afford 10,000 transactions, so here games and participants are inserted with
``insert_many`` in chunks inside ONE transaction, and cancel / retry move every game
of a batch with one conditional ``UPDATE`` per source status. The batch counters move
in the same transaction by each UPDATE's row count, which is exact even while workers
race on the same games (a row counted is a row that really changed status).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from snakebench.store.db import database, transaction
from snakebench.store.models import Batch, Game, Participant, new_id, utcnow
from snakebench.store.prompt_queries import lineup_prompt_variants
from snakebench.store.queries import PARTICIPANT_STATS, move_batch_counter

# Bound parameters per INSERT: SQLite before 3.32 allowed 999, later 32766;
# PostgreSQL allows 65535. Staying under keeps every chunk a single statement.
_PARAMS_PER_INSERT = 999 if sqlite3.sqlite_version_info < (3, 32) else 30_000


class UnknownBatchError(LookupError):
    """No batch has this id."""


@dataclass(frozen=True)
class NewGame:
    """One game of a batch to create: its seed and its line-up (slot i plays model_ids[i])."""

    seed: int
    model_ids: tuple[int, ...]


def create_batch_with_games(
    games: Sequence[NewGame],
    *,
    settings: Mapping[str, Any],
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    max_cost: float | None = None,
    webhook_url: str | None = None,
) -> Batch:
    """Write a batch, its games (``queued``) and their participants in one transaction.

    ``settings`` are the Game columns every game shares (width, max_rounds, ...), and
    ``prompt_variant``, the batch's for every model (None: each one's own), which goes
    to each participant row (:func:`snakebench.store.prompt_queries.lineup_prompt_variant`).
    Games get ``created_at`` one microsecond apart, so ordering by it gives back the
    order of ``games`` (mirrored pairs stay next to each other). Rows are built and
    written :data:`ROWS_PER_STEP` games at a time, so memory does not grow with the
    batch.
    """
    start = utcnow()
    batch_id = new_id()
    settings = dict(settings)
    override = settings.pop("prompt_variant", None)
    with transaction(immediate=True):
        variants = lineup_prompt_variants(
            {model_id for game in games for model_id in game.model_ids}, override
        )
        batch = Batch.create(
            id=batch_id,
            name=name,
            created_at=start,
            params=dict(params or {}),
            total_games=len(games),
            queued=len(games),
            max_cost=max_cost,
            webhook_url=webhook_url,
        )
        for first in range(0, len(games), ROWS_PER_STEP):
            step = games[first : first + ROWS_PER_STEP]
            game_rows = [
                {
                    "id": new_id(),
                    "seed": game.seed,
                    "batch": batch_id,
                    "status": "queued",
                    "created_at": start + timedelta(microseconds=first + index),
                    **settings,
                }
                for index, game in enumerate(step)
            ]
            _insert_chunked(Game, game_rows)
            _insert_chunked(
                Participant,
                [
                    {
                        "game": row["id"],
                        "model": model_id,
                        "slot": slot,
                        "prompt_variant": variants[model_id],
                    }
                    for row, game in zip(game_rows, step, strict=True)
                    for slot, model_id in enumerate(game.model_ids)
                ],
            )
    return batch


ROWS_PER_STEP = 5_000  # games whose rows are built and written at once


def _insert_chunked(table: type[pw.Model], rows: list[dict[str, Any]]) -> None:
    """``INSERT`` ``rows`` (dicts with the same keys), many rows per statement.

    The SQL is written here rather than by ``insert_many``: peewee builds its SQL
    value by value, which costs seconds for 10,000 games, ten times the database's
    own work. Values still go through each field's ``db_value`` as peewee's would.
    """
    if not rows:
        return
    db: Any = database.obj
    defaults = _defaults(table)
    fields = [table._meta.fields[name] for name in {**defaults, **rows[0]}]
    open_quote, close_quote = db.quote
    columns = ", ".join(f"{open_quote}{field.column_name}{close_quote}" for field in fields)
    head = f"INSERT INTO {open_quote}{table._meta.table_name}{close_quote} ({columns}) VALUES "
    one_row = "(" + ", ".join([db.param] * len(fields)) + ")"
    per_chunk = max(1, _PARAMS_PER_INSERT // len(fields))
    for start in range(0, len(rows), per_chunk):
        chunk = [{**defaults, **row} for row in rows[start : start + per_chunk]]
        params = [field.db_value(row[field.name]) for row in chunk for field in fields]
        db.execute_sql(head + ", ".join([one_row] * len(chunk)), params)


def _defaults(table: type[pw.Model]) -> dict[str, Any]:
    """The Python-side defaults peewee would fill in (the schema has none of its own)."""
    found: dict[str, Any] = {}
    for field in table._meta.sorted_fields:
        if field.default is not None and not isinstance(field, pw.AutoField):
            found[field.name] = field.default() if callable(field.default) else field.default
    return found


def get_batch(batch_id: str) -> Batch:
    """The batch ``batch_id``, or :class:`UnknownBatchError`."""
    batch: Batch = Batch.get_or_raise(batch_id, UnknownBatchError(f"unknown batch {batch_id!r}"))
    return batch


def find_batch_id(prefix: str) -> str:
    """The id of the batch ``prefix`` names: its whole id, or a start of it that only
    one batch has (as git takes short commit ids)."""
    if not prefix or Batch.get_or_none(Batch.id == prefix) is not None:
        return get_batch(prefix).id
    starting = Batch.select(Batch.id).where(Batch.id.startswith(prefix)).limit(2)
    matches = [bid for (bid,) in rows_of(starting)]
    if len(matches) == 1:
        return str(matches[0])
    if matches:
        raise UnknownBatchError(f"batch id {prefix!r} is ambiguous: give more of it")
    raise UnknownBatchError(f"unknown batch {prefix!r}")


def batch_timespan(batch_id: str) -> tuple[datetime | None, datetime | None]:
    """When the batch's first game started and its last one ended (None: not yet)."""
    query = Game.select(pw.fn.MIN(Game.started_at), pw.fn.MAX(Game.ended_at)).where(
        (Game.batch == batch_id) & Game.started_at.is_null(False)
    )
    first, last = rows_of(query)[0]
    return _as_datetime(first), _as_datetime(last)


def _as_datetime(value: Any) -> datetime | None:
    """An aggregate's timestamp: SQLite hands back MIN/MAX of a datetime as text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def list_batches(limit: int = 20) -> list[Batch]:
    """The most recent batches first."""
    return list(Batch.select().order_by(Batch.created_at.desc(), Batch.id).limit(limit))


def update_batch_params(batch_id: str, **values: Any) -> None:
    """Add ``values`` to the batch's stored parameters (e.g. when it was scheduled for)."""
    with transaction(immediate=True):
        batch = get_batch(batch_id)
        Batch.update(params={**(batch.params or {}), **values}).where(
            Batch.id == batch_id
        ).execute()


def batch_game_ids(batch_id: str, statuses: Sequence[str] | None = None) -> list[str]:
    """The batch's game ids in creation order, only those in ``statuses`` if given."""
    query = Game.select(Game.id).where(Game.batch == batch_id)
    if statuses is not None:
        query = query.where(Game.status.in_(list(statuses)))
    return [gid for (gid,) in rows_of(query.order_by(Game.created_at, Game.id))]


def batch_problems(batch_id: str, limit: int) -> list[tuple[str, str, str | None]]:
    """The batch's first ``limit`` failed and void games in the order they ended, as
    ``(game id, status, error)``: what a monitor lists, with the reason."""
    query = (
        Game.select(Game.id, Game.status, Game.error)
        .where((Game.batch == batch_id) & Game.status.in_(["failed", "void"]))
        .order_by(Game.ended_at, Game.id)
        .limit(limit)
    )
    return [(gid, status, error) for gid, status, error in rows_of(query)]


def first_cancel_reason(batch_id: str) -> str | None:
    """The reason of the batch's first game cancelled with one (a spending cap stopped
    it: see snakebench.games.spending); None when no game was. A plain cancel has no reason."""
    query = (
        Game.select(Game.error)
        .where((Game.batch == batch_id) & (Game.status == "cancelled") & Game.error.is_null(False))
        .order_by(Game.ended_at, Game.id)
        .limit(1)
    )
    reasons = [error for (error,) in rows_of(query)]
    return str(reasons[0]) if reasons else None


def batch_max_rounds(batch_id: str) -> int:
    """The longest game of the batch in rounds (sizes its jobs' timeouts)."""
    longest = Game.select(pw.fn.MAX(Game.max_rounds)).where(Game.batch == batch_id).scalar()
    return int(longest or 1)


def active_batch_games(batch_id: str | None = None) -> dict[str, list[str]]:
    """``queued`` and ``running`` games that belong to a batch, as ``{batch id:
    [game id, ...]}`` in creation order (all batches when None)."""
    query = Game.select(Game.batch, Game.id).where(
        Game.status.in_(["queued", "running"]) & Game.batch.is_null(False)
    )
    if batch_id is not None:
        query = query.where(Game.batch == batch_id)
    found: dict[str, list[str]] = {}
    for batch, game_id in rows_of(query.order_by(Game.created_at, Game.id)):
        found.setdefault(batch, []).append(game_id)
    return found


def batch_over_budget(batch_id: str | None) -> bool:
    """Whether the batch has a ``max_cost`` and has spent it (one indexed read)."""
    if batch_id is None:
        return False
    query = Batch.select().where(
        (Batch.id == batch_id)
        & Batch.max_cost.is_null(False)
        & (Batch.total_cost >= Batch.max_cost)
    )
    return bool(query.exists())


def budget_spent(batch: Batch | None) -> bool:
    """:func:`batch_over_budget` for a batch row already read (no query)."""
    return batch is not None and batch.max_cost is not None and batch.total_cost >= batch.max_cost


def cancel_batch_games(batch_id: str) -> list[str]:
    """Mark every queued or running game of the batch ``cancelled`` (counters follow)
    and the batch ``cancelled`` if anything was; return the ids that changed."""
    with transaction(immediate=True):
        get_batch(batch_id)
        moved = _move_batch_games(batch_id, ("queued", "running"), "cancelled", ended_at=utcnow())
        if moved:
            Batch.update(status="cancelled").where(Batch.id == batch_id).execute()
    return moved


def stop_queued_games(batch_id: str, reason: str) -> list[str]:
    """Cancel the batch's queued games with ``reason`` (its spending cap is spent), the
    batch left to finish as its running games end; return the ids that changed. Their
    jobs stay queued and end at once: a worker plays no game already over."""
    with transaction(immediate=True):
        return _move_batch_games(batch_id, ("queued",), "cancelled", ended_at=utcnow(),
                                 error=reason)  # fmt: skip


# What a game row and its participants go back to when it is played again.
_GAME_RESET: dict[str, Any] = {
    "rounds": 0,
    "replay_path": None,
    "total_cost": 0.0,
    "error": None,
    "started_at": None,
    "ended_at": None,
    "worker": None,
}
_PARTICIPANT_RESET: dict[str, Any] = {
    name: Participant._meta.fields[name].default for name in PARTICIPANT_STATS
}


def requeue_batch_games(batch_id: str, statuses: Sequence[str] = ("failed", "void")) -> list[str]:
    """Put the batch's games in ``statuses`` back to ``queued`` under the same ids, with
    their results cleared (the money they cost stays in the batch's total), and the
    batch back to ``active``; return the ids that changed."""
    with transaction(immediate=True):
        get_batch(batch_id)
        in_batch = Game.select(Game.id).where(
            (Game.batch == batch_id) & Game.status.in_(list(statuses))
        )
        Participant.update(_PARTICIPANT_RESET).where(Participant.game.in_(in_batch)).execute()
        moved = _move_batch_games(batch_id, statuses, "queued", **_GAME_RESET)
        if moved:
            Batch.update(status="active").where(Batch.id == batch_id).execute()
    return moved


def _move_batch_games(
    batch_id: str, sources: Sequence[str], target: str, **fields: Any
) -> list[str]:
    """Move the batch's games from each of ``sources`` to ``target``; call inside a
    transaction. Returns the ids moved, found as "in a source before, in target after".

    Every game row first, the batch row last: a worker ending a game locks its game row,
    then the batch row (its counters). Taking the batch row between two passes over the
    games would hold what that worker waits for while waiting for its game: a deadlock
    (PostgreSQL found it with 8 workers and a cancel)."""
    before = set(batch_game_ids(batch_id, sources))
    if not before:
        return []
    counts = {
        source: Game.update(status=target, **fields)
        .where((Game.batch == batch_id) & (Game.status == source))
        .execute()
        for source in sources
    }
    for source, count in counts.items():
        if count:
            move_batch_counter(batch_id, source, target, count=count)
    return [gid for gid in batch_game_ids(batch_id, (target,)) if gid in before]


# --- query helpers, shared with costs, tournament and leaderboard -------------------


def rows_of(query: Any) -> list[tuple[Any, ...]]:
    """A select's rows as plain tuples (peewee's stubs type ``.tuples()`` as models)."""
    return list(query.tuples())


def count_where(condition: Any) -> Any:
    """SQL: how many rows of the group meet ``condition``."""
    return pw.fn.SUM(pw.Case(None, [(condition, 1)], 0))


def result_counts(*results: str) -> list[Any]:
    """SQL columns: how many participants of the group ended with each of ``results``
    (``"won"``, ``"lost"``, ``"tied"``), in that order."""
    return [count_where(Participant.result == result) for result in results]


def participant_sums(*fields: str) -> list[Any]:
    """SQL columns: the group's participants' totals of each of ``fields`` (Participant
    columns, as ``"score"`` or ``"cost"``), in that order; NULL for an empty group."""
    return [pw.fn.SUM(getattr(Participant, field)) for field in fields]


__all__ = [
    "NewGame",
    "UnknownBatchError",
    "active_batch_games",
    "batch_game_ids",
    "batch_max_rounds",
    "batch_over_budget",
    "batch_timespan",
    "cancel_batch_games",
    "count_where",
    "create_batch_with_games",
    "find_batch_id",
    "first_cancel_reason",
    "get_batch",
    "list_batches",
    "participant_sums",
    "requeue_batch_games",
    "result_counts",
    "rows_of",
    "stop_queued_games",
    "update_batch_params",
]
