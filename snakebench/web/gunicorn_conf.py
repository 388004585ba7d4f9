"""gunicorn settings for the Procfile's web process.

Used as ``gunicorn --config python:snakebench.web.gunicorn_conf 'snakebench.web:create_app()'``.
Platforms set ``PORT`` and ``WEB_CONCURRENCY`` (Heroku sizes it to the dyno); threads
serve the dashboard's polling cheaply, since requests mostly wait on Redis.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from snakebench.config import ConfigError
from snakebench.web.auth import check_binds
from snakebench.web.config import WebConfig


def _bind(env: Mapping[str, str]) -> str:
    """``HOST:PORT``: the platform's ``$PORT`` on every address (its router is the only
    way in), or ``SNAKEBENCH_WEB_HOST`` (``.env.example`` sets 127.0.0.1, so a local
    ``honcho start web worker`` needs no password). A bad value stops gunicorn at once."""
    host = env.get("SNAKEBENCH_WEB_HOST") or "0.0.0.0"
    port = env.get("PORT") or "8000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        print(f"error: PORT={port!r} is not a port number (1-65535)", file=sys.stderr)
        sys.exit(2)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


bind = [_bind(os.environ)]  # a --bind on the command line takes precedence
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
