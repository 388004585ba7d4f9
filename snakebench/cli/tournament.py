"""``snakebench tournament`` and ``snakebench tournament-report``.

Scheduling and reporting are two commands rather than one with a ``--report`` flag:
``tournament`` takes any number of models as arguments, and Typer (click) cannot
tell a subcommand name from a model name after such an argument, while a flag would
leave every scheduling option meaningless in report mode. A tournament that is
watched to its end (``--sync``, ``--local``, ``--monitor``) prints its report too.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from snakebench.cli.app import UsageError, print_table
from snakebench.cli.options import game_options
from snakebench.cli.submission import Submission, run_submission
from snakebench.cli.terminal import SafeConsole
from snakebench.cli.webhooks import WebhookOption, submission_webhook
from snakebench.options import DEFAULTS, GameOptions
from snakebench.services.tournament import (
    TournamentSpec,
    check_tournament,
    latest_tournament_id,
    prepare_tournament,
    tournament_report,
)
from snakebench.store import UnknownBatchError, find_batch_id, open_store

out = SafeConsole(soft_wrap=True)


@game_options()
def tournament(
    models: Annotated[
        list[str], typer.Argument(help="Two or more model names (see: snakebench models list).")
    ],
    games_per_pair: Annotated[
        int,
        typer.Option("--games-per-pair", "-k", help="Games each pair plays (even with --mirror)."),
    ] = 2,
    mirror: Annotated[
        bool,
        typer.Option(
            "--mirror",
            help="Play every seed twice, sides swapped: cancels any slot advantage. Without "
            "it the sides alternate game by game.",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(help="Reproducible: the same command gives the same games. Else random."),
    ] = None,
    options: GameOptions = DEFAULTS,  # each game option (snakebench.cli.options)
    priority: Annotated[str, typer.Option(help="Queue: high, normal or low.")] = "normal",
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            help="Budget in USD for the whole tournament, a hard cap: no provider call is "
            "made that could pass it. Refused up front if the worst case is above.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Schedule though the worst case is over --max-cost.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="A name for the tournament's batch.")] = None,
    webhook: WebhookOption = None,
    monitor: Annotated[
        bool, typer.Option("--monitor", help="Watch it to the end, then print the report.")
    ] = False,
    sync: Annotated[
        bool, typer.Option("--sync", help="Play the games in this process, no Redis.")
    ] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Start a private Redis and workers for it.")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, help="Workers for --local.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Schedule a round robin: every pair of MODELS plays --games-per-pair games.

    All the games go into ONE batch (watch it with `snakebench dispatch monitor`) on
    the RQ queues, like `snakebench dispatch`; --sync or --local play it right away.
    Example: snakebench tournament greedy survivor random -k 4 --mirror --seed 1 --sync
    """
    if sync and local:
        raise UsageError("--sync plays in this process: not with --local")
    spec = TournamentSpec(
        tuple(models), games_per_pair=games_per_pair, mirror=mirror, seed=seed,
        priority=priority, max_cost=max_cost, name=name,
        webhook=submission_webhook(webhook, sync=sync), **asdict(options),
    )  # fmt: skip
    check_tournament(spec)  # before any database or Redis is touched
    submission = Submission(
        models=spec.models,
        prepare=functools.partial(prepare_tournament, spec, force=force),
        results=tournament_report,
        show=print_report,
    )
    run_submission(submission, sync=sync, local=local, monitor=monitor, workers=workers,
                   as_json=as_json)  # fmt: skip


def tournament_report_command(
    batch_id: Annotated[
        str | None,
        typer.Argument(help="The tournament's batch id or a unique start of it; default: latest."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Standings, wins of each model against each other, and side win rates.

    Counts completed games only, so it can be read while the tournament runs. Points:
    1 a win, 1/2 a tie. With --mirror, slot 0 and slot 1 win rates far apart mean the
    board favours a side; without it they also reflect who was named first.
    """
    open_store()
    if batch_id is None:
        found = latest_tournament_id()
        if found is None:
            raise UnknownBatchError("no tournament yet: schedule one with snakebench tournament")
    else:
        found = find_batch_id(batch_id)
    report = tournament_report(found)
    if as_json:
        out.print_json(json.dumps(report))
    else:
        print_report(report)


def print_report(report: dict[str, Any]) -> None:
    """The report as three rich tables: standings, pair matrix, sides."""
    out.print(
        f"tournament {report['batch_id']}: {report['completed']}/{report['total_games']} "
        f"games completed, {report['games_per_pair']} per pair"
        + (" (mirrored)" if report["mirror"] else "")
    )
    standings = Table("model", "games", "won", "lost", "tied", "points", "apples", "cost",
                      title="standings")  # fmt: skip
    for row in report["standings"]:
        standings.add_row(
            row["model"], str(row["games"]), str(row["won"]), str(row["lost"]),
            str(row["tied"]), f"{row['points']:g}", str(row["apples"]), f"${row['cost']:.4f}",
        )  # fmt: skip
    out.print(standings)
    names = [row["model"] for row in report["standings"]]
    matrix = Table("wins of row v column", *names, title="pairs (won-lost-tied)")
    for row in names:
        cells = report["pairs"].get(row, {})
        matrix.add_row(row, *(_cell(cells.get(column)) for column in names))
    out.print(matrix)
    sides = report["sides"]
    table = Table("side", "games", "rate", title=f"sides over {sides['games']} games")
    for label, key in (("slot 0 won", "slot0"), ("slot 1 won", "slot1"), ("tied", "tie")):
        count = sides["tied" if key == "tie" else f"{key}_won"]
        rate = sides[f"{key}_rate"]
        table.add_row(label, str(count), "-" if rate is None else f"{rate:.1%}")
    print_table(out, table)


def _cell(record: dict[str, int] | None) -> str:
    return "-" if record is None else f"{record['won']}-{record['lost']}-{record['tied']}"
