"""gunicorn settings for the Procfile's web process.

Used as ``gunicorn --config python:snakebench.web.gunicorn_conf ...``. Platforms set
``WEB_CONCURRENCY`` (Heroku sizes it to the dyno); threads serve the dashboard's
polling cheaply, since requests mostly wait on Redis.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from snakebench.config import ConfigError
from snakebench.web.auth import check_binds
from snakebench.web.config import WebConfig

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
graceful_timeout = 20
accesslog = "-"
forwarded_allow_ips = "*"  # behind the platform's router, trust its X-Forwarded-Proto


def on_starting(server: Any) -> None:
    """Refuse, before binding anything, to serve beyond loopback without a password."""
    try:
        check_binds(server.cfg.bind, WebConfig.from_env())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
