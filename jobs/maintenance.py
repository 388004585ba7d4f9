"""Housekeeping that workers run on a schedule (``rq cron jobs.cron``, the Procfile's
``cron`` process): bring Redis back in line with the database.

After Redis is flushed, replaced or restarted empty, or a worker died for good, the
database still holds ``queued`` and ``running`` games that no job will ever run.
:func:`snakebench.services.reconcile.reconcile` enqueues them again (idempotent, under each batch's
lock), so scheduled it is the operator who no longer has to remember to.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from snakebench.config import get_settings
from snakebench.queueing import connect_redis
from snakebench.services.reconcile import reconcile
from snakebench.store import database, open_store_once

log = logging.getLogger(__name__)
# Game ids a reconcile line names; the rest are counted.
NAMED_IDS = 5


def reconcile_games() -> dict[str, Any]:
    """Re-enqueue every queued or running game that has no live job; say how many."""
    settings = get_settings()
    job = get_current_job()
    connection = job.connection if job is not None else connect_redis(settings.redis_url)
    open_store_once(settings)
    try:
        enqueued = reconcile(connection, settings=settings)
    finally:
        database.close()
    _log_summary(enqueued)
    return {"enqueued": len(enqueued), "at": datetime.now(UTC).isoformat()}


def _log_summary(enqueued: list[str]) -> None:
    """One line per reconcile: games enqueued again mean Redis or a worker lost them,
    which an operator should notice (WARNING); none is the quiet, usual case."""
    if not enqueued:
        log.info("reconcile: every unfinished game has a job; nothing enqueued")
        return
    more = len(enqueued) - NAMED_IDS
    named = ", ".join(enqueued[:NAMED_IDS]) + (f" and {more} more" if more > 0 else "")
    log.warning("reconcile: %d games had no job and were enqueued again: %s",
                len(enqueued), named)  # fmt: skip
