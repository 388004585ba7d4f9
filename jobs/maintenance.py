"""Housekeeping that workers run on a schedule (``rq cron jobs.cron``, the Procfile's
``cron`` process): bring Redis back in line with the database.

After Redis is flushed, replaced or restarted empty, or a worker died for good, the
database still holds ``queued`` and ``running`` games that no job will ever run.
:func:`snakebench.services.reconcile.reconcile` enqueues them again (idempotent, under each batch's
lock), so scheduled it is the operator who no longer has to remember to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from jobs.webhooks import sweep
from snakebench.config import get_settings
from snakebench.queueing import connect_redis
from snakebench.services.reconcile import reconcile
from snakebench.store import database, open_store_once


def reconcile_games() -> dict[str, Any]:
    """Re-enqueue every queued or running game that has no live job; say how many."""
    settings = get_settings()
    job = get_current_job()
    connection = job.connection if job is not None else connect_redis(settings.redis_url)
    open_store_once(settings)
    try:
        enqueued = reconcile(connection, settings=settings)
        webhooks = sweep(connection)  # lost webhook deliveries, old events (docs/WEBHOOKS.md)
    finally:
        database.close()
    return {"enqueued": len(enqueued), "at": datetime.now(UTC).isoformat(), "webhooks": webhooks}
