"""What ``rq cron jobs.cron`` runs (the Procfile's ``cron`` process): RQ 3's own
scheduler, enqueueing SnakeBench's housekeeping on the high-priority queue, where any
worker, plain or hardened, picks it up.

- :func:`jobs.maintenance.reconcile_games` every ``SNAKEBENCH_RECONCILE_EVERY`` seconds
  (300 by default): games the database has and Redis lost are enqueued again without
  anyone running ``dispatch reconcile``. A run not started within its interval expires
  rather than pile up behind a queue nobody serves.
"""

from __future__ import annotations

import sys

from rq.cron import register

from jobs.maintenance import reconcile_games
from jobs.webhooks import start_worker_watch
from snakebench.config import ConfigError, get_settings
from snakebench.queueing import QUEUE_NAMES

try:
    EVERY = get_settings().reconcile_every
except ConfigError as exc:  # a bad setting: one line and exit 2, not rq's traceback
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)

register(
    reconcile_games,
    queue_name=QUEUE_NAMES["high"],
    interval=EVERY,
    job_timeout=600,
    ttl=EVERY,
    result_ttl=3600,
    failure_ttl=7 * 24 * 3600,
    name="reconcile",
)

# Alerts (docs/WEBHOOKS.md): the watch for SNAKEBENCH_ALERT_NO_WORKER_MINUTES without a
# live worker runs in this process, on a thread (no worker could run it when none is live).
start_worker_watch()
