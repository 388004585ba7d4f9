"""peewee's query log, read: every SQL statement the store sends, named by its verb and
table (``UPDATE games``). What pins a game's statements (tests/games/test_round_trips.py)
and what ``scripts/bench_queue.py --counts`` counts in its workers.

peewee logs each statement it executes at DEBUG on the ``peewee`` logger; ``BEGIN`` and
``COMMIT``, which it sends to the driver directly, and the SQLite PRAGMAs at connect
are not in that log.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def statement_name(sql: str) -> str:
    """A statement's kind: its verb and the first table it names (``SELECT games``)."""
    words = sql.split()
    verb = words[0].upper() if words else "?"
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return verb
    found = _TABLE.search(sql)
    return f"{verb} {found.group(1)}" if found else verb


def logged_sql(record: logging.LogRecord) -> str:
    """The statement of one of peewee's log records (its message is ``(sql, params)``)."""
    return str(record.msg[0] if isinstance(record.msg, tuple) else record.msg)


class _Collect(logging.Handler):
    def __init__(self, into: Counter[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into[statement_name(logged_sql(record))] += 1


@contextmanager
def counted_statements() -> Iterator[Counter[str]]:
    """The statements this process sends inside the block, by name."""
    counts: Counter[str] = Counter()
    logger = logging.getLogger("peewee")
    handler, level = _Collect(counts), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield counts
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
