"""The game options on the command line, made from :data:`snakebench.options.OPTION_ROWS`.

Every command that plays games (``dispatch``, ``tournament``, ``play``, ``evaluate``)
is decorated with :func:`game_options`: it then takes every option with the same
flags, bounds and help text, and receives them as one ``options: GameOptions``
argument. A new option is added to :class:`~snakebench.options.GameOptions` and its
row, and every command has it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import typer

from snakebench.options import DEFAULTS, OPTION_NAMES, OPTION_ROWS, GameOptions, OptionRow

F = TypeVar("F", bound=Callable[..., Any])


def game_options(**defaults: Any) -> Callable[[F], F]:
    """Replace the command's ``options: GameOptions = DEFAULTS`` parameter with one
    command-line option per game option, listed where it was; ``defaults`` overrides a
    default (``play``: 150 rounds)."""

    def decorator(func: F) -> F:
        signature = inspect.signature(func, eval_str=True)
        names = list(signature.parameters)
        at = names.index("options")  # the game options are listed where it was
        added = [_parameter(row, defaults.get(row.name, getattr(DEFAULTS, row.name)))
                 for row in OPTION_ROWS]  # fmt: skip
        params = list(signature.parameters.values())

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            chosen = {name: kwargs.pop(name) for name in OPTION_NAMES}
            return func(*args, options=GameOptions(**chosen), **kwargs)

        parameters = [*params[:at], *added, *params[at + 1 :]]
        command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {param.name: param.annotation for param in parameters}
        return command  # type: ignore[return-value]

    return decorator


def _parameter(row: OptionRow, default: Any) -> inspect.Parameter:
    # Bounds are checked by GameOptions.check (one line, exit 2, the same words as the
    # API's 422), not by click, whose usage error spans several lines; help shows them.
    option = typer.Option(*row.flags, help=f"{row.help}{_range(row)}")
    # Typer offers a Literal's values as the option's choices.
    kind: Any = row.kind if row.choices is None else Literal[row.choices]
    return inspect.Parameter(
        row.name,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=default,
        annotation=Annotated[kind, option],
    )


def _range(row: OptionRow) -> str:
    if row.minimum is None or row.maximum is None:
        return ""
    return f" {row.minimum} to {row.maximum:,}."
