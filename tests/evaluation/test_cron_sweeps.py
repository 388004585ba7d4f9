"""The two scheduled sweeps of ``rq cron jobs.cron`` besides reconcile: placing new
models (within a budget per sweep) and failing stale games; both off by default, each
run by one process at a time (a lock in Redis). Real Redis (the session's database)
and a real store; the jobs' functions are called as a worker calls them."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import redis
from rq.cron import CronScheduler

from jobs import maintenance
from snakebench.config import Settings
from snakebench.games.live import live_key
from snakebench.games.simulation import GameParams
from snakebench.queueing import ALLOWED_FUNCTIONS, FAIL_STALE_GAMES, PLACE_NEW_MODELS, game_queue
from snakebench.queueing.locks import sweep_lock
from snakebench.services.batches import BatchSpec, create_batch_games
from snakebench.services.evaluation import advance, start_evaluation
from snakebench.services.placement import place_new_models, worst_case
from snakebench.services.stale_games import fail_stale_games
from snakebench.store import (
    Evaluation,
    Game,
    batch_game_ids,
    create_batch,
    create_game,
    get_game,
    get_model,
    mark_running,
    upsert_model,
)
from snakebench.store.evaluation_queries import pool
from snakebench.store.models import utcnow

HOUR = 3600
SWEEP_ENV = ("SNAKEBENCH_PLACEMENT_EVERY", "SNAKEBENCH_STALE_EVERY", "SNAKEBENCH_RECONCILE_EVERY")


def _scheduled(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, int]:
    """What ``rq cron jobs.cron`` registers with this environment: name -> interval."""
    for name in SWEEP_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cron = CronScheduler(connection=redis.Redis(), logging_level=logging.WARNING)
    cron.load_config_from_file("jobs.cron")
    return {job.name: job.interval for job in cron.get_jobs()}


def test_both_sweeps_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings.from_env({})
    assert (defaults.placement_every, defaults.stale_every) == (0, 0)
    assert _scheduled(monkeypatch) == {"reconcile": 300}
    assert _scheduled(monkeypatch, SNAKEBENCH_PLACEMENT_EVERY="0") == {"reconcile": 300}


def test_each_sweep_is_scheduled_when_given_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _scheduled(monkeypatch, SNAKEBENCH_PLACEMENT_EVERY="600", SNAKEBENCH_STALE_EVERY="60")
    assert found == {"reconcile": 300, "placement": 600, "stale-games": 60}
    assert {PLACE_NEW_MODELS, FAIL_STALE_GAMES} <= ALLOWED_FUNCTIONS  # hardened workers run them


def test_placement_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env({
        "SNAKEBENCH_PLACEMENT_EVERY": "900", "SNAKEBENCH_PLACEMENT_BUDGET": "2.5",
        "SNAKEBENCH_PLACEMENT_MAX_MODELS": "3", "SNAKEBENCH_PLACEMENT_GAMES": "6",
        "SNAKEBENCH_PLACEMENT_TACTICS": " climb, price-band,climb ",
        "SNAKEBENCH_STALE_EVERY": "120", "SNAKEBENCH_STALE_AFTER": "1800",
    })  # fmt: skip
    assert (settings.placement_every, settings.placement_budget) == (900, 2.5)
    assert (settings.placement_max_models, settings.placement_games) == (3, 6)
    assert settings.placement_tactics == ("climb", "price-band")
    assert (settings.stale_every, settings.stale_after) == (120, 1800)


# --- placement --------------------------------------------------------------------


def _llm(name: str, price_in: float, price_out: float) -> None:
    upsert_model(name, provider="openai", model_slug=name, api_key_env="SB_TEST_KEY",
                 price_input_per_m=price_in, price_output_per_m=price_out)  # fmt: skip


@pytest.fixture
def models(store: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Two new priced LLM models (the dear one first: oldest), with a key variable."""
    monkeypatch.setenv("SB_TEST_KEY", "sk-test")
    _llm("dear", 3.0, 15.0)
    _llm("cheap", 0.1, 0.4)
    return store


