"""The games the stale-games sweep (:mod:`snakebench.services.stale_games`) looks at:
queued or running for too long, and out of reconcile's reach."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw

from snakebench.store.models import Batch, Game


def stale_games(cutoff: datetime) -> list[tuple[str, str]]:
    """(game id, status) of each game ``queued`` since before ``cutoff`` or ``running``
    since before it (its latest start; its creation if it never had one) that no job
    is meant to carry: a game outside any batch (``snakebench play``, whose process
    plays it) or one of a batch run with ``--sync``. Reconcile enqueues every other
    batch's games again, so those are never stale here; oldest first."""
    started = pw.fn.COALESCE(Game.started_at, Game.created_at)
    query: Any = (
        Game.select(Game.id, Game.status, Game.batch, Batch.params)
        .join(Batch, pw.JOIN.LEFT_OUTER, on=(Game.batch == Batch.id))
        .where(
            ((Game.status == "queued") & (Game.created_at < cutoff))
            | ((Game.status == "running") & (started < cutoff))
        )
        .order_by(Game.created_at, Game.id)
        .tuples()
    )
    return [
        (str(gid), str(status))
        for gid, status, batch, params in query
        if batch is None or _params(params).get("mode") == "sync"
    ]


def _params(params: Any) -> dict[str, Any]:
    return params if isinstance(params, dict) else {}
