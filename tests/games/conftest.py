"""The games folder's store: a fresh SQLite file and replay folder per test, opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakebench.config import Settings
from snakebench.store import open_store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    chosen = Settings(
        database_url=f"sqlite:///{tmp_path / 'sb.db'}", replay_dir=tmp_path / "replays"
    )
    open_store(chosen)
    return chosen
