"""The placement ladder's rows (:mod:`snakebench.services.evaluation`): reading evaluations,
locking them, and the models a ladder may play. No ladder logic, no Redis.

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from snakebench.store import Batch, Evaluation, Game, Model, is_postgres

LIVE_EVALUATION = ("queued", "running")


class EvaluationError(ValueError):
    """An evaluation that cannot start as asked (games < 1, model already under test...)."""


def locked(table: type[Model] | type[Evaluation], row_id: int) -> Any:
    """The row ``row_id`` of ``table``, read FOR UPDATE on PostgreSQL so it stays locked
    until the transaction ends (SQLite's BEGIN IMMEDIATE already locks the database)."""
    query = table.select().where(table.id == row_id)
    if is_postgres():
        query = query.for_update()
    found = query.first()
    if found is None:
        raise EvaluationError(f"unknown {table.__name__.lower()} {row_id}")
    return found


def pool() -> list[Model]:
    """The models a ladder may pick from: active and not retired."""
    return list(
        Model.select().where(
            (Model.is_active == True) & (Model.test_status != "retired")  # noqa: E712 (peewee)
        )
    )


def get_evaluation(evaluation_id: int) -> Evaluation:
    found = Evaluation.get_or_none(Evaluation.id == evaluation_id)
    if found is None:
        raise EvaluationError(f"unknown evaluation {evaluation_id}")
    return found


def evaluation_of_game(game_id: str) -> int | None:
    """The evaluation a game belongs to (through its batch), if any."""
    batch_id = Game.select(Game.batch).where(Game.id == game_id).scalar()
    if batch_id is None:
        return None
    found = Evaluation.select(Evaluation.id).where(Evaluation.batch == batch_id).scalar()
    return None if found is None else int(found)


def live_evaluations(
    models: Sequence[str] = (), *, batch_id: str | None = None, with_sync: bool = True
) -> list[Evaluation]:
    """Queued or running evaluations (of ``models``, of the batch ``batch_id``, if
    given), oldest first; without those run by ``--sync`` unless ``with_sync``."""
    query = Evaluation.select().where(Evaluation.status.in_(LIVE_EVALUATION))
    if models:
        query = query.join(Model).where(Model.name.in_(list(models)))
    if batch_id is not None:
        query = query.where(Evaluation.batch == batch_id)
    found = list(query.order_by(Evaluation.id))
    return found if with_sync else [ev for ev in found if not is_sync(ev)]


def is_sync(ev: Evaluation) -> bool:
    batch = Batch.get_or_none(Batch.id == ev.batch_id)
    return batch is not None and (batch.params or {}).get("mode") == "sync"
