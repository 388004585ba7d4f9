"""jobs.run_game called directly, as a worker calls it: idempotent, restartable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fakeredis
import pytest
from rq.job import Job

from jobs.run_game import GameFailedError, health_check, run_game
from snakebench.games.simulation import GameParams, create_stored_game
from snakebench.queueing import RUN_GAME
from snakebench.store import Game, Model, cancel_game, complete_game, open_store


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_db_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sb.db'}")
    monkeypatch.setenv("SNAKEBENCH_REPLAY_DIR", str(tmp_path / "replays"))
    monkeypatch.setenv("REDIS_URL", redis_db_url)
    open_store()


def new_game(seed: int = 1) -> str:
    return str(create_stored_game("greedy", "random", GameParams(seed=seed, max_rounds=40)).id)


def test_run_game_plays_and_a_second_run_returns_the_same_result() -> None:
    game_id = new_game()
    first = run_game(game_id)
    open_store()
    assert first["status"] == "completed" and Game.get_by_id(game_id).status == "completed"
    assert run_game(game_id) == first
    open_store()
    assert Model.get(Model.name == "greedy").games_played == 1


def test_a_game_left_running_by_a_dead_worker_restarts_from_its_seed() -> None:
    reference = run_game(new_game(seed=5))
    open_store()
    game_id = new_game(seed=5)
    Game.update(status="running", worker="dead-worker").where(Game.id == game_id).execute()
    again = run_game(game_id)
    assert again["status"] == "completed"
    assert (again["final_scores"], again["rounds"]) == (
        reference["final_scores"],
        reference["rounds"],
    )


def test_a_cancelled_game_is_not_played() -> None:
    game_id = new_game()
    cancel_game(game_id)
    result = run_game(game_id)
    assert result["status"] == "cancelled" and result["replay_path"] is None


def test_run_game_takes_only_a_game_id() -> None:
    with pytest.raises(TypeError, match="takes a game id"):
        run_game({"model": "gpt", "api_key": "sk-..."})  # type: ignore[arg-type]


def test_health_check_reports_what_it_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    report = health_check()
    assert report["status"] == "healthy"
    assert report["database"] is True and report["redis"] is True
    assert {"python", "snakebench", "rq", "redis", "peewee"} <= set(report["versions"])
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    down = health_check()
    assert down["status"] == "unhealthy" and "cannot reach Redis" in down["redis"]


def test_the_job_module_preloads_the_provider_sdks() -> None:
    """Workers start as `rq worker -c jobs.run_game`: importing the job module must load
    the SDKs then, once per worker, rather than in every forked work horse (the cost
    docs/PERFORMANCE.md part d measures)."""
    code = "import sys, jobs.run_game; print('openai' in sys.modules, 'anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_a_horse_of_a_plain_worker_imports_no_sdk_for_a_bot_game(tmp_path: Path) -> None:
    """`rq worker games` (no -c) imports the job module inside each horse, while the job
    runs: then a bot game loads neither SDK (seconds of imports saved per game)."""
    code = """
import sys, fakeredis
from rq.job import Job
from snakebench.games.simulation import GameParams, create_stored_game
from snakebench.store import open_store
open_store()
game = create_stored_game("greedy", "random", GameParams(seed=1, max_rounds=20))
job = Job.create("jobs.run_game.run_game", args=(game.id,), connection=fakeredis.FakeRedis())
job.save()
print(job.perform()["status"], "openai" in sys.modules, "anthropic" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["completed", "False", "False"], out.stderr


def test_a_failed_game_fails_its_job_for_good_with_the_reason() -> None:
    """RQ records a failed job with this reason (rq-dashboard, `rq info`); no retry."""
    game_id = new_game()
    reason = "MissingApiKeyError: OPENAI_API_KEY is not set"
    complete_game(game_id, rounds=0, replay_path=None, total_cost=0.0, participants=[],
                  status="failed", error=reason)  # fmt: skip
    job = Job.create(RUN_GAME, args=(game_id,), connection=fakeredis.FakeRedis())
    job.retries_left = 3
    with pytest.raises(GameFailedError, match=f"game {game_id} failed: MissingApiKeyError"):
        job.perform()
    assert job.retries_left == 0
