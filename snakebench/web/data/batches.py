"""Batches: progress from the counters, throughput, failures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from snakebench.services.batches import progress_of
from snakebench.store import (
    Batch,
    batch_failures,
    batch_timespan,
    get_batch,
    utcnow,
)
from snakebench.store import (
    list_batches as newest_batches,
)
from snakebench.web.data.common import (
    MAX_FAILURES,
    MAX_LIMIT,
    iso,
    require_int,
    with_store,
)


@with_store
def list_batches(limit: int = 50) -> list[dict[str, Any]]:
    """The newest batches first, each with its progress, parameters, rate and cost."""
    require_int("limit", limit, 1, MAX_LIMIT)
    return [_batch_dict(batch) for batch in newest_batches(limit)]


@with_store
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
    """Failed and void games, and games a spending cap cancelled, newest first."""
    return [
        {"game_id": game_id, "status": status, "error": error}
        for game_id, status, error in batch_failures(batch_id, MAX_FAILURES)
    ]
