"""What a monitor says above its bar (``monitor.Notices``), each thing once: failed and
void games with their reasons as they end (at most PROBLEMS_SHOWN, then one line
saying there are more), and a live worker that takes games but cannot run them."""

from __future__ import annotations

from datetime import UTC, datetime

import fakeredis
import pytest
from rq import Queue, Worker
from rq.job import Job

from snakebench.cli import monitor
from snakebench.cli.monitor import Notices, problem_line
from snakebench.config import Settings
from snakebench.queueing import SERIALIZER
from snakebench.services.batches import BatchSpec, batch_progress, submit_batch
from snakebench.store import batch_game_ids, cancel_game, complete_game, mark_running


def end(game_id: str, status: str, error: str) -> None:
    mark_running(game_id, "w")
    complete_game(game_id, rounds=0, replay_path=None, total_cost=0, participants=[],
                  status=status, error=error)  # fmt: skip


def said(notices: Notices, batch_id: str) -> list[str]:
    return [line.plain for line in notices.check(batch_progress(batch_id))]


def test_each_failed_or_void_game_is_listed_once_with_its_reason(
    store: Settings, fake: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor, "PROBLEMS_SHOWN", 3)
    batch = submit_batch(BatchSpec("greedy", "random", count=6), fake)
    ids = batch_game_ids(batch.id)
    notices = Notices(batch.id, None)  # no Redis: no "no worker" hint in the way
    assert said(notices, batch.id) == []
    end(ids[0], "failed", "MissingApiKeyError: set OPENAI_API_KEY\nfor model x")
    end(ids[1], "void", "provider kept failing: 500")
    assert said(notices, batch.id) == [
        f"game {ids[0]} failed: MissingApiKeyError: set OPENAI_API_KEY for model x",
        f"game {ids[1]} void: provider kept failing: 500",
    ]
    assert said(notices, batch.id) == []  # once each
    for game_id in ids[2:5]:
        end(game_id, "failed", "boom")
    assert said(notices, batch.id) == [
        f"game {ids[2]} failed: boom",
        f"more failed or void games: see /batches/{batch.id} on the web",
    ]
    end(ids[5], "failed", "boom")
    assert said(notices, batch.id) == []


def test_the_spending_cap_that_stopped_a_game_is_said_once(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=3), fake)
    ids = batch_game_ids(batch.id)
    notices = Notices(batch.id, None)
    cancel_game(ids[0])  # a plain cancel has no reason: nothing to say
    assert said(notices, batch.id) == []
    reason = "batch 1a2b3c4d's --max-cost $0.50 has no room for a call that may cost $0.0100"
    end(ids[1], "cancelled", reason)
    end(ids[2], "cancelled", reason)
    assert said(notices, batch.id) == [
        f"spending cap reached: {reason}; games it stops end cancelled"
    ]
    assert said(notices, batch.id) == []


def test_a_reason_is_one_line_of_bounded_length_and_not_markup() -> None:
    line = problem_line("g", "failed", "[bold]x[/bold]\n" + "y" * 1000)
    assert line.startswith("game g failed: [bold]x[/bold] yyy") and len(line) < 330
    assert "\n" not in line and problem_line("g", "void", None) == "game g void: no reason recorded"


def test_a_worker_that_cannot_run_our_games_is_named_once(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=2), fake)
    Worker(["games"], connection=fake, name="jsonly").register_birth()
    clock = [0.0]
    notices = Notices(batch.id, fake, clock=lambda: clock[0])
    assert said(notices, batch.id) == []
    queue = Queue("games", connection=fake, serializer=SERIALIZER)
    for game_id in batch_game_ids(batch.id):  # taken and failed unread, waiting for a retry
        job = Job.fetch(game_id, connection=fake, serializer=SERIALIZER)
        job.worker_name, job.started_at = "jsonly", datetime.now(UTC)
        with fake.pipeline() as pipe:
            queue.remove(job, pipeline=pipe)
            job.retry(queue, pipe)  # what RQ does with it: scheduled, no reason kept
            pipe.execute()
    assert said(notices, batch.id) == []  # checked at most every WORKER_CHECK_EVERY s
    clock[0] += monitor.WORKER_CHECK_EVERY
    [warning] = said(notices, batch.id)
    assert warning.startswith("WARNING: worker jsonly cannot run SnakeBench's jobs: it took game")
    clock[0] += monitor.WORKER_CHECK_EVERY
    assert said(notices, batch.id) == []
