"""The placement ladder's rows (:mod:`snakebench.services.evaluation`): reading and
locking evaluations, the models a ladder may play, and every write the ladder makes
(claiming a step, growing its batch, ending it). Which opponent comes next and when the
ladder is over is decided by the service; no Redis here.

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from snakebench.store.batch_queries import cancel_batch_games
from snakebench.store.counted import counted, not_undone
from snakebench.store.db import is_postgres, transaction
from snakebench.store.models import Batch, Evaluation, Game, Model, Participant, utcnow

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


def never_evaluated(excluded: Sequence[str] = ()) -> list[Model]:
    """Active models still ``untested`` that no evaluation was ever started for (a
    failed or cancelled one counts: placing that model again is an operator's call),
    but those named in ``excluded``; oldest first."""
    tried = Evaluation.select(Evaluation.model)
    query = Model.select().where(
        (Model.is_active == True)  # noqa: E712 (peewee)
        & (Model.test_status == "untested")
        & Model.id.not_in(tried)
        & Model.name.not_in(list(excluded))
    )
    return list(query.order_by(Model.created_at, Model.id))


def get_evaluation(evaluation_id: int) -> Evaluation:
    unknown = EvaluationError(f"unknown evaluation {evaluation_id}")
    found: Evaluation = Evaluation.get_or_raise(evaluation_id, unknown)
    return found


def evaluation_batch(ev: Evaluation) -> Batch:
    """The batch an evaluation's games are in (every evaluation started has one)."""
    found: Batch = Batch.get_or_raise(
        ev.batch_id, EvaluationError(f"evaluation {ev.id} has no batch")
    )
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


def live_evaluation_of(model: Model) -> Evaluation | None:
    """The model's queued or running evaluation, if it has one."""
    found: Evaluation | None = (
        Evaluation.select()
        .where((Evaluation.model == model.id) & Evaluation.status.in_(LIVE_EVALUATION))
        .first()
    )
    return found


def mark_testing(model: Model) -> bool:
    """Set the model ``testing``; False if it was removed or retired meanwhile (the
    UPDATE is conditional, so a retirement that won the race is never undone)."""
    marked = (
        Model.update(test_status="testing", updated_at=utcnow())
        .where(
            (Model.id == model.id)
            & (Model.is_active == True)  # noqa: E712 (peewee)
            & (Model.test_status != "retired")
        )
        .execute()
    )
    return bool(marked)


def create_evaluation(model: Model, batch_id: str, games: int) -> Evaluation:
    created: Evaluation = Evaluation.create(model=model.id, batch=batch_id, games_target=games)
    return created


def evaluation_games(ev: Evaluation) -> list[tuple[str, str, str]]:
    """(game id, status, opponent name) of each game of the evaluation, oldest first;
    an undone game is left out, so the ladder plays another in its place."""
    query: Iterable[Any] = (
        Game.select(Game.id, Game.status, Model.name)
        .join(Participant)
        .join(Model)
        .where((Game.batch == ev.batch_id) & (Participant.model != ev.model_id) & not_undone())
        .order_by(Game.created_at)
        .tuples()
    )
    return [(str(gid), str(status), str(name)) for gid, status, name in query]


def last_completed(ev: Evaluation) -> tuple[str, str, int] | None:
    """The evaluation's latest counted game (completed, not undone) as (opponent name,
    the model's result, its apples minus the opponent's); None before the first."""
    game = (
        Game.select(Game.id)
        .where((Game.batch == ev.batch_id) & counted())
        .order_by(Game.created_at.desc(), Game.ended_at.desc())
        .first()
    )
    if game is None:
        return None
    rows = list(
        Participant.select(Participant, Model).join(Model).where(Participant.game == game.id)
    )
    mine = [p for p in rows if p.model_id == ev.model_id]
    theirs = [p for p in rows if p.model_id != ev.model_id]
    if not mine or not theirs:
        return None
    return theirs[0].model.name, str(mine[0].result), mine[0].score - theirs[0].score


def claim_step(ev: Evaluation, batch: Batch) -> int | None:
    """Claim step ``games_started`` of a live evaluation and return it (None if another
    call claimed it first): a conditional UPDATE, so of two racing calls one wins, and
    never for an evaluation no longer live. A step past the ``batch``'s ``total_games``
    is a replacement: the batch grows, and is active again."""
    n: int = ev.games_started
    claimed = (
        Evaluation.update(games_started=n + 1, status="running", updated_at=utcnow())
        .where(
            (Evaluation.id == ev.id)
            & (Evaluation.games_started == n)
            & Evaluation.status.in_(LIVE_EVALUATION)
        )
        .execute()
    )
    if not claimed:
        return None
    if n >= batch.total_games:
        Batch.update(total_games=Batch.total_games + 1).where(Batch.id == batch.id).execute()
        Batch.update(status="active").where(
            (Batch.id == batch.id) & (Batch.status == "finished")
        ).execute()
    return n


def finish_evaluation(ev: Evaluation, status: str, error: str | None = None) -> str:
    """End the evaluation (once: a conditional UPDATE; call inside a transaction, the
    evaluation's row locked) and set the model's test status: ``ranked`` when
    finished; otherwise back to ``ranked`` if it has rated games, else ``untested``.
    A ``cancelled`` evaluation's games still to play are cancelled in the same
    transaction. Its batch is closed: ``total_games`` becomes the games actually
    created, and the batch ``cancelled``, or ``finished`` if no game is left to play.
    Returns the evaluation's status."""
    changed = (
        Evaluation.update(status=status, error=error, updated_at=utcnow())
        .where((Evaluation.id == ev.id) & Evaluation.status.in_(LIVE_EVALUATION))
        .execute()
    )
    if changed:
        model = Model.get_by_id(ev.model_id)
        placed = status == "finished" or model.games_played > 0
        Model.update(test_status="ranked" if placed else "untested", updated_at=utcnow()).where(
            (Model.id == ev.model_id) & (Model.test_status == "testing")
        ).execute()
        if ev.batch_id is not None:
            _close_batch(ev.batch_id, cancel=status == "cancelled")
    return str(get_evaluation(ev.id).status)


def _close_batch(batch_id: str, *, cancel: bool) -> None:
    in_batch = Game.select().where(Game.batch == batch_id)
    if cancel:
        cancel_batch_games(batch_id)
    created = in_batch.count()
    Batch.update(total_games=created).where(Batch.id == batch_id).execute()
    if cancel:
        Batch.update(status="cancelled").where(Batch.id == batch_id).execute()
    elif not in_batch.where(Game.status.in_(["queued", "running"])).exists():
        Batch.update(status="finished").where(
            (Batch.id == batch_id) & (Batch.status == "active")
        ).execute()


def cancel_games_of_batch(batch_id: str, reason: str) -> list[str]:
    """Cancel the batch's games still to play and, if it is an evaluation's, end that
    evaluation ``cancelled`` with ``reason``, all in one transaction with the
    evaluation's row locked (so no callback can create a game in between); return the
    games cancelled. RQ runs no callback for a stopped or cancelled job, so without
    this the ladder would wait forever for its next step."""
    with transaction(immediate=True):
        found = Evaluation.select(Evaluation.id).where(Evaluation.batch == batch_id).scalar()
        ev = None if found is None else locked(Evaluation, int(found))
        cancelled = cancel_batch_games(batch_id)
        if ev is not None:
            finish_evaluation(ev, "cancelled", reason)
    return cancelled
