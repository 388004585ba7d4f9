"""``snakebench``: every command group put together (the console script's entry)."""

from __future__ import annotations

from typing import Annotated

import typer

from snakebench import __version__
from snakebench.cli import costs as costs_cmd
from snakebench.cli import db, dispatch, fake_llm, limits, local, models, play, prompts, replay, web
from snakebench.cli import games as games_cmd
from snakebench.cli import leaderboard as leaderboard_cmd
from snakebench.cli import report as report_cmd
from snakebench.cli import tournament as tournament_cmd
from snakebench.cli import webhooks as webhooks_cmd
from snakebench.cli.app import App, configure_command_logging
from snakebench.cli.evaluate import evaluate

app = App(
    help="SnakeBench: language models play two-player Snake against each other.\n\n"
    "Start with: snakebench play greedy random (built-in bots, no API key)."
)
app.command("play")(play.play)
app.command("evaluate")(evaluate)
app.add_typer(dispatch.app, name="dispatch")
app.add_typer(models.app, name="models")
app.add_typer(limits.app, name="limits")
app.add_typer(prompts.app, name="prompts")
app.add_typer(replay.app, name="replay")
app.add_typer(local.app, name="local")
app.command("web")(web.web)
app.command("fake-llm")(fake_llm.fake_llm)
app.add_typer(db.app, name="db")
app.command("tournament")(tournament_cmd.tournament)
app.command("tournament-report")(tournament_cmd.tournament_report_command)
app.command("costs")(costs_cmd.costs)
app.command("leaderboard")(leaderboard_cmd.show_leaderboard)
app.add_typer(leaderboard_cmd.ratings_app, name="ratings")
app.add_typer(games_cmd.app, name="games")
app.command("audit")(games_cmd.audit)
app.add_typer(webhooks_cmd.app, name="webhooks")
app.command("report")(report_cmd.report)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"snakebench {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """SnakeBench: language models play two-player Snake against each other."""
    configure_command_logging()


def main() -> None:
    app(prog_name="snakebench")
