"""Alerts on RQ (docs/WEBHOOKS.md): what workers run to deliver webhook events, the
hooks the game and ladder jobs call when an event happens, and the no-worker watch
that runs inside the ``rq cron jobs.cron`` process.

- :func:`deliver` (``jobs.webhooks.deliver(event_id)``, on ``games-low``): POST one
  stored event; a failed POST raises, so RQ's ``Retry`` runs it again later.
- :func:`after_game`, :func:`after_evaluation`: record the events a game's or a
  ladder step's end means and enqueue their deliveries; they never fail the job
  that calls them (a webhook problem is logged, the event stays ``pending`` and the
  sweep enqueues it again).
- :func:`sweep_events` (with every scheduled reconcile, :mod:`jobs.maintenance`): enqueue
  pending events that lost their job, and prune delivered events older than 30 days.
- :func:`check_workers` / :func:`start_worker_watch`: no live worker for
  ``SNAKEBENCH_ALERT_NO_WORKER_MINUTES``. This cannot be a job (with no worker,
  nobody would run it), so the cron process runs it on a thread of its own and
  delivers that alert itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import get_current_job

from snakebench.config import Settings, get_settings
from snakebench.logs import bounded
from snakebench.queueing import connect_redis
from snakebench.queueing.status import live_worker_count
from snakebench.queueing.webhooks import enqueue_deliveries
from snakebench.services.webhooks import (
    NO_LIVE_WORKER,
    DeliveryError,
    events_after_evaluation,
    events_after_game,
    no_worker_event,
    post,
)
from snakebench.store import database, open_store_once, utcnow
from snakebench.store.webhook_queries import (
    get_webhook_event,
    pending_webhook_events,
    prune_webhook_events,
    webhook_attempt_failed,
    webhook_delivered,
)

log = logging.getLogger(__name__)

# Redis keys of the worker watch: when a live worker was last seen (epoch seconds).
WORKER_SEEN_KEY = "snakebench:alerts:worker-seen"
# A pending event older than this with no live job lost it (Redis flushed): enqueue again.
LOST_AFTER = timedelta(minutes=15)
# Inline attempts at a no-worker alert (one per watch tick) before it is given up.
WATCH_ATTEMPTS = 6


def deliver(event_id: int) -> dict[str, Any]:
    """POST the stored event ``event_id`` to its URL, signed with
    ``SNAKEBENCH_WEBHOOK_SECRET`` when set. Idempotent: a delivered event is not sent
    again. A failed POST is recorded on the row and raised, for RQ to retry; the last
    try marks the event ``failed``."""
    if not isinstance(event_id, int) or isinstance(event_id, bool):
        raise TypeError(f"deliver takes an event id, not {type(event_id).__name__}")
    job = get_current_job()
    settings = get_settings()
    open_store_once(settings)
    try:
        return _deliver(event_id, settings, final=job is None or not job.retries_left)
    finally:
        database.close()


def _deliver(event_id: int, settings: Settings, *, final: bool) -> dict[str, Any]:
    event = get_webhook_event(event_id)
    if event is None or event.status == "delivered":
        return {"event_id": event_id, "status": "delivered" if event else "gone"}
    try:
        code = post(event.url, event.kind, event.id, event.payload, settings.webhook_secret)
    except DeliveryError as exc:
        webhook_attempt_failed(event_id, str(exc), final=final)
        log.warning("webhook %s (%s) not delivered: %s", event_id, event.kind, exc)
        raise
    webhook_delivered(event_id)
    return {"event_id": event_id, "status": "delivered", "http_status": code}


def after_game(game_id: str) -> list[int]:
    """Record and enqueue the events of a game's end (``run_game`` calls it, the store
    open; closing it is the caller's)."""
    return _notify(lambda settings: events_after_game(game_id, settings))


def after_evaluation(evaluation_id: int) -> list[int]:
    """Record and enqueue ``evaluation.finished`` if the ladder has just ended."""
    return _notify(lambda settings: events_after_evaluation(evaluation_id, settings))


