"""A fresh SQLite store per test, under which the root conftest's ``cli`` runs (and its
``priced`` model is written)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from snakebench.config import Settings
from snakebench.store import open_store

Invoke = Callable[..., Result]


@pytest.fixture
def store(workdir: Path) -> Settings:
    """The root conftest's :func:`workdir`, its database opened."""
    settings = Settings.from_env()
    open_store(settings)
    return settings


@pytest.fixture
def cli(store: Settings, cli: Invoke) -> Invoke:
    """The root conftest's ``cli``, once the store is open."""
    return cli
