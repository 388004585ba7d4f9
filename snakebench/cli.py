"""``snakebench``: the command line. Each area lives in :mod:`snakebench.commands`."""

from __future__ import annotations

from snakebench.commands import replay
from snakebench.commands.app import App

app = App(
    help="SnakeBench: language models play two-player Snake against each other.\n\n"
    "Start with [bold]snakebench play greedy random[/bold] (built-in bots, no API key)."
)
app.add_typer(replay.app, name="replay")


def main() -> None:
    app(prog_name="snakebench")


if __name__ == "__main__":
    main()
