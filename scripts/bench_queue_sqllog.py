"""The worker settings module of ``scripts/bench_queue.py --counts``: the product's own
(``-c jobs.run_game``), plus peewee's query log written to ``BENCH_SQL_LOG``.

Loaded by the worker before it forks a work horse per game, so every horse (and every
ThreadWorker thread) logs through the same handler: one line per SQL statement the
game's code sends, ``<pid> <statement>``, appended and flushed at once (a horse ends
with ``os._exit``, which flushes nothing). What is in peewee's query log and what
is not: :mod:`snakebench.testing.query_log`.
"""

from __future__ import annotations

import logging
import os

from jobs.run_game import REDIS_URL, SENTINEL  # the product's settings module, as it loads
from snakebench.testing.query_log import logged_sql

__all__ = ["REDIS_URL", "SENTINEL"]


class StatementLog(logging.Handler):
    """One line per statement: the process id and the SQL, its whitespace folded."""

    def __init__(self, path: str) -> None:
        super().__init__(logging.DEBUG)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {' '.join(logged_sql(record).split())}\n")


def log_statements(path: str) -> None:
    """Send peewee's query log (and only it) to ``path``."""
    logger = logging.getLogger("peewee")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(StatementLog(path))


if os.environ.get("BENCH_SQL_LOG"):
    log_statements(os.environ["BENCH_SQL_LOG"])
