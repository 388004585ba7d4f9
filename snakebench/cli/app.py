"""The Typer app class every SnakeBench command group uses.

Bad input must end in one line naming the problem and exit status 2, never a
traceback. Rather than repeat a try/except in every command, :class:`App` wraps
each command it registers so the domain errors below are reported that way.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.exceptions import TyperException

from snakebench.cli.terminal import SafeConsole, one_line
from snakebench.config import ConfigError, log_level_from_env
from snakebench.engine import RulesError
from snakebench.engine.replay import ReplayFormatError
from snakebench.games.videos import NoReplayError
from snakebench.localstack.errors import LocalStackError
from snakebench.logs import configure_logging
from snakebench.players.prompt_variants import PromptVariantError
from snakebench.providers import MissingApiKeyError
from snakebench.queueing import QueueError
from snakebench.services.batches import BatchError
from snakebench.services.budget import BudgetError
from snakebench.services.catalog import CatalogError
from snakebench.services.undo import UndoError
from snakebench.store import (
    InactiveModelError,
    StoreError,
    UnknownBatchError,
    UnknownGameError,
    UnknownModelError,
)
from snakebench.store.evaluation_queries import EvaluationError
from snakebench.video import VideoSizeError

F = TypeVar("F", bound=Callable[..., Any])

err = SafeConsole(stderr=True, soft_wrap=True)


class UsageError(ValueError):
    """Bad command-line input that Typer cannot catch itself (a malformed --in, two
    options that exclude each other)."""


# Errors caused by what the user gave us, or a service it named that cannot be reached
# (Redis): one line and exit 2. Every command of every group reports them so, here.
USAGE_ERRORS: tuple[type[Exception], ...] = (
    UsageError,
    BatchError,
    BudgetError,
    EvaluationError,
    QueueError,
    UnknownBatchError,
    CatalogError,
    ConfigError,
    RulesError,
    ReplayFormatError,
    StoreError,
    UnknownModelError,
    UnknownGameError,
    InactiveModelError,
    MissingApiKeyError,
    LocalStackError,
    PromptVariantError,
    UndoError,
    NoReplayError,
    VideoSizeError,
)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr, on one line whatever ``message`` holds (a
    model's name, a provider's reply); raise the returned Exit."""
    err.print(Text.assemble(("error:", "red"), " ", one_line(message)))
    return typer.Exit(code)


def configure_command_logging() -> None:
    """Log at WARNING unless SNAKEBENCH_LOG_LEVEL says otherwise: a command's output is
    its answer, and a game it plays in-process would otherwise log lines of its own. A
    bad setting is a one-line error, exit 2."""
    try:
        configure_logging(log_level_from_env(), default="WARNING")
    except ConfigError as exc:
        raise fail(str(exc)) from None


def print_table(console: Console, table: Table) -> None:
    """``table`` whole: as wide as its widest cells, past the terminal's edge if need be
    (a narrow terminal wraps the lines; a pipe or a file gets them intact), rather than
    Rich's fit to the width, which cuts model names and ids short with an ellipsis."""
    wanted = console.measure(table, options=console.options.update_width(10_000)).maximum
    width = console.width
    console.width = max(width, wanted)
    try:
        console.print(table)
    finally:
        console.width = width


def guarded(func: F) -> F:
    """``func`` reporting the errors in :data:`USAGE_ERRORS` as one line, exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USAGE_ERRORS as exc:
            raise fail(_one_line(exc)) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except (TyperException, typer.Exit, typer.Abort, SystemExit):
            raise  # usage errors and exits Typer reports itself
        except Exception as exc:
            if os.environ.get("SNAKEBENCH_DEBUG"):
                raise
            logging.getLogger("snakebench").debug("command failed", exc_info=True)
            raise fail(f"{type(exc).__name__}: {_one_line(exc)}", 1) from None

    return wrapper  # type: ignore[return-value]


def _one_line(exc: BaseException) -> str:
    return one_line(exc) or type(exc).__name__


class App(typer.Typer):
    """A Typer whose commands report domain errors as one line (see module doc)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_enable", False)
        # Plain click errors: "Error: <one line>" instead of a framed box.
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(guarded(func))
            return func

        return decorator

    def default(self, func: F) -> F:
        """Make ``func`` the group's default command (a Typer callback that runs when no
        subcommand is named), guarded like the subcommands."""
        self.callback(invoke_without_command=True)(guarded(func))
        return func
