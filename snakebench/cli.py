"""``snakebench``: the command line. Each area lives in :mod:`snakebench.commands`."""

from __future__ import annotations

from snakebench.commands import db, fake_llm, models, play, replay
from snakebench.commands.app import App

app = App(
    help="SnakeBench: language models play two-player Snake against each other.\n\n"
    "Start with snakebench play greedy random (built-in bots, no API key)."
)
app.command("play")(play.play)
app.command("fake-llm")(fake_llm.fake_llm)
app.add_typer(models.app, name="models")
app.add_typer(replay.app, name="replay")
app.add_typer(db.app, name="db")


def main() -> None:
    app(prog_name="snakebench")


if __name__ == "__main__":
    main()
