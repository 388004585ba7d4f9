"""Reconciling: bring Redis back in line with the database after it lost jobs (a
flushed or replaced Redis, a worker that died for good, a dispatcher cut off half-way).

It spans batches and evaluations, so it sits above both: every unfinished batch game
without a live job is enqueued again (:func:`snakebench.queueing.recovery.enqueue_missing`,
under the batch's lock), then every live evaluation is moved on
(:func:`snakebench.services.evaluation.advance_live`, idempotent). The CLI's
``dispatch reconcile``, the scheduled ``jobs.maintenance.reconcile_games`` and the local
stack all call :func:`reconcile`.
"""

from __future__ import annotations

import redis

from snakebench.config import Settings
from snakebench.queueing.recovery import enqueue_missing, still_ahead, unfinished_batches
from snakebench.services.evaluation import advance_live


def reconcile(
    connection: redis.Redis, *, batch_id: str | None = None, settings: Settings | None = None
) -> list[str]:
    """Re-enqueue every ``queued`` or ``running`` batch game that has no live job in
    Redis, and move every live evaluation on; return the ids enqueued.

    Games of a batch run with ``--sync`` are skipped unless that batch is named: they
    have no job by design, and their own process is playing them.
    """
    enqueued: list[str] = []
    for batch, game_ids in unfinished_batches(batch_id):
        at = still_ahead((batch.params or {}).get("at"))
        enqueued += enqueue_missing(batch, game_ids, connection, at=at, settings=settings)
    # A ladder whose last game's callback never ran (lost, or its work horse killed)
    # has nothing left to re-enqueue: moving it on is what repairs it.
    moved = advance_live(connection, batch_id=batch_id, settings=settings)
    return enqueued + [gid for gid in moved if gid not in enqueued]
