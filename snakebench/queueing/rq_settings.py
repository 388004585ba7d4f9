"""An RQ settings module that reaches SnakeBench's Redis wherever it is: ``rq worker -c
snakebench.queueing.rq_settings games``, ``rq info -c snakebench.queueing.rq_settings``.

With ``-c``, RQ takes its connection from the module's ``REDIS_URL`` or, when that is
None, its ``SENTINEL`` dict, never from the environment. Stock RQ reads the environment's
``REDIS_URL`` only, so behind Sentinel (``REDIS_SENTINELS``, docs/HA.md) a worker or an
``rq info`` needs this module, or ``jobs.run_game`` (the recommended worker command's
``-c``, which defines the same two names and preloads the game code besides).
"""

from __future__ import annotations

import sys
from typing import Any

from snakebench.config import ConfigError, get_settings
from snakebench.queueing.connection import rq_connection_settings

try:
    _FOUND = rq_connection_settings(get_settings())
except ConfigError as exc:  # RQ's CLI would print a traceback: one line instead
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
REDIS_URL: str | None = _FOUND["REDIS_URL"]
SENTINEL: dict[str, Any] | None = _FOUND["SENTINEL"]
