"""Enqueueing webhook deliveries (docs/WEBHOOKS.md): one ``jobs.webhooks.deliver``
job per event, on ``games-low`` (games come first), its payload the event's id and
nothing else (the URL, the payload and the secret are read by the worker), its job id
``webhook-<id>`` so an event is never queued twice, retried by RQ's :class:`Retry`."""

from __future__ import annotations

from collections.abc import Iterable

import redis
from rq import Retry

from snakebench.queueing import DELIVER_WEBHOOK, FAILURE_TTL, game_queue, job_statuses, live_of

# Seconds before each retry of a failed POST: 5 retries over about 1 h 40 min.
RETRY_INTERVALS = [30, 120, 600, 1800, 3600]
JOB_TIMEOUT = 60  # one POST has a 10 s timeout; the rest is the database
RESULT_TTL = 3600


def delivery_job_id(event_id: int) -> str:
    return f"webhook-{event_id}"


def enqueue_deliveries(event_ids: Iterable[int], connection: redis.Redis) -> list[int]:
    """Enqueue a delivery job for each event that has no live one; the ids enqueued."""
    ids = list(event_ids)
    if not ids:
        return []
    live = live_of(job_statuses([delivery_job_id(i) for i in ids], connection))
    queue = game_queue("low", connection)
    todo = [i for i in ids if delivery_job_id(i) not in live]
    for event_id in todo:
        queue.enqueue(
            DELIVER_WEBHOOK,
            args=(event_id,),
            job_id=delivery_job_id(event_id),
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        )
    return todo
