"""The ``webhook_events`` table and each batch's webhook URL (docs/WEBHOOKS.md).

An event row is written once per URL (``UNIQUE (kind, subject, url)``): whichever
process notices a batch finishing records it, a second notice finds it there. The
delivery job (:mod:`jobs.webhooks`) reads the row, POSTs its payload and records how
that went; the sweep removes delivered rows after :data:`KEEP_DELIVERED`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from snakebench.store.db import transaction
from snakebench.store.models import Batch, Game, WebhookEvent, utcnow

KEEP_DELIVERED = timedelta(days=30)
MAX_ERROR_CHARS = 500


def set_batch_webhook(batch_id: str, url: str | None) -> None:
    """Give the batch its own webhook URL (None: only the global one)."""
    Batch.update(webhook_url=url).where(Batch.id == batch_id).execute()


def batch_webhook_url(batch_id: str | None) -> str | None:
    """The batch's own webhook URL, if it has one."""
    if batch_id is None:
        return None
    url = Batch.select(Batch.webhook_url).where(Batch.id == batch_id).scalar()
    return str(url) if url else None


def game_webhook_url(game_id: str) -> str | None:
    """The own webhook URL of the game's batch, if it has one (one query)."""
    url = (
        Batch.select(Batch.webhook_url)
        .join(Game, on=Game.batch == Batch.id)
        .where(Game.id == game_id)
        .scalar()
    )
    return str(url) if url else None


def record_webhook_event(kind: str, subject: str, url: str, payload: dict[str, Any]) -> int | None:
    """Insert the event for ``url``; its id, or None when it was already recorded."""
    try:
        with transaction(immediate=True):
            row = WebhookEvent.create(kind=kind, subject=subject, url=url, payload=payload)
    except pw.IntegrityError:
        return None
    return int(row.id)


def get_webhook_event(event_id: int) -> WebhookEvent | None:
    return WebhookEvent.get_or_none(WebhookEvent.id == event_id)


def webhook_delivered(event_id: int) -> None:
    """The receiver answered 2xx: the event is done."""
    WebhookEvent.update(
        status="delivered",
        attempts=WebhookEvent.attempts + 1,
        last_error=None,
        delivered_at=utcnow(),
    ).where(WebhookEvent.id == event_id).execute()


def webhook_attempt_failed(event_id: int, error: str, *, final: bool) -> None:
    """One delivery attempt failed; ``final``: no retry is left, the event is ``failed``."""
    WebhookEvent.update(
        status="failed" if final else "pending",
        attempts=WebhookEvent.attempts + 1,
        last_error=error[:MAX_ERROR_CHARS],
    ).where(WebhookEvent.id == event_id).execute()


def pending_webhook_events(
    created_before: datetime | None = None, kind: str | None = None
) -> list[int]:
    """Events still pending (recorded before ``created_before``, of ``kind``), oldest first."""
    condition = WebhookEvent.status == "pending"
    if created_before is not None:
        condition &= WebhookEvent.created_at < created_before
    if kind is not None:
        condition &= WebhookEvent.kind == kind
    query = WebhookEvent.select(WebhookEvent.id).where(condition).order_by(WebhookEvent.id)
    return [int(row.id) for row in query]


def prune_webhook_events(now: datetime | None = None) -> int:
    """Delete delivered events older than :data:`KEEP_DELIVERED`; how many went."""
    cutoff = (now or utcnow()) - KEEP_DELIVERED
    return int(
        WebhookEvent.delete()
        .where((WebhookEvent.status == "delivered") & (WebhookEvent.created_at < cutoff))
        .execute()
    )


def recent_webhook_events(limit: int = 50) -> list[WebhookEvent]:
    """The latest events, newest first."""
    return list(WebhookEvent.select().order_by(WebhookEvent.id.desc()).limit(limit))
