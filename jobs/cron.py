"""What ``rq cron jobs.cron`` runs (the Procfile's ``cron`` process): RQ 3's own
scheduler, enqueueing SnakeBench's housekeeping on the high-priority queue, where any
worker, plain or hardened, picks it up. Each schedule is one :func:`schedule` line; a
run not started within its interval expires rather than pile up behind a queue nobody
serves.

- :func:`jobs.maintenance.reconcile_games` every ``SNAKEBENCH_RECONCILE_EVERY`` seconds
  (300 by default): games the database has and Redis lost are enqueued again without
  anyone running ``dispatch reconcile``.
- :func:`jobs.maintenance.place_new_models` every ``SNAKEBENCH_PLACEMENT_EVERY``
  seconds (0, off, by default): new models are placed on the ladder.
- :func:`jobs.maintenance.fail_stale_games` every ``SNAKEBENCH_STALE_EVERY`` seconds
  (0, off, by default): games no job carries and no process plays are failed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from rq.cron import register

from jobs.maintenance import fail_stale_games, place_new_models, reconcile_games
from jobs.webhooks import start_worker_watch
from snakebench.config import ConfigError, get_settings
from snakebench.queueing import QUEUE_NAMES

try:
    SETTINGS = get_settings()
except ConfigError as exc:  # a bad setting: one line and exit 2, not rq's traceback
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
EVERY = SETTINGS.reconcile_every


def schedule(func: Callable[..., Any], every: int, name: str) -> None:
    """Run ``func`` every ``every`` seconds on the high-priority queue; 0 is off."""
    if every <= 0:
        return
    register(
        func,
        queue_name=QUEUE_NAMES["high"],
        interval=every,
        job_timeout=600,
        ttl=every,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        name=name,
    )


schedule(reconcile_games, EVERY, "reconcile")
schedule(place_new_models, SETTINGS.placement_every, "placement")
schedule(fail_stale_games, SETTINGS.stale_every, "stale-games")

# Alerts (docs/WEBHOOKS.md): the watch for SNAKEBENCH_ALERT_NO_WORKER_MINUTES without a
# live worker runs in this process, on a thread (no worker could run it when none is live).
start_worker_watch(SETTINGS)
