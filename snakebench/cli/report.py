"""``snakebench report``: the games worth a look over a period, as Markdown or CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from snakebench.cli.app import UsageError
from snakebench.cli.terminal import clean
from snakebench.services.game_report import FORMATS, game_report, render
from snakebench.store import open_store, utcnow


def report(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Only games started on or after DATE (UTC): 2026-12-01 or 2026-12-01T09:00.",
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Only games started in the last N days."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="markdown|csv", help="markdown or csv.")
    ] = "markdown",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Games per section.")] = 10,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write the report here instead of stdout."),
    ] = None,
) -> None:
    """The most expensive, longest (rounds), highest-scoring, longest-running (wall
    time), best (25 apples or more) and worst (1 apple or fewer) completed games, as
    the original's local-games analysis prints them.

    Example: snakebench report --days 7 --format csv --out week.csv
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    if since is not None and days is not None:
        raise UsageError("choose one of --since and --days")
    start = _since(since) if since is not None else None
    if days is not None:
        start = utcnow() - timedelta(days=days)
    if out is not None and out.is_dir():
        raise UsageError(f"--out {out} is a directory")
    open_store()
    text = render(game_report(since=start, limit=limit), fmt)
    if out is None:
        typer.echo(clean(text), nl=not text.endswith("\n"))
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(f"report written to {clean(out)}")


def _since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        message = f"--since must be a date, 2026-12-01 or 2026-12-01T09:00, not {value!r}"
        raise UsageError(message) from None
    if parsed.tzinfo is not None:  # an offset given: the same instant, as stored (naive UTC)
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