def _notify(find: Callable[[Settings], list[int]]) -> list[int]:
    settings = get_settings()
    try:
        events = find(settings)
        if events:
            enqueue_deliveries(events, _connection(settings))
        return events
    except Exception as exc:  # never fail a game over its alert; the sweep retries
        log.warning("webhook events not recorded or enqueued: %s", bounded(exc))
        return []


def _connection(settings: Settings) -> redis.Redis:
    job = get_current_job()
    return job.connection if job is not None else connect_redis(settings=settings)


def sweep_events(connection: redis.Redis) -> dict[str, int]:
    """Enqueue pending events whose job was lost, and prune delivered ones older
    than 30 days: part of every scheduled reconcile (:mod:`jobs.maintenance`), the
    store open. Never raises: a reconcile does not fail over its webhooks."""
    try:
        pruned = prune_webhook_events()
        lost = pending_webhook_events(created_before=utcnow() - LOST_AFTER)
        lost = [i for i in lost if _event_kind(i) != NO_LIVE_WORKER]  # the watch sends those
        return {"pruned": pruned, "enqueued": len(enqueue_deliveries(lost, connection))}
    except Exception as exc:
        log.warning("webhook sweep: %s", bounded(exc))
        return {"pruned": 0, "enqueued": 0}


def _event_kind(event_id: int) -> str | None:
    event = get_webhook_event(event_id)
    return None if event is None else str(event.kind)


# --- the worker watch (in the rq cron process) ----------------------------------------


def check_workers(
    connection: redis.Redis, settings: Settings, now: float | None = None
) -> list[int]:
    """One look at the workers: with a live one, note the time; with none for
    ``alert_no_worker_minutes`` since one was last seen (or since the watch began),
    record the alert (once per outage: its subject is that time) and POST every
    pending one here. Returns the events delivered."""
    minutes = settings.alert_no_worker_minutes
    if minutes is None:
        return []
    now = time.time() if now is None else now
    if live_worker_count(connection) > 0:
        connection.set(WORKER_SEEN_KEY, repr(now))
        return []
    seen = connection.get(WORKER_SEEN_KEY)
    if seen is None:
        connection.set(WORKER_SEEN_KEY, repr(now))
        return []
    last = float(seen)
    open_store_once(settings)
    try:
        if now - last >= minutes * 60:
            last_seen = datetime.fromtimestamp(last, UTC).replace(tzinfo=None)
            no_worker_event(last_seen, minutes, settings)
        return _deliver_here(pending_webhook_events(kind=NO_LIVE_WORKER), settings)
    finally:
        database.close()


def _deliver_here(event_ids: list[int], settings: Settings) -> list[int]:
    delivered = []
    for event_id in event_ids:
        event = get_webhook_event(event_id)
        final = event is None or event.attempts + 1 >= WATCH_ATTEMPTS
        try:
            _deliver(event_id, settings, final=final)
        except DeliveryError:
            continue
        delivered.append(event_id)
    return delivered


def watch_interval(settings: Settings) -> float:
    """Seconds between two looks: a quarter of the alert's delay, at most a minute."""
    minutes = settings.alert_no_worker_minutes or 1.0
    return min(60.0, max(1.0, minutes * 60 / 4))


def start_worker_watch(settings: Settings | None = None) -> threading.Thread | None:
    """Start the watch on a daemon thread (the cron process's); None when it is off."""
    settings = settings or get_settings()
    if settings.alert_no_worker_minutes is None:
        return None
    thread = threading.Thread(
        target=_watch_forever, args=(settings,), name="snakebench-worker-watch", daemon=True
    )
    thread.start()
    log.info("watching for no live worker (alert after %s min)", settings.alert_no_worker_minutes)
    return thread


def _watch_forever(settings: Settings) -> None:
    connection: redis.Redis | None = None
    while True:
        try:
            connection = connection or connect_redis(settings=settings)
            check_workers(connection, settings)
        except Exception as exc:  # Redis or the database down: look again next time
            log.warning("worker watch: %s", bounded(exc))
            connection = None
        time.sleep(watch_interval(settings))
