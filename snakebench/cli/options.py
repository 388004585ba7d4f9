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
from dataclasses import asdict, replace
from typing import Annotated, Any, Literal

import typer

from snakebench.options import DEFAULTS, OPTION_NAMES, OPTION_ROWS, GameOptions, OptionRow


def game_options(**defaults: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Replace the command's ``options: GameOptions = DEFAULTS`` parameter with one
    command-line option per game option, listed where it was; ``defaults`` overrides a
    default (``play``: 150 rounds). Called from Python, the command still takes
    ``options=GameOptions(...)`` (or the options one by one)."""
    unknown = set(defaults) - set(OPTION_NAMES)
    if unknown:
        raise TypeError(f"game_options: no such game options: {', '.join(sorted(unknown))}")
    chosen = GameOptions(**{**asdict(DEFAULTS), **defaults})

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func, eval_str=True)
        params = list(signature.parameters.values())
        at = list(signature.parameters).index("options")  # listed where it was
        added = [_parameter(row, getattr(chosen, row.name), params[at].kind)
                 for row in OPTION_ROWS]  # fmt: skip

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in OPTION_NAMES if name in kwargs}
            options = kwargs.pop("options", None) or replace(chosen, **given)
            return func(*args, options=options, **kwargs)

        parameters = [*params[:at], *added, *params[at + 1 :]]
        # Typer reads the command's options from its signature and annotations.
        setattr(command, "__signature__", signature.replace(parameters=parameters))  # noqa: B010
        command.__annotations__ = {param.name: param.annotation for param in parameters}
        return command

    return decorator


def _parameter(
    row: OptionRow, default: Any, kind_of_parameter: inspect._ParameterKind
) -> inspect.Parameter:
    # Bounds are checked by GameOptions.check (one line, exit 2, the same words as the
    # API's 422), not by click, whose usage error spans several lines; help shows them.
    option = typer.Option(*row.flags, help=f"{row.help}{_range(row)}")
    # Typer offers a Literal's values as the option's choices.
    kind: Any = row.kind if row.choices is None else Literal[row.choices]
    if row.nullable:
        kind = kind | None
    return inspect.Parameter(
        row.name,
        kind_of_parameter,
        default=default,
        annotation=Annotated[kind, option],
    )


def _range(row: OptionRow) -> str:
    if row.minimum is None or row.maximum is None:
        return ""
    return f" {row.minimum} to {row.maximum:,}."
