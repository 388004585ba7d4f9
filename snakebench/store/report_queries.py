"""The reports' reads: what games cost. Each returns plain rows; the arithmetic
(rates, sorting) stays in :mod:`snakebench.services`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import peewee as pw

from snakebench.store.batch_queries import participant_sums, rows_of
from snakebench.store.models import Batch, Game, Model, Participant
from snakebench.store.queries import RESULT_STATUSES

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
