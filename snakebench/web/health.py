"""``GET /healthz``: can this deployment run games? For load balancers and platforms.

200 when both Redis and the database answer, 503 otherwise. Live workers are counted
but do not decide the status: a web service with its workers scaled to zero is
healthy, and restarting it would not bring a worker back. Failure details go to the
log, not the response, since the endpoint is public.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify

from snakebench.config import mask_url
from snakebench.queueing.connection import where
from snakebench.queueing.status import live_worker_count
from snakebench.web.services import log, services

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    found = services()
    redis_ok = _check("redis", lambda: found.redis().ping(), where(found.config.redis_settings))
    workers = _live_workers() if redis_ok else None
    database_ok = _check("database", found.ping_database, found.config.database_url)
    healthy = redis_ok and database_ok
    body = {
        "status": "ok" if healthy else "unavailable",
        "redis": redis_ok,
        "database": database_ok,
        "workers": workers,
    }
    return jsonify(body), 200 if healthy else 503


def _check(what: str, probe: Callable[[], Any], url: str) -> bool:
    try:
        probe()
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        log.warning("healthz: %s at %s unreachable: %s", what, mask_url(url), reason)
        return False
    return True


def _live_workers() -> int | None:
    """RQ workers whose heartbeat has not expired (a killed one drops out in minutes)."""
    try:
        return live_worker_count(services().redis())
    except Exception:
        return None
