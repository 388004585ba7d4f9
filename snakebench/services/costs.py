"""What games cost: per model and per batch, from the spend ledger.

Money and tokens come from the ledger (:mod:`snakebench.games.spending`): one row per provider
call, written before the call and settled after it, whatever became of its game
(completed, cancelled, overtaken by another run, killed). A call's settlement reaches
its row with the same player's next call (the statement that books that one), or when
the game is over. So the report adds up to what the providers billed; a call whose run
died before its settlement was written (mid-call, or since then until the player's next
call) counts at its worst case and shows as ``unsettled``. Games and moves come from the
participants of games that recorded an end (completed, void, failed, cancelled);
``recorded`` is the part of the money those games' own figures hold, so
``cost - recorded`` is what runs that never recorded a result (killed, overtaken) spent.

Where a provider reports what each call cost (OpenRouter's usage accounting), the
ledger keeps that too: ``provider_cost`` is its sum and ``provider_difference`` how far
it is from our price-based cost of the same calls (positive: the provider billed more
than the model's prices say). Both are None where no call had a reported cost.
"""

from __future__ import annotations

from typing import Any

from snakebench.store import (
    ended_games_by_batch,
    ended_play_by_model,
    find_batch_id,
    get_model,
    ledger_by_batch,
    ledger_by_model,
    models_by_id,
)

_EMPTY = {"calls": 0, "input_tokens": 0, "output_tokens": 0, "reasoning_tokens": 0,
          "cost": 0.0, "unsettled": 0.0, "provider_calls": 0, "provider_cost": None,
          "provider_priced": 0.0}  # fmt: skip


def _ratio(amount: float, count: int) -> float | None:
    return amount / count if count else None


def model_costs(batch_id: str | None = None, model_id: int | None = None) -> list[dict[str, Any]]:
    """Per model: games, moves and recorded cost (participants), provider calls, tokens
    in and out, cost and its unsettled part (ledger), cost per game and per call;
    dearest first."""
    played = ended_play_by_model(batch_id, model_id)
    ledger = ledger_by_model(batch_id, model_id)
    models = models_by_id({*played, *ledger})
    rows = []
    for mid, model in models.items():
        games, moves, recorded = played.get(mid, (0, 0, 0.0))
        spend = ledger.get(mid, _EMPTY)
        rows.append(
            {"model": model.name, "provider": model.provider, "games": games, "moves": moves,
             **spend, "provider_difference": _difference(spend), "recorded": recorded,
             "cost_per_game": _ratio(spend["cost"], games),
             "cost_per_call": _ratio(spend["cost"], spend["calls"])}
        )  # fmt: skip
    return sorted(rows, key=lambda r: (-r["cost"], r["model"]))


def _difference(spend: dict[str, Any]) -> float | None:
    """The provider's reported cost minus our price-based cost of the same calls."""
    reported = spend["provider_cost"]
    return None if reported is None else reported - spend["provider_priced"]


def _total(rows: list[dict[str, Any]], key: str) -> float | None:
    """The sum of ``key`` over the rows that have it; None when none has."""
    values = [row[key] for row in rows if row[key] is not None]
    return sum(values) if values else None


def batch_costs(batch_id: str | None = None, model_id: int | None = None) -> list[dict[str, Any]]:
    """Per batch, newest first: games that recorded an end, and the ledger's cost (the
    filtered model's share with ``model_id``) and unsettled part."""
    ledger = ledger_by_batch(batch_id, model_id)
    rows = []
    for bid, name, created, games in ended_games_by_batch(batch_id, model_id):
        spend = ledger.get(bid, _EMPTY)
        rows.append({"batch_id": bid, "name": name, "created_at": str(created), "games": games,
                     "cost": spend["cost"], "unsettled": spend["unsettled"]})  # fmt: skip
    return rows


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
        "unsettled": sum(row["unsettled"] for row in models),
        "provider_cost": _total(models, "provider_cost"),
        "provider_difference": _total(models, "provider_difference"),
    }
