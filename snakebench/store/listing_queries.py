"""The lists the web shows (:mod:`snakebench.web.data`): pages of games, running games,
a model's newest games, a batch's failures, and many games' line-ups in one query."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import peewee as pw

from snakebench.store.batch_queries import rows_of
from snakebench.store.models import Game, Model, Participant


def lineups(game_ids: Iterable[str]) -> dict[str, list[Participant]]:
    """Each game's participants by slot, their models loaded, in one query."""
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


def _newest_first(query: Any) -> Any:
    return query.order_by(Game.created_at.desc(), Game.id.desc())


def game_page(
    *,
    page: int,
    per_page: int,
    model_id: int | None = None,
    batch_id: str | None = None,
    status: str | None = None,
    result: str | None = None,
) -> tuple[int, list[Game]]:
    """How many games match, and page ``page`` of them (``per_page`` a page), newest
    first. Games in ``status``, of ``batch_id``, played by ``model_id`` (who ended with
    ``result``, when given); no filter given, every game."""
    condition: Any = Game.id.is_null(False)
    if status is not None:
        condition &= Game.status == status
    if batch_id is not None:
        condition &= Game.batch == batch_id
    if model_id is not None:
        played: Any = Participant.select(Participant.game).where(Participant.model == model_id)
        if result is not None:
            played = played.where(Participant.result == result)
        condition &= Game.id.in_(played)
    query = Game.select().where(condition)
    return query.count(), list(_newest_first(query).paginate(page, per_page))


def recent_games_of(model_id: int, limit: int) -> list[Game]:
    """The newest ``limit`` games the model played, whatever became of them."""
    played = Participant.select(Participant.game).where(Participant.model == model_id)
    return list(_newest_first(Game.select().where(Game.id.in_(played))).limit(limit))


def running_games(limit: int) -> list[Game]:
    """Up to ``limit`` running games, the latest started first."""
    query = (
        Game.select()
        .where(Game.status == "running")
        .order_by(Game.started_at.desc(), Game.id)
        .limit(limit)
    )
    return list(query)


def batch_failures(batch_id: str, limit: int) -> list[tuple[str, str, str | None]]:
    """The batch's failed and void games, and those a spending cap cancelled (they
    carry the cap as their reason; a plain cancel has none), as (game id, status,
    error), the latest ended first."""
    ended_badly = Game.status.in_(["failed", "void"]) | (
        (Game.status == "cancelled") & Game.error.is_null(False)
    )
    query = (
        Game.select(Game.id, Game.status, Game.error)
        .where((Game.batch == batch_id) & ended_badly)
        .order_by(pw.fn.COALESCE(Game.ended_at, Game.created_at).desc(), Game.id)
        .limit(limit)
    )
    return [(game_id, status, error) for game_id, status, error in rows_of(query)]