def _worst(name: str, games: int) -> float:
    return worst_case(get_model(name), games, GameParams(max_rounds=100).rules(), pool())


def test_a_sweep_places_what_fits_its_budget_and_names_what_does_not(
    models: Settings, real_redis: redis.Redis
) -> None:
    """A ladder's worst case is its every game against the dearest opponent: the
    cheap model's is the smallest (the dear and the mid one each may meet the other)."""
    _llm("mid", 1.0, 4.0)
    cheap, mid, dear = (_worst(name, 2) for name in ("cheap", "mid", "dear"))
    assert cheap < mid == dear
    budget = (cheap + mid) / 2
    settings = Settings.from_env({
        "REDIS_URL": models.redis_url, "SNAKEBENCH_PLACEMENT_BUDGET": str(budget),
        "SNAKEBENCH_PLACEMENT_MAX_MODELS": "5", "SNAKEBENCH_PLACEMENT_GAMES": "2",
        "SNAKEBENCH_PLACEMENT_TACTICS": "climb",
    })  # fmt: skip
    sweep = place_new_models(real_redis, settings)
    assert [s["model"] for s in sweep.started] == ["cheap"]
    assert [s["model"] for s in sweep.skipped] == ["dear", "mid"]
    assert all("SNAKEBENCH_PLACEMENT_BUDGET" in s["reason"] for s in sweep.skipped)
    assert sweep.committed == pytest.approx(cheap)
    (ev,) = Evaluation.select()
    assert (ev.model.name, ev.games_target, ev.games_started) == ("cheap", 2, 1)
    assert ev.batch.params["tactics"] == ["climb"] and ev.batch.params["priority"] == "low"
    assert game_queue("low", real_redis).count == 1  # its first game, enqueued
    assert get_model("cheap").test_status == "testing"
    assert get_model("dear").test_status == "untested"
    assert {m.name for m in pool()} >= {"greedy", "random", "survivor"}  # bots never placed


def test_a_sweep_starts_at_most_max_models_and_never_the_same_model_twice(
    models: Settings, real_redis: redis.Redis
) -> None:
    settings = Settings(redis_url=models.redis_url, placement_budget=1e9, placement_games=2)
    first = place_new_models(real_redis, settings)
    assert [s["model"] for s in first.started] == ["dear"]  # the oldest, one per sweep
    second = place_new_models(real_redis, settings)
    assert [s["model"] for s in second.started] == ["cheap"]
    assert place_new_models(real_redis, settings).started == []
    assert sorted(ev.model.name for ev in Evaluation.select()) == ["cheap", "dear"]


