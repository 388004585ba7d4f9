"""The Celery side of ``scripts/bench_queue.py``: an app configured as the original
SnakeBench's ``backend/celery_app.py`` and two tasks, the bench's no-op and
``jobs.run_game.run_game``, the very function RQ's workers run.

Started by the bench as ``celery -A bench_queue_celery worker ...`` with this folder on
``PYTHONPATH`` and ``BENCH_CELERY_URL`` naming the broker (also the result backend, as
in the original). Celery is an optional dependency (``pip install -e ".[bench]"``):
nothing outside the bench imports this module.
"""

from __future__ import annotations

import os
from typing import Any

from bench_queue_rq import noop
from celery import Celery

# Imported before the prefork pool forks its children, as `rq worker -c jobs.run_game`
# imports it before forking work horses: neither pays the import per job.
from jobs.run_game import run_game

# The original's app.conf (gkamradt/SnakeBench backend/celery_app.py), unchanged.
ORIGINAL: dict[str, Any] = {
    "task_serializer": "json",
    "accept_content": ["json"],
    "result_serializer": "json",
    "timezone": "UTC",
    "enable_utc": True,
    "result_expires": 3600,
    "result_extended": True,
    "worker_prefetch_multiplier": 1,
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_send_task_events": True,
    "task_send_sent_event": True,
}
# Without the monitoring events (a PUBLISH per task state change): Celery at its cheapest.
NO_EVENTS = {"worker_send_task_events": False, "task_send_sent_event": False}


def make_app(url: str, *, events: bool = True) -> Celery:
    """The original's app on ``url`` (broker and results), optionally without events."""
    app = Celery("snakebench", broker=url, backend=url)
    app.conf.update(ORIGINAL if events else {**ORIGINAL, **NO_EVENTS})
    # The original's game task retries on any exception (its GameTask base class).
    retrying = {
        "autoretry_for": (Exception,),
        "retry_kwargs": {"max_retries": 3, "countdown": 5},
        "retry_backoff": True,
        "retry_jitter": True,
    }
    app.task(name="bench.noop")(noop)
    app.task(name="bench.run_game", **retrying)(run_game)
    return app


app = make_app(os.environ["BENCH_CELERY_URL"], events=os.environ.get("BENCH_CELERY_EVENTS") != "0")
