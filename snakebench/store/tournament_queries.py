"""A tournament report's reads (:mod:`snakebench.services.tournament`): three grouped
queries over a batch's completed games, so a report costs the same for 30 games as
for 30,000. Scoring and sorting stay in the service."""

from __future__ import annotations

from typing import Any

import peewee as pw

from snakebench.store.batch_queries import participant_sums, result_counts, rows_of
from snakebench.store.counted import counted
from snakebench.store.models import Game, Model, Participant


def latest_batch_of_type(game_type: str) -> str | None:
    """The batch of the most recently created game of ``game_type`` in a batch, if any."""
    row = (
        Game.select(Game.batch)
        .where((Game.game_type == game_type) & Game.batch.is_null(False))
        .order_by(Game.created_at.desc())
        .limit(1)
        .first()
    )
    return None if row is None else str(row.batch_id)


def _completed_in(batch_id: str) -> Any:
    return (Game.batch == batch_id) & counted()


def results_by_model(batch_id: str) -> list[tuple[str, int, int, int, int, int, float]]:
    """Per model over the batch's completed games: (name, games, won, lost, tied,
    apples, cost)."""
    query = (
        Participant.select(
            Model.name,
            pw.fn.COUNT(Participant.id),
            *result_counts("won", "lost", "tied"),
            *participant_sums("score", "cost"),
        )
        .join(Game)
        .switch(Participant)
        .join(Model)
        .where(_completed_in(batch_id))
        .group_by(Model.name)
    )
    return [
        (name, games, won, lost, tied, int(apples or 0), float(cost or 0.0))
        for name, games, won, lost, tied, apples, cost in rows_of(query)
    ]


def results_by_pair(batch_id: str) -> list[tuple[str, str, int, int, int]]:
    """Per ordered pair of models over the batch's completed games: (model, opponent,
    the model's wins, losses, ties against the opponent); one self-join of the
    participants."""
    opponent = Participant.alias()
    # ``opponent.model`` is the aliased class itself (ModelAlias.model), not the column.
    opponent_model = pw.FieldAlias.create(opponent, Participant.model)  # type: ignore[no-untyped-call]
    me, them = Model.alias(), Model.alias()
    query = (
        Participant.select(
            me.name,
            them.name,
            *result_counts("won", "lost", "tied"),
        )
        .join(Game)
        .join(opponent, on=(opponent.game == Game.id) & (opponent.slot != Participant.slot))
        .join(them, on=(opponent_model == them.id))
        .switch(Participant)
        .join(me, on=(Participant.model == me.id))
        .where(_completed_in(batch_id))
        .group_by(me.name, them.name)
    )
    return [(row, column, won, lost, tied) for row, column, won, lost, tied in rows_of(query)]


def results_by_slot(batch_id: str) -> dict[int, tuple[int, int, int]]:
    """Per slot over the batch's completed games: (games, won, tied)."""
    query = (
        Participant.select(
            Participant.slot,
            pw.fn.COUNT(Participant.id),
            *result_counts("won", "tied"),
        )
        .join(Game)
        .where(_completed_in(batch_id))
        .group_by(Participant.slot)
    )
    return {slot: (games, won, tied) for slot, games, won, tied in rows_of(query)}
