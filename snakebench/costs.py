"""What games cost: per model and per batch, summed in SQL from the participants.

Every move's cost is priced once, by the LLM player (tokens x the model's prices,
:meth:`snakebench.providers.ModelSpec.cost`), and summed into ``Participant.cost``
and ``Game.total_cost`` when the game ends; the budget estimate
(:mod:`snakebench.budget`) prices a typical move with the same method. This module
only adds those recorded numbers up, so the report, the batch counters and the
budget guard never disagree on what a move cost.

Games counted are those that recorded a result (completed, void or failed): a void
game was paid for even though it is never rated. A batch's ``spent`` is its own
counter, which also keeps the money of games later played again by ``retry``.
"""

from __future__ import annotations

from typing import Any

import peewee as pw

from snakebench.store import (
    Batch,
    Game,
    Model,
    Participant,
    find_batch_id,
    get_model,
    participant_sums,
    rows_of,
)

PAID_STATUSES = ("completed", "void", "failed")


def _paid(batch_id: str | None, model_id: int | None) -> Any:
    """The WHERE clause: games that recorded a result, narrowed by the filters."""
    condition = Game.status.in_(list(PAID_STATUSES))
    if batch_id is not None:
        condition &= Game.batch == batch_id
    if model_id is not None:
        condition &= Participant.model == model_id
    return condition


def _ratio(amount: float, count: int) -> float | None:
    return amount / count if count else None


def model_costs(batch_id: str | None = None, model_id: int | None = None) -> list[dict[str, Any]]:
    """Per model: games, tokens in and out, moves, cost, cost per game and per move,
    dearest first; one grouped query."""
    query = (
        Participant.select(
            Model.name,
            Model.provider,
            pw.fn.COUNT(Participant.id),
            *participant_sums("input_tokens", "output_tokens", "moves", "cost"),
        )
        .join(Game)
        .switch(Participant)
        .join(Model)
        .where(_paid(batch_id, model_id))
        .group_by(Model.name, Model.provider)
    )
    rows = []
    for name, provider, games, tokens_in, tokens_out, moves, cost in rows_of(query):
        cost = float(cost or 0.0)
        rows.append(
            {"model": name, "provider": provider, "games": games,
             "input_tokens": int(tokens_in or 0), "output_tokens": int(tokens_out or 0),
             "moves": int(moves or 0), "cost": cost, "cost_per_game": _ratio(cost, games),
             "cost_per_move": _ratio(cost, int(moves or 0))}
        )  # fmt: skip
    return sorted(rows, key=lambda r: (-r["cost"], r["model"]))


def batch_costs(batch_id: str | None = None, model_id: int | None = None) -> list[dict[str, Any]]:
    """Per batch, newest first: games with a result, their cost (the filtered model's
    share with ``model_id``) and what the batch has spent in all; one grouped query."""
    query = (
        Participant.select(
            Batch.id,
            Batch.name,
            Batch.created_at,
            Batch.total_cost,
            pw.fn.COUNT(pw.fn.DISTINCT(Game.id)),
            pw.fn.SUM(Participant.cost),
        )
        .join(Game)
        .join(Batch)
        .where(_paid(batch_id, model_id))
        .group_by(Batch.id, Batch.name, Batch.created_at, Batch.total_cost)
        .order_by(Batch.created_at.desc(), Batch.id)
    )
    return [
        {"batch_id": bid, "name": name, "created_at": str(created), "games": games,
         "cost": float(cost or 0.0), "spent": float(spent or 0.0)}
        for bid, name, created, spent, games, cost in rows_of(query)
    ]  # fmt: skip


def cost_report(batch: str | None = None, model: str | None = None) -> dict[str, Any]:
    """Costs per model and per batch, narrowed to a batch (its id or a unique start
    of it) and/or a model (by name, removed ones included); JSON-ready."""
    batch_id = find_batch_id(batch) if batch is not None else None
    model_id = get_model(model).id if model is not None else None
    models = model_costs(batch_id, model_id)
    return {
        "batch": batch_id,
        "model": model,
        "models": models,
        "batches": batch_costs(batch_id, model_id),
        "total_cost": sum(row["cost"] for row in models),
    }
