"""Alerts: the webhook events, their payloads, their signature and their POST
(docs/WEBHOOKS.md).

An event is recorded where it happens (:mod:`jobs.run_game` after a game,
:mod:`jobs.evaluate` after a ladder step, :mod:`jobs.webhooks` for the worker watch),
once per URL that wants it: ``SNAKEBENCH_WEBHOOK_URL`` (every event) and the batch's
own ``--webhook`` (its batch's events). With neither, nothing is recorded. Each row is
then delivered by a ``jobs.webhooks.deliver(event_id)`` job on ``games-low`` with RQ
retries; the payload is built here, when the event is recorded, and sent as stored.

RQ 3's own :class:`rq.Webhook` is not used: it reports one *job* reaching ``finished``
or ``failed`` with RQ's fields (job id, function name), while these events are about
batches, ladders, games and workers; it keeps its headers in the job hash (a signature
key there would be a secret in Redis), and it sends once, without retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from snakebench.config import ConfigError, Settings, check_http_url, get_settings
from snakebench.store import Batch, Game, game_participants, get_batch, get_game
from snakebench.store.evaluation_queries import get_evaluation
from snakebench.store.webhook_queries import (
    batch_webhook_url,
    game_webhook_url,
    record_webhook_event,
)

log = logging.getLogger(__name__)

BATCH_FINISHED = "batch.finished"
EVALUATION_FINISHED = "evaluation.finished"
GAME_FAILED = "game.failed"
NO_LIVE_WORKER = "workers.none"
KINDS = (BATCH_FINISHED, EVALUATION_FINISHED, GAME_FAILED, NO_LIVE_WORKER)

SIGNATURE_HEADER = "X-SnakeBench-Signature"
TIMESTAMP_HEADER = "X-SnakeBench-Timestamp"
EVENT_HEADER = "X-SnakeBench-Event"
TIMEOUT = 10.0  # seconds one POST may take
MAX_URL_CHARS = 2000
MAX_ERROR_CHARS = 300  # of a game's error, in its payload


class WebhookError(ValueError):
    """A webhook URL SnakeBench will not POST to; one line naming where it came from."""

    def __init__(self, message: str, field: str | None = "webhook") -> None:
        super().__init__(message)
        self.field = field


class DeliveryError(RuntimeError):
    """One POST did not get a 2xx answer; the message says what it got."""


def check_webhook(url: str | None, name: str = "webhook") -> str | None:
    """``url`` if SnakeBench may POST to it (http:// or https://, a host, one line);
    None for None; :class:`WebhookError` otherwise."""
    if url is None:
        return None
    if len(url) > MAX_URL_CHARS:
        raise WebhookError(f"{name} is longer than {MAX_URL_CHARS} characters")
    try:
        return check_http_url(name, url)
    except ConfigError as exc:
        raise WebhookError(str(exc)) from None


# --- payloads -------------------------------------------------------------------------


def _link(settings: Settings, path: str) -> str | None:
    return f"{settings.public_url}{path}" if settings.public_url else None


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def batch_data(batch: Batch, settings: Settings) -> dict[str, Any]:
    params = batch.params or {}
    return {
        "batch_id": batch.id,
        "name": batch.name,
        "status": batch.status,
        "models": list(params.get("models") or [params.get("model_a"), params.get("model_b")]),
        "total": batch.total_games,
        "completed": batch.completed,
        "failed": batch.failed,
        "void": batch.void,
        "cancelled": batch.cancelled,
        "cost": round(float(batch.total_cost), 6),
        "created_at": _when(batch.created_at),
        "url": _link(settings, f"/batches/{batch.id}"),
    }


def game_data(game: Game, settings: Settings) -> dict[str, Any]:
    error = game.error or ""
    return {
        "game_id": game.id,
        "batch_id": game.batch_id,
        "status": game.status,
        "models": [p.model.name for p in game_participants(game.id)],
        "rounds": game.rounds,
        "error": error[:MAX_ERROR_CHARS] if error else None,
        "ended_at": _when(game.ended_at),
        "url": _link(settings, f"/games/{game.id}"),
    }


def envelope(kind: str, subject: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """What every POST carries: the event's kind, what it is about, when, and its data."""
    return {"event": kind, "subject": subject, "sent_by": "snakebench", "data": dict(data)}


# --- recording ------------------------------------------------------------------------


def urls_for(settings: Settings, batch_url: str | None = None) -> list[str]:
    """Where an event goes: the global URL, then the batch's own (once each)."""
    return list(dict.fromkeys(url for url in (settings.webhook_url, batch_url) if url))


def record(kind: str, subject: str, data: Mapping[str, Any], urls: list[str]) -> list[int]:
    """One event row per URL (none already recorded); the new rows' ids."""
    payload = envelope(kind, subject, data)
    found = (record_webhook_event(kind, subject, url, payload) for url in urls)
    return [event_id for event_id in found if event_id is not None]


def events_after_game(game_id: str, settings: Settings | None = None) -> list[int]:
    """Record what a game's end means: ``game.failed`` if it failed, and
    ``batch.finished`` if it was its batch's last (an evaluation's batch reports as
    ``evaluation.finished`` instead: it reopens for each next game)."""
    settings = settings or get_settings()
    urls = urls_for(settings, game_webhook_url(game_id))
    if not urls:
        return []  # the common case: one query per game, nothing recorded
    game = get_game(game_id)
    events = []
    if game.status == "failed":
        events += record(GAME_FAILED, game.id, game_data(game, settings), urls)
    if game.batch_id is not None:
        batch = get_batch(game.batch_id)
        if batch.status == "finished" and not (batch.params or {}).get("evaluation"):
            events += record(BATCH_FINISHED, batch.id, batch_data(batch, settings), urls)
    return events


def events_after_evaluation(evaluation_id: int, settings: Settings | None = None) -> list[int]:
    """Record ``evaluation.finished`` once the ladder has ended ``finished`` or
    ``failed`` (a cancelled one was stopped by someone, who knows)."""
    settings = settings or get_settings()
    ev = get_evaluation(evaluation_id)
    if ev.status not in ("finished", "failed"):
        return []
    urls = urls_for(settings, batch_webhook_url(ev.batch_id))
    if not urls:
        return []
    data = {
        "evaluation_id": ev.id,
        "model": ev.model.name,
        "status": ev.status,
        "games_target": ev.games_target,
        "games_started": ev.games_started,
        "error": ev.error,
        "batch_id": ev.batch_id,
        "url": _link(settings, f"/models/{ev.model.name}"),
    }
    return record(EVALUATION_FINISHED, str(ev.id), data, urls)


def no_worker_event(
    last_seen: datetime, minutes: float, settings: Settings | None = None
) -> list[int]:
    """Record ``workers.none``: no live RQ worker since ``last_seen`` (naive UTC)."""
    settings = settings or get_settings()
    data = {
        "last_seen": _when(last_seen),
        "minutes": minutes,
        "url": _link(settings, "/rq"),
    }
    return record(NO_LIVE_WORKER, _when(last_seen) or "", data, urls_for(settings))


# --- delivery -------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post(url: str, kind: str, event_id: int, payload: Mapping[str, Any], secret: str) -> int:
    """POST ``payload`` as JSON to ``url`` (signed when ``secret``); the status code of
    a 2xx answer, else :class:`DeliveryError`. Redirects are not followed."""
    body = json.dumps(payload, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "SnakeBench-Webhook/1",
        EVENT_HEADER: kind,
        "X-SnakeBench-Delivery": str(event_id),
        TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{type(exc).__name__}: {' '.join(str(reason).split())}") from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, not an instruction: a webhook never follows it elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)
