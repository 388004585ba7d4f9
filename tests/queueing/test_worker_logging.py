"""A real ``rq worker`` prints SnakeBench's own log lines, INFO included, formatted.

A stock worker sets up only RQ's logger; ours are set up when the worker (``-c
jobs.run_game``) or its work horse (a plain ``rq worker games``) imports the job
module. Without that, a game's INFO lines would vanish and its warnings print bare.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from jobs.maintenance import reconcile_games
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.queueing import WORKER_COMMAND, connect_redis
from snakebench.services.batches import BatchSpec, submit_batch
from snakebench.store import batch_game_ids, open_store, upsert_model
from snakebench.testing import support

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"  # the format's timestamp


@pytest.fixture
def worker_env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_db_url: str,
    real_redis: redis.Redis,
) -> dict[str, str]:
    """A store, replay folder and Redis (flushed) both this test and its workers use."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}",
        "SNAKEBENCH_REPLAY_DIR": str(tmp_path / "replays"),
        "REDIS_URL": redis_db_url,
        "OPENAI_API_KEY": "sk-test-not-a-secret",
        **support.QUICK_FAILURES,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SNAKEBENCH_LOG_LEVEL", raising=False)
    open_store()
    return {**os.environ, **env}


@pytest.fixture
def broken_provider() -> Iterator[str]:
    """A model whose provider answers every request with a server error."""
    with FakeLLMServer(FakeOptions(error_rate=1.0)) as server:
        upsert_model("broken", provider="openai", model_slug="broken", base_url=f"{server.url}/v1")
        yield "broken"


@pytest.mark.parametrize("command", ["rq worker games", WORKER_COMMAND], ids=["plain", "hardened"])
def test_a_real_worker_prints_each_games_start_end_and_retries(
    command: str, worker_env: dict[str, str], broken_provider: str, tmp_path: Path
) -> None:
    connection = connect_redis(worker_env["REDIS_URL"])
    played = submit_batch(BatchSpec("greedy", "random", count=1, max_rounds=20, seed=1), connection)
    voided = submit_batch(BatchSpec(broken_provider, "random", count=1, seed=2), connection)
    [good], [bad] = batch_game_ids(played.id), batch_game_ids(voided.id)

    worker = support.start_worker(
        worker_env["REDIS_URL"],
        name=f"log-{tmp_path.name[-8:]}",
        log=tmp_path / "worker.log",
        env=worker_env,
        cwd=tmp_path,
        burst=True,
        command=command,
    )
    support.assert_workers_exit([worker], 120)
    output = worker.output()

    def line(level: str, logger: str, message: str) -> str:
        pattern = rf"^{STAMP} {level} {re.escape(logger)}: {message}$"
        found = re.search(pattern, output, re.M)
        assert found, f"no line like {pattern!r} in:\n{output}"
        return found.group(0)

    games = "snakebench.games.game_log"
    line("INFO", games, rf"game {good} started: greedy vs random \(run 1, worker .+\)")
    result = r"(greedy won|random won|tied) \d+-\d+, \d+ rounds, \$0\.0000, \d+\.\d s"
    line("INFO", games, rf"game {good} completed: greedy vs random, {result}")
    line("INFO", games, rf"game {bad} started: broken vs random \(run 1, worker .+\)")
    retry = r"broken's move in round 0: retry 1 of 1 in \d+\.\d s: model 'broken': HTTP 5\d\d: .+"
    line("WARNING", "snakebench.providers.retry", retry)
    reason = r"model 'broken': HTTP 5\d\d: .+ \(gave up after 2 attempts\)"
    line(
        "WARNING",
        games,
        rf"game {bad} void: broken vs random, 0 rounds, \$0\.0000, \d+\.\d s: {reason}",
    )
    assert "Traceback" not in output


def test_a_reconcile_logs_what_it_enqueued_again(
    worker_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """One line per run: the games Redis lost (the first few by id), or that none were."""
    connection = connect_redis(worker_env["REDIS_URL"])
    batch = submit_batch(BatchSpec("greedy", "random", count=7, seed=1), connection)
    connection.flushdb()  # Redis lost every job; the database still has seven queued games
    caplog.set_level(logging.INFO, logger="snakebench.services.reconcile")
    assert reconcile_games()["enqueued"] == 7
    assert reconcile_games()["enqueued"] == 0
    lost, quiet = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "snakebench.services.reconcile" and "batch" not in r.getMessage()
    ]
    assert lost[0] == logging.WARNING
    summary = r"reconcile: 7 games had no job and were enqueued again: (.+) and 2 more"
    named = re.fullmatch(summary, lost[1])
    assert named, lost[1]
    assert set(named.group(1).split(", ")) < set(batch_game_ids(batch.id))
    assert quiet == (logging.INFO, "reconcile: every unfinished game has a job; nothing enqueued")
