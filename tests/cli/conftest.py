from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from snakebench.cli import app

Invoke = Callable[..., Result]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite database and replay folder, as a new user's empty directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sb.db'}")
    monkeypatch.setenv("SNAKEBENCH_REPLAY_DIR", str(tmp_path / "replays"))
    return tmp_path


@pytest.fixture
def cli(workdir: Path) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, **env: str) -> Result:
        return runner.invoke(app, list(args), env=env or None, catch_exceptions=False)

    return invoke
