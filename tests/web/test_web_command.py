"""``snakebench web``: bad binds end in one line and exit status 2."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from snakebench.cli.app import App
from snakebench.cli.web import web


@pytest.fixture
def run_web(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Any:
    monkeypatch.delenv("SNAKEBENCH_WEB_PASSWORD", raising=False)
    monkeypatch.delenv("SNAKEBENCH_API_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    app = App(no_args_is_help=False)
    app.command()(web)

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args))

    return run


def test_web_refuses_a_public_bind_without_a_password(run_web: Any) -> None:
    result = run_web("--host", "0.0.0.0")
    assert result.exit_code == 2
    assert result.output == (
        "error: refusing to serve on 0.0.0.0 without a password or an API token: "
        "set SNAKEBENCH_WEB_PASSWORD (login for everything) or SNAKEBENCH_API_TOKEN "
        "(public pages, token for /rq and writes), or listen on 127.0.0.1\n"
    )


def test_web_reports_a_busy_port_in_one_line(run_web: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_web("--port", str(port))
    assert result.exit_code == 2
    assert result.output == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