def test_a_model_that_cannot_play_is_skipped_with_the_reason(
    models: Settings, real_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SB_TEST_KEY")
    settings = Settings(redis_url=models.redis_url, placement_budget=1e9, placement_max_models=5)
    sweep = place_new_models(real_redis, settings)
    assert sweep.started == []
    assert [s["model"] for s in sweep.skipped] == ["dear", "cheap"]
    assert all("SB_TEST_KEY" in s["reason"] for s in sweep.skipped), sweep.skipped
    assert Evaluation.select().count() == 0


# --- stale games ------------------------------------------------------------------


def _aged(game_id: str, seconds: float, *, running: bool = False) -> str:
    if running:
        mark_running(game_id, "gone")
    then = utcnow() - timedelta(seconds=seconds)
    changes = {"created_at": then, **({"started_at": then} if running else {})}
    Game.update(changes).where(Game.id == game_id).execute()
    return game_id


def _game(batch_id: str | None = None) -> str:
    return str(create_game(seed=1, players=("greedy", "random"), batch_id=batch_id).id)


def test_the_stale_sweep_fails_only_the_games_nobody_plays(
    store: Settings, real_redis: redis.Redis
) -> None:
    queued = _aged(_game(), 2 * HOUR)  # `play` killed before it started
    running = _aged(_game(), 2 * HOUR, running=True)  # `play` killed mid-game
    young = _aged(_game(), 10 * 60, running=True)  # a game still within the limit
    publishing = _aged(_game(), 2 * HOUR, running=True)  # still publishing its rounds
    real_redis.set(live_key(publishing), "{}", ex=60)
    with_job = _aged(_game(), 2 * HOUR)  # a job still carries it
    game_queue("normal", real_redis).enqueue("jobs.run_game.run_game", with_job, job_id=with_job)
    sync = create_batch(name="sync", params={"mode": "sync"}, total_games=1)
    sync_game = _aged(_game(sync.id), 2 * HOUR, running=True)  # dispatch --sync killed
    batch = create_batch_games(BatchSpec("greedy", "random", count=1))
    (batch_game,) = batch_game_ids(batch.id)
    _aged(batch_game, 2 * HOUR)  # reconcile's to enqueue again, not this sweep's

    failed = fail_stale_games(real_redis, older_than=HOUR)

    assert sorted(failed) == sorted([queued, running, sync_game])
    for game_id in failed:
        game = get_game(game_id)
        assert game.status == "failed" and "stale-games sweep" in (game.error or "")
    for game_id, status in ((young, "running"), (publishing, "running"), (with_job, "queued"),
                            (batch_game, "queued")):  # fmt: skip
        assert get_game(game_id).status == status
    assert get_game(sync_game).batch.failed == 1 and get_game(sync_game).batch.running == 0
    assert fail_stale_games(real_redis, older_than=HOUR) == []  # once


def test_a_stale_sync_evaluation_fails_with_its_game(
    store: Settings, real_redis: redis.Redis
) -> None:
    ev = start_evaluation("greedy", 3, sync=True)
    (game_id,) = advance(ev.id).pending
    _aged(game_id, 2 * HOUR, running=True)
    assert fail_stale_games(real_redis, older_than=HOUR) == [game_id]
    ev = Evaluation.get_by_id(ev.id)
    assert ev.status == "failed" and "stale" in (ev.error or "")
    assert get_model("greedy").test_status == "untested"


def test_the_stale_job_says_what_it_failed(store: Settings, real_redis: redis.Redis,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("SNAKEBENCH_STALE_AFTER", "60")
    old = _aged(_game(), 120)
    assert maintenance.fail_stale_games()["failed"] == [old]


# --- the lock ---------------------------------------------------------------------


def test_one_sweep_runs_at_a_time_and_not_again_within_half_its_interval(
    real_redis: redis.Redis,
) -> None:
    with sweep_lock(real_redis, "placement", 60) as first:
        with sweep_lock(real_redis, "placement", 60) as second:
            assert (first, second) == (True, False)
        with sweep_lock(real_redis, "stale-games", 60) as other:
            assert other  # each sweep has its own lock
    with sweep_lock(real_redis, "placement", 60) as again:
        assert not again  # the next start waits for half the interval
    assert 0 < real_redis.pttl("snakebench:sweep-lock:placement") <= 30_000
    for _ in range(2):  # with no interval left to wait, free again once it ended
        with sweep_lock(real_redis, "quick", 0) as mine:
            assert mine


def test_a_sweep_another_process_holds_is_skipped(
    models: Settings, real_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAKEBENCH_PLACEMENT_EVERY", "60")
    monkeypatch.setenv("SNAKEBENCH_PLACEMENT_BUDGET", "1000000")
    with sweep_lock(real_redis, "placement", 60):
        result = maintenance.place_new_models()
    assert "another placement sweep" in result["skipped"]
    assert Evaluation.select().count() == 0
    real_redis.delete("snakebench:sweep-lock:placement")
    assert [s["model"] for s in maintenance.place_new_models()["started"]] == ["dear"]
