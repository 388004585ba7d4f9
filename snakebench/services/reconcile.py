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

import logging

import redis

from snakebench.config import Settings
from snakebench.queueing.recovery import enqueue_missing, still_ahead, unfinished_batches
from snakebench.services.evaluation import advance_live

log = logging.getLogger(__name__)
# Game ids a reconcile line names; the rest are counted.
NAMED_IDS = 5


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
        missing = enqueue_missing(batch, game_ids, connection, at=at, settings=settings)
        if missing:
            log.info("reconcile: batch %s: %d games enqueued again", batch.id, len(missing))
        enqueued += missing
    # A ladder whose last game's callback never ran (lost, or its work horse killed)
    # has nothing left to re-enqueue: moving it on is what repairs it.
    moved = [gid for gid in advance_live(connection, batch_id=batch_id, settings=settings)
             if gid not in enqueued]  # fmt: skip
    if moved:
        log.info("reconcile: %d evaluation games enqueued to move their ladders on", len(moved))
    _log_summary(enqueued + moved)
    return enqueued + moved


def _log_summary(enqueued: list[str]) -> None:
    """One line per reconcile: games enqueued again mean Redis or a worker lost them,
    which an operator should notice (WARNING), named (the first few: one bounded
    line); none is the quiet, usual case."""
    if not enqueued:
        log.info("reconcile: every unfinished game has a job; nothing enqueued")
        return
    more = len(enqueued) - NAMED_IDS
    named = ", ".join(enqueued[:NAMED_IDS]) + (f" and {more} more" if more > 0 else "")
    log.warning("reconcile: %d games had no job and were enqueued again: %s",
                len(enqueued), named)  # fmt: skip
