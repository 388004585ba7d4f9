"""``snakebench leaderboard`` and ``snakebench ratings``: who is best, and by how much."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from snakebench.cli.app import App, fail
from snakebench.cli.terminal import SafeConsole
from snakebench.services.leaderboard import METHODS, Row, leaderboard
from snakebench.store import open_store
from snakebench.store.rating_queries import rebuild_trueskill

out = SafeConsole(soft_wrap=True)
# Piped output has no terminal width; a leaderboard cut at 80 columns helps nobody.
wide = out if out.is_terminal else SafeConsole(width=160)
ratings_app = App(help="TrueSkill ratings: rebuild them from the games, or check them.")


def show_leaderboard(
    method: Annotated[
        str, typer.Option(help="trueskill (the original's, mu - 3 sigma) or bt (Bradley-Terry).")
    ] = "trueskill",
    min_games: Annotated[int, typer.Option(min=0, help="Hide models with fewer games.")] = 0,
    resamples: Annotated[
        int, typer.Option(min=10, help="Bootstrap resamples for the bt intervals.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed: same games, same board.")] = 0,
    prompt_variant: Annotated[
        str | None,
        typer.Option(
            "--prompt-variant",
            help="Records over the games each model played under this prompt variant only "
            "(games, W/L/T, win rate, apples per game...); ratings stay over every game.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV rows.")] = False,
) -> None:
    """Rank the models over every rated game (completed, two models, none retired).

    Each row: rank, rating with its 95% interval, games, wins/losses/ties, win rate
    (a tie counts half), apples per game, apples and top score, invalid-move and
    fallback-parse rates (per move), cost per game and cost per rating point above the
    lowest-rated model.

    With --prompt-variant NAME, a prompt experiment's view: each model's record counts
    only the rated games in which it was prompted with NAME, and only models with such
    games are listed (bots are never prompted). The rating, its interval and the rank
    stay those of all rated games (TrueSkill is one global rating per model).

    Example: snakebench leaderboard --method bt --min-games 10
    """
    if method not in METHODS:
        raise typer.BadParameter(f"must be one of {', '.join(METHODS)}", param_hint="--method")
    if as_json and as_csv:
        raise fail("choose one of --json and --csv")
    open_store()
    rows = leaderboard(method, min_games=min_games, resamples=resamples, seed=seed,
                       prompt_variant=prompt_variant)  # fmt: skip
    if as_json:
        typer.echo(json.dumps([row.to_dict() for row in rows], indent=2))
    elif as_csv:
        _write_csv(rows)
    elif not rows and prompt_variant is not None:
        out.print(f"no rated games under prompt variant {prompt_variant} yet")
    elif not rows:
        out.print("no rated games yet: play some (snakebench play, python -m snakebench.dispatch)")
    else:
        wide.print(_table(rows, method, prompt_variant))


def _interval(row: Row, method: str) -> str:
    """TrueSkill's interval is around mu, not around the conservative rating shown
    (mu - 3 sigma sits below it), so print it as mu +/- half-width."""
    if method == "trueskill":
        middle, half = (row.lower + row.upper) / 2, (row.upper - row.lower) / 2
        return f"{middle:.1f} ± {half:.1f}"
    return f"{row.lower:.1f} .. {row.upper:.1f}"


def _write_csv(rows: list[Row]) -> None:
    fields = list(Row.__dataclass_fields__)
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.to_dict())


def _table(rows: list[Row], method: str, prompt_variant: str | None) -> Table:
    if method == "trueskill":
        title, interval = "TrueSkill: rating mu - 3 sigma", "mu ± 1.96 sigma"
    else:
        title, interval = "Bradley-Terry", "95% bootstrap"
    if prompt_variant is not None:
        title += f"; records under prompt variant {prompt_variant}, ratings over all games"
    table = Table(title=f"Leaderboard ({title})")
    headers = ("#", "model", "rating", interval, "games", "W/L/T", "win rate", "apples/game")
    rates = ("invalid moves", "fallback parses", "cost/game", "cost/point")
    for column in (*headers, "apples", "top score", *rates):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for row in rows:
        table.add_row(
            str(row.rank),
            row.model,
            f"{row.rating:.1f}",
            _interval(row, method),
            str(row.games),
            f"{row.wins}/{row.losses}/{row.ties}",
            f"{row.win_rate:.0%}",
            f"{row.apples_per_game:.1f}",
            str(row.apples),
            str(row.top_score),
            f"{row.invalid_move_rate:.1%}",
            f"{row.fallback_parse_rate:.1%}",
            f"${row.cost_per_game:.4f}",
            "-" if row.cost_per_point is None else f"${row.cost_per_point:.4f}",
        )
    return table


@ratings_app.command("rebuild")
def rebuild(
    check: Annotated[
        bool, typer.Option("--check", help="Only compare; change nothing. Exit 1 if they differ.")
    ] = False,
) -> None:
    """Replay every rated game's TrueSkill update, in the order they were applied.

    The result replaces the stored ratings (one transaction). With --check it only
    reports how far the stored ratings are from the rebuilt ones: 0 means they agree.
    """
    open_store()
    report = rebuild_trueskill(write=not check)
    verb = "checked" if check else "rebuilt"
    out.print(
        f"{verb} {report.models} models from {report.games} rated games; "
        f"largest difference from the stored ratings: {report.max_difference:.3g}"
    )
    if check and report.max_difference > 0:
        raise typer.Exit(1)
