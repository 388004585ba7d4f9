"""python -m snakebench.dispatch in-process (fakeredis): submit and its options, the
one-line errors, and the management commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest
import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from typer.testing import Result

from snakebench.cli import submission
from snakebench.cli.app import UsageError
from snakebench.cli.dispatch import parse_when
from snakebench.config import Settings
from snakebench.queueing import SERIALIZER
from snakebench.services.batches import (
    BatchSpec,
    batch_progress,
    create_batch_games,
    run_batch_sync,
    submit_batch,
)
from snakebench.store import (
    Batch,
    Game,
    batch_game_ids,
    complete_game,
    mark_running,
    update_batch_params,
)

Invoke = Callable[..., Result]
Bind = Callable[[redis.Redis | None], Invoke]
OneLineError = Callable[..., None]

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def run(store: Settings, fake: fakeredis.FakeRedis, cli: Bind) -> Invoke:
    return cli(fake)


@pytest.mark.parametrize(
    ("delay", "seconds"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("1.5m", 90)],
)
def test_in_takes_seconds_minutes_hours_days(delay: str, seconds: int) -> None:
    assert parse_when(None, delay, now=NOW) == NOW + timedelta(seconds=seconds)


def test_at_takes_iso_8601_with_or_without_an_offset() -> None:
    assert parse_when("2026-05-01T14:30:00+02:00", None, now=NOW) == NOW.replace(minute=30)
    naive = parse_when("2026-05-02T09:00", None, now=NOW)
    assert naive == datetime(2026, 5, 2, 9, 0).astimezone(UTC)  # local time
    assert parse_when(None, None, now=NOW) is None


@pytest.mark.parametrize(
    ("at", "delay", "message"),
    [
        ("tomorrow", None, "is not an ISO 8601 time"),
        ("2026-04-01T00:00:00+00:00", None, "is in the past"),
        (None, "10", "use a number and s, m, h or d"),
        (None, "10 minutes", "use a number and s, m, h or d"),
        (None, "", "use a number"),
        ("2026-06-01T00:00", "5m", "not both"),
    ],
)
def test_malformed_times_are_refused(at: str | None, delay: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_when(at, delay, now=NOW)


def test_submit_is_the_default_command_and_prints_json(
    run: Invoke, fake: fakeredis.FakeRedis
) -> None:
    result = run("--model-a", "greedy", "--model_b", "random", "--count", "4", "--mirror",
                 "--seed", "9", "--max_rounds", "50", "--num_apples", "3", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["games"], report["enqueued"], report["queue"]) == (4, 4, "games")
    assert report["models"] == ["greedy", "random"] and report["mirror"] is True
    ids = batch_game_ids(report["batch_id"])
    assert Queue("games", connection=fake, serializer=SERIALIZER).job_ids == ids
    game = Game.get_by_id(ids[0])
    assert (game.seed, game.max_rounds, game.num_apples) == (9, 50, 3)


def test_submit_in_ten_minutes_schedules_the_jobs(run: Invoke, fake: fakeredis.FakeRedis) -> None:
    result = run("--model-a", "greedy", "--model-b", "random", "--count", "2", "--in", "10m",
                 "--priority", "low")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "scheduled for" in result.stdout
    registry = ScheduledJobRegistry("games-low", connection=fake, serializer=SERIALIZER)
    when = registry.get_scheduled_time(registry.get_job_ids()[0])
    assert timedelta(minutes=9) < when - datetime.now(UTC) < timedelta(minutes=11)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--model-b", "random"], ["two models are needed"]),
        (["--model-a", "greedy", "--model-b", "nobody"], ["unknown model 'nobody'"]),
        (["--model-a", "greedy", "--model-b", "random", "--count", "0"], ["count must be"]),
        (["--model-a", "greedy", "--model-b", "random", "--at", "soon"], ["--at 'soon'"]),
        (["--model-a", "greedy", "--model-b", "random", "--in", "5x"], ["--in '5x'"]),
        (["--model-a", "greedy", "--model-b", "random", "--priority", "asap"], ["priority"]),
        (["--model-a", "greedy", "--model-b", "random", "--max-cost", "-1"], ["max_cost"]),
        (["--model-a", "greedy", "--model-b", "random", "--width", "1"], ["width"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2_and_writes_nothing(
    run: Invoke,
    fake: fakeredis.FakeRedis,
    args: list[str],
    fragments: list[str],
    one_line_error: OneLineError,
) -> None:
    one_line_error(run(*args), *fragments)
    assert Batch.select().count() == 0 and not fake.keys()


def test_an_unknown_model_in_a_new_directory_leaves_no_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Bind,
    fake: fakeredis.FakeRedis,
    one_line_error: OneLineError,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    one_line_error(cli(fake)("--model-a", "gpt-9", "--model-b", "random"), "unknown model")
    assert not (tmp_path / "new.db").exists()


def test_unreachable_redis_is_one_line_and_writes_nothing(
    store: Settings, cli: Bind, monkeypatch: pytest.MonkeyPatch, one_line_error: OneLineError
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    result = cli(None)("--model-a", "greedy", "--model-b", "random")
    one_line_error(result, "cannot reach Redis at redis://:***@127.0.0.1:1/0")
    assert "hunter2" not in result.output and Batch.select().count() == 0


def test_unknown_batch_ids_are_one_line_errors(run: Invoke, one_line_error: OneLineError) -> None:
    for command in (["monitor", "nope"], ["cancel", "nope"], ["retry", "nope"],
                    ["reconcile", "--batch", "nope"]):  # fmt: skip
        one_line_error(run(*command), "unknown batch 'nope'")
    one_line_error(run("monitor"), "no batch yet")


def test_sync_plays_the_batch_here_and_prints_a_summary(run: Invoke) -> None:
    result = run("--model-a", "greedy", "--model-b", "survivor", "--count", "3", "--sync",
                 "--max-rounds", "30")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "finished: 3 completed, 0 void, 0 failed, 0 cancelled" in result.stdout
    assert "games/min" in result.stdout
    assert Game.select().where(Game.status == "completed").count() == 3


def test_monitor_of_a_finished_batch_exits_0_and_of_one_with_a_failure_1(
    run: Invoke, store: Settings
) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=2, max_rounds=20))
    run_batch_sync(batch.id)
    result = run("monitor", batch.id[:8], "--json")
    assert result.exit_code == 0, result.output
    final = json.loads(result.stdout)
    assert (final["completed"], final["finished"], final["batch_id"]) == (2, True, batch.id)
    assert final["games_per_minute"] > 0
    failing = create_batch_games(BatchSpec("greedy", "random", count=1))
    (game_id,) = batch_game_ids(failing.id)
    mark_running(game_id, "w")
    complete_game(game_id, rounds=0, replay_path=None, total_cost=0, participants=[],
                  status="failed", error="boom")  # fmt: skip
    result = run("monitor")  # the latest batch
    assert result.exit_code == 1
    assert "finished: 0 completed, 0 void, 1 failed" in result.stdout
    assert f"game {game_id} failed: boom" in result.output  # with its reason
    [problem] = json.loads(run("monitor", "--json").stdout)["problems"]
    assert problem == {"game_id": game_id, "status": "failed", "error": "boom"}


def test_batches_cancel_retry_reconcile_and_purge(run: Invoke, fake: fakeredis.FakeRedis) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=3), fake)
    listed = run("batches")
    assert listed.exit_code == 0 and batch.id[:8] in listed.stdout and "0/3" in listed.stdout
    assert json.loads(run("batches", "--json").stdout)[0]["batch_id"] == batch.id
    fake.flushall()
    assert run("reconcile").stdout.strip() == "re-enqueued 3 games"
    assert run("cancel", batch.id).stdout.strip() == f"cancelled 3 games of batch {batch.id}"
    assert run("retry", batch.id).stdout.strip() == f"re-queued 0 games of batch {batch.id}"
    assert run("purge").exit_code == 1  # asks first; no answer: aborted
    assert run("purge", "--yes").stdout.startswith("purged: games-high 0, games 0")


def test_status_lists_queues_and_registries(run: Invoke, fake: fakeredis.FakeRedis) -> None:
    submit_batch(BatchSpec("greedy", "random", count=2), fake)
    result = run("status")
    assert result.exit_code == 0, result.output
    assert "no workers" in result.stdout and "games 2" in result.stdout
    data = json.loads(run("status", "--json").stdout)
    assert data["queues"]["games"] == 2 and data["registries"]["failed"] == 0
    assert data["games_without_job"] == 0 and "WARNING" not in result.output


def test_status_warns_of_games_redis_has_lost(run: Invoke, fake: fakeredis.FakeRedis) -> None:
    """Redis back empty (flushed, replaced): the database still has queued games."""
    submit_batch(BatchSpec("greedy", "random", count=3), fake)
    fake.flushall()
    result = run("status")
    assert result.exit_code == 0, result.output
    assert "WARNING: 3 queued or running games have no job in Redis" in result.output
    assert json.loads(run("status", "--json").stdout)["games_without_job"] == 3
    run("reconcile")
    assert "WARNING" not in run("status").output


def test_monitor_re_enqueues_lost_games_but_never_those_of_a_sync_batch(
    run: Invoke, fake: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(submission, "watch", lambda batch_id, *a, **k: batch_progress(batch_id))
    lost = submit_batch(BatchSpec("greedy", "random", count=2), fake)
    fake.flushall()
    result = run("monitor", lost.id)
    assert "re-enqueued 2 games that had no job" in result.output
    sync = create_batch_games(BatchSpec("greedy", "random", count=2))
    update_batch_params(sync.id, mode="sync")
    fake.flushall()
    run("monitor", sync.id)
    assert Queue("games", connection=fake).count == 0
