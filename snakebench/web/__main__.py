"""``python -m snakebench.web``: the ``snakebench web`` command on its own (the local
stack starts its dashboard this way, without going through the whole CLI)."""

from __future__ import annotations

from snakebench.cli.app import App
from snakebench.cli.web import web

app = App(no_args_is_help=False)
app.command()(web)

if __name__ == "__main__":
    app(prog_name="python -m snakebench.web")
