"""SnakeBench's log lines: one level setting, one format, one place that sets them up.

Every module logs to ``logging.getLogger(__name__)``, so all of them sit under the
``snakebench`` logger (and ``jobs``' under ``jobs``); :func:`configure_logging` gives
those two loggers a handler and a level, and touches nothing else. That matters in a
worker: a stock ``rq worker`` sets up only RQ's own logger (``rq.worker``, which does
not propagate), so without a handler of ours a game's INFO lines would reach Python's
last-resort handler, which drops everything below WARNING and prints bare messages.

What a line says is bounded by whoever writes it: model text can be huge and hostile,
so it is never logged as it is; a reason that may hold some passes through
:func:`bounded` first.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The loggers our modules log under: the package's, and the worker entry's.
NAMESPACES = ("snakebench", "jobs")
# The name our handler carries, to know it again on a second call.
HANDLER_NAME = "snakebench"
REASON_CHARS = 200


def configure_logging(level: str | None, *, default: str = "INFO") -> None:
    """Send SnakeBench's log lines to stderr at ``level`` (SNAKEBENCH_LOG_LEVEL, as
    :func:`snakebench.config.log_level_from_env` or ``Settings.log_level`` read it),
    else at ``default``, as ``FORMAT`` says. The caller reads the setting: this module
    sits beside ``config`` in the bottom layer, and so may not import it.

    Safe to call any number of times: the handler is added once, and a later call only
    moves the level (``snakebench web`` is a command, WARNING, that becomes a server,
    INFO). A process whose logging someone else set up (a handler on the root logger,
    or one of theirs on ours: a host application, pytest) is left exactly as it is;
    our records reach their handlers by propagation."""
    chosen = level or default
    loggers = [logging.getLogger(name) for name in NAMESPACES]
    if logging.getLogger().handlers or any(_foreign_handlers(lg) for lg in loggers):
        return
    for logger in loggers:
        if not logger.handlers:
            logger.addHandler(_handler())
        logger.setLevel(chosen)


def _foreign_handlers(logger: logging.Logger) -> list[logging.Handler]:
    return [handler for handler in logger.handlers if handler.get_name() != HANDLER_NAME]


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged, not what it was at
    set-up: a live display (the CLI's progress bars) that redirects stderr then prints
    the line above itself instead of being torn by it."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """StreamHandler sets a stream; this one always takes the current one."""


def _handler() -> logging.Handler:
    handler = _CurrentStderr()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def bounded(text: object, limit: int = REASON_CHARS) -> str:
    """``text`` fit for one log line: control characters (newlines, terminal escapes)
    escaped as Python writes them, and at most ``limit`` characters, ``...`` marking a
    cut. Only the head of a huge text is looked at."""
    head = str(text)[: limit + 1]
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in head)
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."
