"""Fixtures for the local stack tests: real redis-server and ``rq worker`` processes.

The stack's folder lives under a short temporary path: Unix socket paths are limited
to ~104 bytes and pytest's own tmp paths can get close to that on some systems.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from snakebench.config import Settings
from snakebench.games.simulation import GameParams, create_stored_game
from snakebench.localstack.control import stack_status, stop_stack
from snakebench.localstack.processes import ProcessRecord
from snakebench.localstack.state import load_state
from snakebench.store import database, get_game, open_store
from snakebench.testing.support import wait_for

MAX_ROUNDS = 40


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite database and replay folder; workers inherit them by environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sb.db'}")
    monkeypatch.setenv("SNAKEBENCH_REPLAY_DIR", str(tmp_path / "replays"))
    yield tmp_path
    if database.obj is not None:
        database.close()


@pytest.fixture
def root() -> Iterator[Path]:
    """The stack's folder; whatever a failed test left running there is stopped."""
    base = Path(tempfile.mkdtemp(prefix="sbl-", dir="/tmp" if Path("/tmp").is_dir() else None))
    folder = base / ".snakebench"
    yield folder
    if folder.exists():
        stop_stack(folder, grace=1)
    shutil.rmtree(base, ignore_errors=True)


def bot_games(count: int) -> list[str]:
    """``count`` stored, queued greedy-vs-random games (seeded), by id."""
    settings = Settings.from_env()
    open_store(settings)
    params = [GameParams(seed=seed, max_rounds=MAX_ROUNDS) for seed in range(count)]
    return [create_stored_game("greedy", "random", p, settings=settings).id for p in params]


def wait_completed(game_ids: list[str], timeout: float = 60) -> None:
    def all_done() -> bool:
        return all(get_game(gid).status == "completed" for gid in game_ids)

    wait_for(all_done, timeout, f"{len(game_ids)} games to complete", error=AssertionError)


def stack_records(folder: Path) -> list[ProcessRecord]:
    state = load_state(folder)
    assert state is not None, f"no stack.json in {folder}"
    return [state.owner, *state.children()]


def assert_all_gone(records: list[ProcessRecord]) -> None:
    alive = [f"{r.role} (pid {r.pid})" for r in records if r.alive()]
    assert not alive, f"still running: {', '.join(alive)}"


def start_up(folder: Path, workers: int) -> tuple[subprocess.Popen[str], list[str]]:
    """``snakebench local up`` in a subprocess, returned once it has said it is up
    (with what it said): by then its workers are registered."""
    command = [sys.executable, "-m", "snakebench.cli.local", "up", "--root", str(folder)]
    proc = subprocess.Popen(
        [*command, "--workers", str(workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    assert proc.stdout is not None
    said = [proc.stdout.readline()]  # start() has its own timeouts: this cannot hang
    while said[-1] and "Ctrl+C" not in said[-1]:
        said.append(proc.stdout.readline())
    if not said[-1]:
        raise AssertionError(f"local up exited {proc.wait()}: {proc.stderr.read()}")  # type: ignore[union-attr]
    assert stack_status(folder)["rq_workers"] == workers
    return proc, said


def interrupt(proc: subprocess.Popen[str], signum: int = signal.SIGINT) -> tuple[str, str]:
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return out, err
