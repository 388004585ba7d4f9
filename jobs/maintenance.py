"""Housekeeping that workers run on a schedule (``rq cron jobs.cron``, the Procfile's
``cron`` process).

- :func:`reconcile_games`: bring Redis back in line with the database. After Redis is
  flushed, replaced or restarted empty, or a worker died for good, the database still
  holds ``queued`` and ``running`` games that no job will ever run.
  :func:`snakebench.services.reconcile.reconcile` enqueues them again (idempotent,
  under each batch's lock), so scheduled it is the operator who no longer has to
  remember to.
- :func:`place_new_models`: start the placement ladder of new models, within a budget
  per sweep (:mod:`snakebench.services.placement`).
- :func:`fail_stale_games`: fail the games no job carries and no process plays any
  more (:mod:`snakebench.services.stale_games`).

The two sweeps run under a lock each (:func:`snakebench.queueing.locks.sweep_lock`),
so two ``rq cron`` processes never run one sweep twice at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis
from rq import get_current_job

from jobs.webhooks import sweep_events
from snakebench.config import Settings, get_settings
from snakebench.queueing import connect_redis
from snakebench.queueing.locks import sweep_lock
from snakebench.services import placement, stale_games
from snakebench.services.reconcile import reconcile
from snakebench.store import database, open_store_once

T = TypeVar("T")


def _run(task: Callable[[redis.Redis, Settings], T]) -> T:
    """``task`` with the job's Redis connection (or one of its own, called directly)
    and the store open for it, closed again after."""
    settings = get_settings()
    job = get_current_job()
    connection = job.connection if job is not None else connect_redis(settings=settings)
    open_store_once(settings)
    try:
        return task(connection, settings)
    finally:
        database.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def reconcile_games() -> dict[str, Any]:
    """Re-enqueue every queued or running game that has no live job; say how many."""

    def task(connection: redis.Redis, settings: Settings) -> dict[str, Any]:
        enqueued = reconcile(connection, settings=settings)
        # and the webhook events: lost deliveries, old ones (docs/WEBHOOKS.md)
        return {"enqueued": len(enqueued), "webhooks": sweep_events(connection)}

    return {**_run(task), "at": _now()}


def place_new_models() -> dict[str, Any]:
    """Start the evaluation of models never placed, within the sweep's budget; say
    which started and which were left, and why (``skipped`` when another process
    holds the sweep)."""

    def sweep(connection: redis.Redis, settings: Settings) -> dict[str, Any]:
        with sweep_lock(connection, "placement", settings.placement_every) as mine:
            if not mine:
                return {"skipped": "another placement sweep ran or is running"}
            return placement.place_new_models(connection, settings).as_dict()

    return {**_run(sweep), "at": _now()}


def fail_stale_games() -> dict[str, Any]:
    """Fail the games stuck ``queued`` or ``running`` past ``SNAKEBENCH_STALE_AFTER``
    that no job carries; say which (``skipped`` when another process holds the sweep)."""

    def sweep(connection: redis.Redis, settings: Settings) -> dict[str, Any]:
        with sweep_lock(connection, "stale-games", settings.stale_every) as mine:
            if not mine:
                return {"skipped": "another stale-games sweep ran or is running"}
            failed = stale_games.fail_stale_games(connection, older_than=settings.stale_after)
            return {"failed": failed}

    return {**_run(sweep), "at": _now()}
