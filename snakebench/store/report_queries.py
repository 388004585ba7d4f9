"""The reports' reads: the leaderboard's games, a model's rating history, and what
games cost. Each returns plain rows; the arithmetic (ratings, rates, sorting) stays in
:mod:`snakebench.services`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import peewee as pw

from snakebench.store.batch_queries import participant_sums, rows_of
from snakebench.store.models import Batch, Game, Model, Participant, RatingChange
from snakebench.store.queries import RESULT_STATUSES
from snakebench.store.rating_queries import rated_game_ids

# --- ratings ------------------------------------------------------------------------


def models_named(names: Iterable[str]) -> dict[str, Model]:
    """The models called ``names``, by name (unknown names are left out)."""
    return {model.name: model for model in Model.select().where(Model.name.in_(list(names)))}


def rated_lineups() -> dict[str, list[tuple[str, str]]]:
    """Every rated game's line-up as (model name, result) by slot, by game id."""
    query = (
        Participant.select(Participant.game, Model.name, Participant.result)
        .join(Model)
        .where(Participant.game.in_(rated_game_ids()))
        .order_by(Participant.game, Participant.slot)
    )
    lineups: dict[str, list[tuple[str, str]]] = {}
    for game_id, name, result in rows_of(query):
        lineups.setdefault(game_id, []).append((name, result))
    return lineups


def rated_fingerprint() -> tuple[int, int, int]:
    """How many rated games there are, the highest rating sequence among them and the
    sum of their sequences: these change whenever a game is rated or a retirement takes
    games out, and when an undo or restore swaps one game for another."""
    query = Game.select(
        pw.fn.COUNT(Game.id), pw.fn.MAX(Game.rating_seq), pw.fn.SUM(Game.rating_seq)
    ).where(Game.id.in_(rated_game_ids()))
    count, top, total = rows_of(query)[0]
    return int(count or 0), int(top or 0), int(total or 0)


def rating_history(model_id: int) -> list[tuple[str, datetime | None, float, float]]:
    """The model's TrueSkill after each of its rated games, in rating order, as
    (game id, game end, mu, sigma)."""
    query = (
        RatingChange.select(
            RatingChange.game, Game.ended_at, RatingChange.mu_after, RatingChange.sigma_after
        )
        .join(Game)
        .where(RatingChange.model == model_id)
        .order_by(Game.rating_seq, Game.ended_at, Game.id)
    )
    return [(game_id, at, mu, sigma) for game_id, at, mu, sigma in rows_of(query)]


# --- costs ----------------------------------------------------------------------------


def _ended(batch_id: str | None, model_id: int | None) -> Any:
    """The WHERE clause: games that recorded an end, narrowed by the filters."""
    condition = Game.status.in_(list(RESULT_STATUSES))
    if batch_id is not None:
        condition &= Game.batch == batch_id
    if model_id is not None:
        condition &= Participant.model == model_id
    return condition


def ended_play_by_model(
    batch_id: str | None = None, model_id: int | None = None
) -> dict[int, tuple[int, int, float]]:
    """Per model id: (games, moves, recorded cost) over the participants of games that
    recorded an end (completed, void, failed, cancelled), narrowed by the filters."""
    query = (
        Participant.select(
            Model.id, pw.fn.COUNT(Participant.id), *participant_sums("moves", "cost")
        )
        .join(Game)
        .switch(Participant)
        .join(Model)
        .where(_ended(batch_id, model_id))
        .group_by(Model.id)
    )
    return {mid: (games, int(moves or 0), float(cost or 0.0)) for mid, games, moves, cost
            in rows_of(query)}  # fmt: skip


def ended_games_by_batch(
    batch_id: str | None = None, model_id: int | None = None
) -> list[tuple[str, str | None, datetime, int]]:
    """Per batch, newest first: (id, name, created at, games that recorded an end),
    narrowed by the filters (``model_id``: the games that model played)."""
    query = (
        Batch.select(Batch.id, Batch.name, Batch.created_at,
                     pw.fn.COUNT(pw.fn.DISTINCT(Game.id)))
        .join(Game, on=(Game.batch == Batch.id))
        .join(Participant, on=(Participant.game == Game.id))
        .where(_ended(batch_id, model_id))
        .group_by(Batch.id, Batch.name, Batch.created_at)
        .order_by(Batch.created_at.desc(), Batch.id)
    )  # fmt: skip
    return [(bid, name, created, games) for bid, name, created, games in rows_of(query)]


def models_by_id(model_ids: Iterable[int]) -> dict[int, Model]:
    """The models with these ids, by id (unknown ids are left out)."""
    return {m.id: m for m in Model.select().where(Model.id.in_(list(set(model_ids))))}
