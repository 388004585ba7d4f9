"""``snakebench limits``: caps on provider requests that every worker keeps."""

from __future__ import annotations

import json
from typing import Annotated, Any

import redis
import typer
from rich.table import Table

from snakebench.cli.app import App, UsageError, fail, print_table
from snakebench.cli.terminal import SafeConsole
from snakebench.games.request_limits import Limit, limits_of, usage
from snakebench.providers import PROVIDER_DEFAULTS
from snakebench.queueing import QueueError, connect_redis
from snakebench.store import get_model, open_store
from snakebench.store.limit_queries import MAX_LIMIT, clear_limit, list_limits, set_limit

app = App(
    help="Cap requests in flight and per minute for a provider or a model, across every "
    "worker on every machine (moves wait for a slot instead of earning 429s)."
)
out = SafeConsole(soft_wrap=True)

ProviderOption = Annotated[
    str | None, typer.Option("--provider", help=f"A provider: {', '.join(PROVIDER_DEFAULTS)}.")
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="A model's name (as in models list; not its provider's id)."),
]


@app.command("set")
def set_(
    provider: ProviderOption = None,
    model: ModelOption = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_LIMIT, help="Requests in flight at most, fleet-wide."),
    ] = None,
    rpm: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_LIMIT, help="Requests started per 60 s at most, fleet-wide."),
    ] = None,
) -> None:
    """Set the limits of a provider (all its models together) or of one model; a limit
    not given keeps its stored value. Both apply when both are set.

    Games starting from now on keep them (a game reads its limits when it starts).
    Example: snakebench limits set --provider openrouter --concurrency 8 --rpm 300
    """
    if concurrency is None and rpm is None:
        raise UsageError("give --concurrency, --rpm or both")
    scope, name = _target(provider, model)
    row = set_limit(scope, name, concurrency=concurrency, rpm=rpm)
    out.print(f"{scope} {name}: {_describe(row.max_concurrency, row.max_rpm)}")


@app.command()
def clear(provider: ProviderOption = None, model: ModelOption = None) -> None:
    """Lift the limits of a provider or a model (exit 1 if it had none).

    Example: snakebench limits clear --provider openrouter
    """
    scope, name = _target(provider, model)
    if not clear_limit(scope, name):
        raise fail(f"{scope} {name} has no limits", 1)
    out.print(f"{scope} {name}: no limits")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The limits, with what is in flight and started in the last minute right now
    (read from Redis; shown as "-" when Redis cannot be reached)."""
    open_store()
    limits = list(limits_of(list_limits()).values())
    live = _live_usage(limits)
    rows: list[dict[str, Any]] = [
        {
            "scope": limit.scope,
            "name": limit.name,
            "max_concurrency": limit.concurrency,
            "max_rpm": limit.rpm,
            "in_flight": live[i][0] if live else None,
            "started_last_minute": live[i][1] if live else None,
        }
        for i, limit in enumerate(limits)
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("scope", "name", "concurrency", "per minute", "in flight", "last minute")
    for row in rows:
        table.add_row(row["scope"], row["name"], *(_cell(row[key]) for key in (
            "max_concurrency", "max_rpm", "in_flight", "started_last_minute")))  # fmt: skip
    print_table(out, table)


def _target(provider: str | None, model: str | None) -> tuple[str, str]:
    """The scope and name the options chose: exactly one of a known provider or a
    stored model."""
    if (provider is None) == (model is None):
        raise UsageError("give either --provider or --model")
    if provider is not None:
        if provider not in PROVIDER_DEFAULTS:
            known = ", ".join(PROVIDER_DEFAULTS)
            raise typer.BadParameter(f"unknown provider; known: {known}", param_hint="--provider")
        open_store()
        return "provider", provider
    open_store()
    return "model", get_model(str(model)).name


def _live_usage(limits: list[Limit]) -> list[tuple[int, int]] | None:
    if not limits:
        return None
    try:
        connection = connect_redis(timeout=2.0)
        return [usage(connection, limit) for limit in limits]
    except (QueueError, redis.RedisError, OSError):
        return None  # the limits still show; only the live figures are missing


def _describe(concurrency: int | None, rpm: int | None) -> str:
    parts = [
        f"{concurrency} in flight" if concurrency is not None else "",
        f"{rpm} per minute" if rpm is not None else "",
    ]
    return ", ".join(part for part in parts if part) or "no limits"


def _cell(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
