"""A fresh SQLite store per test and the ``snakebench`` CLI run in-process (as
tests/cli/conftest.py does), plus a priced LLM model for the cost tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from snakebench.cli import app
from snakebench.config import Settings
from snakebench.store import open_store, upsert_model

Invoke = Callable[..., Result]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh SQLite database and replay folder; the environment points at them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sb.db'}")
    monkeypatch.setenv("SNAKEBENCH_REPLAY_DIR", str(tmp_path / "replays"))
    settings = Settings.from_env()
    open_store(settings)
    return settings


@pytest.fixture
def cli(store: Settings) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def priced(store: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """An LLM model with prices and a key variable (never called)."""
    monkeypatch.setenv("SB_TEST_KEY", "sk-test")
    upsert_model(
        "pricey",
        provider="openai",
        model_slug="x",
        api_key_env="SB_TEST_KEY",
        price_input_per_m=3.0,
        price_output_per_m=15.0,
    )
    return "pricey"
