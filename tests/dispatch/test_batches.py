"""snakebench.services.batches with fakeredis: what submit writes, seeds and mirroring, validation,
reconcile, cancel, retry, purge, and the counters through all of it."""

from __future__ import annotations

import pickle
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis
import pytest
import redis
from rq import Queue
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus
from rq.registry import (
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from snakebench.config import Settings
from snakebench.engine import RulesError
from snakebench.providers import MissingApiKeyError
from snakebench.queueing import (
    RUN_GAME,
    SERIALIZER,
    QueueError,
    enqueue_games,
    live_job_ids,
    locks,
    recovery,
)
from snakebench.queueing.recovery import purge
from snakebench.services.batches import (
    BatchError,
    BatchSpec,
    batch_progress,
    cancel_batch,
    create_batch_games,
    enqueue_batch,
    latest_batch_id,
    retry_batch,
    run_batch_sync,
    submit_batch,
)
from snakebench.services.reconcile import reconcile
from snakebench.store import (
    Batch,
    Game,
    InactiveModelError,
    Participant,
    UnknownBatchError,
    UnknownModelError,
    batch_game_ids,
    cancel_game,
    complete_game,
    mark_running,
    upsert_model,
)

CountersMatch = Callable[[str], bool]


def queue(connection: fakeredis.FakeRedis, name: str = "games") -> Queue:
    return Queue(name, connection=connection, serializer=SERIALIZER)


def take(connection: fakeredis.FakeRedis, game_id: str, status: JobStatus) -> None:
    """Do to the game's job what a worker would: take it off its queue, set its status."""
    queue(connection).remove(game_id)
    Job.fetch(game_id, connection=connection, serializer=SERIALIZER).set_status(status)


def lineup(game_id: str) -> list[str]:
    rows = Participant.select().where(Participant.game == game_id).order_by(Participant.slot)
    return [row.model.name for row in rows]


def test_submit_writes_one_batch_n_games_and_n_id_only_jobs_named_by_game_id(
    any_store: Settings, fake: fakeredis.FakeRedis, counters_match: CountersMatch
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=12, seed=1), fake)
    assert Batch.select().count() == 1 and Game.select().count() == 12
    ids = batch_game_ids(batch.id)
    assert queue(fake).job_ids == ids  # in creation order, job id == game id
    for game_id in ids:
        raw = fake.hget(Job.key_for(game_id), "data")
        assert isinstance(raw, bytes)
        assert pickle.loads(zlib.decompress(raw)) == (RUN_GAME, None, (game_id,), {})
    progress = batch_progress(batch.id)
    assert (progress.total, progress.queued, progress.done, progress.finished) == (12, 12, 0, False)
    assert progress.status == "active" and latest_batch_id() == batch.id
    assert counters_match(batch.id)


def test_every_game_gets_the_rules_and_its_line_up(any_store: Settings) -> None:
    spec = BatchSpec("survivor", "greedy", count=3, width=8, height=9, max_rounds=40, num_apples=3)
    batch = create_batch_games(spec)
    for game in Game.select().where(Game.batch == batch.id):
        assert (game.width, game.height, game.max_rounds, game.num_apples) == (8, 9, 40, 3)
        assert lineup(game.id) == ["survivor", "greedy"]
    assert batch.params["model_a"] == "survivor" and batch.params["priority"] == "normal"


def test_a_seed_makes_game_i_seed_plus_i(store: Settings) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=5, seed=100))
    seeds = [Game.get_by_id(gid).seed for gid in batch_game_ids(batch.id)]
    assert seeds == [100, 101, 102, 103, 104]


def test_without_a_seed_each_game_draws_one(store: Settings) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=20))
    seeds = [Game.get_by_id(gid).seed for gid in batch_game_ids(batch.id)]
    assert all(0 <= seed < 2**31 for seed in seeds) and len(set(seeds)) > 15


def test_mirror_plays_each_seed_twice_with_sides_swapped(any_store: Settings) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=6, seed=7, mirror=True))
    games = [Game.get_by_id(gid) for gid in batch_game_ids(batch.id)]
    assert [g.seed for g in games] == [7, 7, 8, 8, 9, 9]
    assert [lineup(g.id) for g in games] == [["greedy", "random"], ["random", "greedy"]] * 3


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"count": 0}, BatchError, "count must be between 1 and 100,000"),
        ({"count": 10**9}, BatchError, r"submit several for more\), got 1,000,000,000"),
        ({"count": 3, "mirror": True}, BatchError, "count must be even"),
        ({"priority": "urgent"}, BatchError, "priority must be high, normal or low"),
        ({"max_cost": 0.0}, BatchError, "max_cost must be above zero"),
        ({"seed": -1}, BatchError, "seed must be between"),
        ({"invalid_move_policy": "skip"}, RulesError, "invalid_move_policy must be"),
        ({"width": 101}, RulesError, "width must be at most 100, got 101"),
        ({"model_b": "nobody"}, UnknownModelError, "unknown model 'nobody'"),
        ({"width": 1}, RulesError, "width must be at least 2"),
        ({"double_death": "both"}, RulesError, "double_death"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(
    store: Settings,
    fake: fakeredis.FakeRedis,
    changes: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    spec = BatchSpec(**{"model_a": "greedy", "model_b": "random", "count": 4, **changes})
    with pytest.raises(error, match=message):
        submit_batch(spec, fake)
    assert Batch.select().count() == 0 and Game.select().count() == 0 and not fake.keys()


def test_a_missing_api_key_or_a_removed_model_is_refused(
    store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SB_TEST_KEY", raising=False)
    upsert_model("gpt", provider="openai", model_slug="gpt-x", api_key_env="SB_TEST_KEY")
    with pytest.raises(MissingApiKeyError):
        create_batch_games(BatchSpec("gpt", "random"))
    upsert_model("old", provider="bot", model_slug="greedy", is_active=False)
    with pytest.raises(InactiveModelError):
        create_batch_games(BatchSpec("old", "random"))
    assert Game.select().count() == 0


def test_priority_and_at_pick_the_queue_or_the_schedule(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    high = submit_batch(BatchSpec("greedy", "random", count=2, priority="high"), fake)
    assert queue(fake, "games-high").job_ids == batch_game_ids(high.id)
    when = datetime.now(UTC) + timedelta(hours=1)
    later = submit_batch(BatchSpec("greedy", "random", count=3, priority="low"), fake, at=when)
    assert queue(fake, "games-low").count == 0
    scheduled = ScheduledJobRegistry(queue=queue(fake, "games-low")).get_job_ids()
    assert sorted(scheduled) == sorted(batch_game_ids(later.id))
    assert Batch.get_by_id(later.id).params["at"] == when.isoformat()


def test_reconcile_re_enqueues_exactly_the_games_without_a_live_job(
    any_store: Settings, fake: fakeredis.FakeRedis, counters_match: CountersMatch
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=8), fake)
    ids = batch_game_ids(batch.id)
    lost = ids[1:4]
    for game_id in lost:  # as if Redis lost them
        Job.fetch(game_id, connection=fake, serializer=SERIALIZER).delete()
    mark_running(ids[2], "dead-worker")  # a game whose worker died with its job
    complete_game(ids[5], rounds=1, replay_path=None, total_cost=0, participants=[])
    take(fake, ids[5], JobStatus.FINISHED)
    assert sorted(reconcile(fake, batch_id=batch.id)) == sorted(lost)
    assert live_job_ids(ids, fake) == set(ids) - {ids[5]}
    assert queue(fake).count == 7
    assert reconcile(fake) == []  # nothing left to do
    assert counters_match(batch.id)


def test_reconcile_after_a_flushed_redis_restores_every_queued_game(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    first = submit_batch(BatchSpec("greedy", "random", count=3), fake)
    second = submit_batch(BatchSpec("random", "survivor", count=2, priority="high"), fake)
    fake.flushall()
    assert len(reconcile(fake)) == 5
    assert queue(fake).job_ids == batch_game_ids(first.id)
    assert queue(fake, "games-high").job_ids == batch_game_ids(second.id)


def test_reconcile_keeps_a_scheduled_batch_waiting_and_leaves_sync_batches_alone(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    when = datetime.now(UTC) + timedelta(hours=2)
    later = submit_batch(BatchSpec("greedy", "random", count=2), fake, at=when)
    sync = create_batch_games(BatchSpec("greedy", "random", count=2))
    Batch.update(params={**sync.params, "mode": "sync"}).where(Batch.id == sync.id).execute()
    fake.flushall()
    assert sorted(reconcile(fake)) == sorted(batch_game_ids(later.id))
    registry = ScheduledJobRegistry(queue=queue(fake))
    assert sorted(registry.get_job_ids()) == sorted(batch_game_ids(later.id))
    assert registry.get_scheduled_time(batch_game_ids(later.id)[0]) > datetime.now(UTC)
    assert len(reconcile(fake, batch_id=sync.id)) == 2  # named explicitly: done


def test_cancel_drops_queued_and_scheduled_jobs_and_stops_running_ones(
    any_store: Settings,
    fake: fakeredis.FakeRedis,
    stopped_jobs: list[str],
    counters_match: CountersMatch,
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=6), fake)
    ids = batch_game_ids(batch.id)
    complete_game(ids[0], rounds=3, replay_path=None, total_cost=0, participants=[])
    take(fake, ids[0], JobStatus.FINISHED)
    mark_running(ids[1], "w1")
    take(fake, ids[1], JobStatus.STARTED)
    assert cancel_batch(batch.id, fake) == 5
    assert stopped_jobs == [ids[1]]
    assert queue(fake).count == 0 and live_job_ids(ids, fake) == {ids[1]}  # stop is async
    statuses = [Game.get_by_id(gid).status for gid in ids]
    assert statuses == ["completed"] + ["cancelled"] * 5
    progress = batch_progress(batch.id)
    assert (progress.cancelled, progress.queued, progress.running, progress.status) == (
        5,
        0,
        0,
        "cancelled",
    )
    assert progress.finished and counters_match(batch.id)
    assert cancel_batch(batch.id, fake) == 0  # twice: nothing more


def test_cancel_of_a_scheduled_batch_empties_the_schedule(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    batch = submit_batch(
        BatchSpec("greedy", "random", count=3), fake, at=datetime.now(UTC) + timedelta(hours=1)
    )
    cancel_batch(batch.id, fake)
    assert ScheduledJobRegistry(queue=queue(fake)).get_job_ids() == []


def _end(game_id: str, status: str, cost: float = 0.0) -> None:
    mark_running(game_id, "w")
    rows: list[dict[str, Any]] = [{"slot": 0, "score": 3, "cost": cost}, {"slot": 1, "score": 1}]
    complete_game(
        game_id, rounds=9, replay_path="/r.json", total_cost=cost, participants=rows, status=status
    )


def test_retry_requeues_failed_and_void_games_under_the_same_ids(
    any_store: Settings, fake: fakeredis.FakeRedis, counters_match: CountersMatch
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=4), fake)
    ids = batch_game_ids(batch.id)
    for game_id, status in zip(ids, ["completed", "failed", "void", "completed"], strict=True):
        _end(game_id, status, cost=0.5)
        take(fake, game_id, JobStatus.FINISHED)
    assert batch_progress(batch.id).finished
    assert retry_batch(batch.id, fake) == 2
    assert queue(fake).job_ids == [ids[1], ids[2]]
    again = Game.get_by_id(ids[1])
    assert (again.status, again.rounds, again.error, again.replay_path) == ("queued", 0, None, None)
    assert [p.score for p in Participant.select().where(Participant.game == ids[1])] == [0, 0]
    progress = batch_progress(batch.id)
    assert (progress.queued, progress.failed, progress.void, progress.completed) == (2, 0, 0, 2)
    assert progress.cost == pytest.approx(2.0)  # money spent stays spent
    assert progress.status == "active" and counters_match(batch.id)
    assert retry_batch(batch.id, fake) == 0


def test_unknown_batch_ids_are_refused(store: Settings, fake: fakeredis.FakeRedis) -> None:
    for call in (
        lambda: batch_progress("nope"),
        lambda: cancel_batch("nope", fake),
        lambda: retry_batch("nope", fake),
        lambda: enqueue_batch("nope", fake),
    ):
        with pytest.raises(UnknownBatchError, match="unknown batch 'nope'"):
            call()


def test_purge_empties_queues_and_registries_but_not_the_database(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=4), fake)
    ids = batch_game_ids(batch.id)
    later = ["later-1"]
    enqueue_games(later, max_rounds=5, connection=fake, at=datetime.now(UTC) + timedelta(days=1))
    failed = Job.fetch(ids[0], connection=fake, serializer=SERIALIZER)
    queue(fake).remove(ids[0])
    FailedJobRegistry(queue=queue(fake)).add(failed, ttl=60)
    FinishedJobRegistry(queue=queue(fake)).add(
        Job.fetch(ids[1], connection=fake, serializer=SERIALIZER), ttl=60
    )
    queue(fake).remove(ids[1])
    counts = purge(fake)
    assert counts == {"games-high": 0, "games": 2, "games-low": 0, "scheduled": 1, "failed": 1,
                      "finished": 1}  # fmt: skip
    assert not fake.exists(*(Job.key_for(gid) for gid in [*ids, *later]))
    assert Game.select().where(Game.status == "queued").count() == 4
    assert len(reconcile(fake)) == 4


def test_run_batch_sync_plays_every_game_in_process_without_redis(
    any_store: Settings, counters_match: CountersMatch
) -> None:
    batch = create_batch_games(BatchSpec("greedy", "survivor", count=4, seed=3, max_rounds=30))
    seen: list[dict[str, Any]] = []
    progress = run_batch_sync(batch.id, on_game=seen.append)
    assert progress.finished and progress.completed == 4 and progress.status == "finished"
    assert [s["game_id"] for s in seen] == batch_game_ids(batch.id)
    assert all(s["replay_path"] for s in seen) and counters_match(batch.id)


def test_no_game_gets_two_jobs_when_submit_and_reconcile_overlap(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=5))
    assert len(reconcile(fake)) == 5  # e.g. a monitor started before submit enqueued
    assert enqueue_batch(batch.id, fake) == 0  # submit's enqueue then adds nothing
    assert enqueue_batch(batch.id, fake) == 0
    assert queue(fake).job_ids == batch_game_ids(batch.id)  # each game once


def test_a_batch_being_enqueued_elsewhere_makes_others_wait_then_give_up(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    batch = create_batch_games(BatchSpec("greedy", "random", count=2))
    with (
        recovery.batch_lock(fake, batch.id),
        pytest.raises(QueueError, match="being enqueued by another process"),
        recovery.batch_lock(fake, batch.id, wait=0.2),
    ):
        pass
    with recovery.batch_lock(fake, batch.id, wait=0.2):  # released: free again
        pass
    assert enqueue_batch(batch.id, fake) == 2


def test_a_living_holder_keeps_the_lock_and_a_dead_one_loses_it_in_seconds(
    store: Settings, real_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dispatcher SIGKILLed while enqueueing held the lock for five minutes, stalling
    every reconcile; now the lock lives LOCK_TTL and only its running holder renews it."""
    monkeypatch.setattr(locks, "LOCK_TTL", 1)
    batch = create_batch_games(BatchSpec("greedy", "random", count=2))
    key = f"snakebench:enqueue-lock:{batch.id}"
    with recovery.batch_lock(real_redis, batch.id):
        assert 0 < real_redis.ttl(key) <= 1  # all a holder that dies now would keep it
        token = real_redis.get(key)
        time.sleep(2.5)  # 2.5 x its TTL: renewed meanwhile
        assert real_redis.get(key) == token
        with (
            pytest.raises(QueueError, match="being enqueued by another process"),
            recovery.batch_lock(real_redis, batch.id, wait=0.3),
        ):
            pass
    assert real_redis.get(key) is None  # released at the end


def test_reconcile_takes_a_started_game_whose_worker_stopped_heartbeating(
    store: Settings, fake: fakeredis.FakeRedis, counters_match: CountersMatch
) -> None:
    batch = submit_batch(BatchSpec("greedy", "random", count=2), fake)
    game_id = batch_game_ids(batch.id)[0]
    mark_running(game_id, "w-dead")
    take(fake, game_id, JobStatus.STARTED)
    started = StartedJobRegistry("games", connection=fake).key
    fake.zadd(started, {f"{game_id}:exec-1": time.time() + 90})  # heartbeats still due
    assert reconcile(fake, batch_id=batch.id) == []  # it may still be playing
    fake.zadd(started, {f"{game_id}:exec-1": time.time() - 1})  # they lapsed: machine dead
    job = Job.fetch(game_id, connection=fake, serializer=SERIALIZER)
    fake.zadd(job.execution_registry.key, {"exec-1": time.time() + 60})  # its record expired
    assert reconcile(fake, batch_id=batch.id) == [game_id]
    assert Job.fetch(game_id, connection=fake, serializer=SERIALIZER).get_status() == "queued"
    assert game_id in queue(fake).job_ids and counters_match(batch.id)
    assert fake.zcard(started) == 0


def test_reconcile_runs_a_retry_no_scheduler_moved(
    store: Settings, fake: fakeredis.FakeRedis, counters_match: CountersMatch
) -> None:
    """A retry waits in the scheduled registry; if the worker holding the scheduler lock
    was killed, nobody moves it for up to ten minutes: reconcile enqueues it afresh once
    it is a minute overdue, and leaves one not yet due alone."""
    batch = submit_batch(BatchSpec("greedy", "random", count=2), fake)
    due_soon, overdue = batch_game_ids(batch.id)
    registry = ScheduledJobRegistry("games", connection=fake).key
    for game_id, when in ((due_soon, time.time() + 30), (overdue, time.time() - 120)):
        take(fake, game_id, JobStatus.SCHEDULED)
        fake.zadd(registry, {game_id: when})
    assert reconcile(fake, batch_id=batch.id) == [overdue]
    assert Job.fetch(overdue, connection=fake, serializer=SERIALIZER).get_status() == "queued"
    assert overdue in queue(fake).job_ids and due_soon not in queue(fake).job_ids
    assert counters_match(batch.id)


def test_reconcile_recovers_a_job_stranded_between_dequeue_and_start(
    store: Settings, fake: fakeredis.FakeRedis, counters_match: CountersMatch
) -> None:
    """A worker stopped right after taking a job leaves it ``queued`` in RQ's
    intermediate list: RQ's rule (unstarted there for over a minute) applied by
    reconcile instead of RQ's ten-minute maintenance; the first look only marks it."""
    batch = submit_batch(BatchSpec("greedy", "random", count=2), fake)
    game_id = batch_game_ids(batch.id)[0]
    waiting = IntermediateQueue(queue(fake).key, fake)
    fake.lmove(queue(fake).key, waiting.key, "LEFT", "RIGHT")  # what a worker's dequeue does
    assert reconcile(fake, batch_id=batch.id) == []  # just taken: maybe starting now
    fake.set(waiting.get_first_seen_key(game_id), time.time() - 120)
    assert reconcile(fake, batch_id=batch.id) == [game_id]
    assert game_id in queue(fake).job_ids and waiting.get_job_ids() == []
    assert counters_match(batch.id)


def test_enqueue_missing_skips_a_game_that_ended_since_it_was_listed(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    """Reconcile lists unfinished games, then reads their jobs: a game played in between
    (its job ``finished``, not live) must not get a second, empty run."""
    batch = create_batch_games(BatchSpec("greedy", "random", count=3))
    ids = batch_game_ids(batch.id)
    cancel_game(ids[0])  # ended after the caller listed it
    assert recovery.enqueue_missing(batch, ids, fake) == ids[1:]
    assert queue(fake).job_ids == ids[1:]


def fenced(real_redis: redis.Redis, batch: Batch, meanwhile: Callable[[str], Any]) -> str:
    """Hold the batch's lock as ``old`` and make ``meanwhile(key)`` happen between a
    chunk's WATCH and its EXEC; returns the lock's key."""
    key = f"snakebench:enqueue-lock:{batch.id}"
    real_redis.set(key, "old", ex=60)
    original = Queue.enqueue_many

    def and_meanwhile(self: Queue, *args: Any, **kwargs: Any) -> Any:
        jobs = original(self, *args, **kwargs)
        if not getattr(and_meanwhile, "done", False):
            and_meanwhile.done = True  # type: ignore[attr-defined]
            meanwhile(key)
        return jobs

    Queue.enqueue_many = and_meanwhile  # type: ignore[method-assign]
    return key


def test_a_chunk_whose_lock_was_taken_before_its_exec_enqueues_nothing(
    store: Settings, real_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dispatcher cut off mid-chunk: its EXEC reaches Redis when the link heals, after
    the lock expired and reconcile took it. The fence aborts it."""
    monkeypatch.setattr(Queue, "enqueue_many", Queue.enqueue_many)  # restored afterwards
    batch = create_batch_games(BatchSpec("greedy", "random", count=3))
    ids = batch_game_ids(batch.id)
    key = fenced(real_redis, batch, lambda key: real_redis.set(key, "reconcile"))
    with pytest.raises(QueueError, match="lost the enqueue lock"):
        enqueue_games(ids, max_rounds=10, connection=real_redis, fence=(key, "old"))
    assert live_job_ids(ids, real_redis) == set()


def test_a_lock_renewed_mid_chunk_enqueues_each_game_once(
    store: Settings, real_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Queue, "enqueue_many", Queue.enqueue_many)
    batch = create_batch_games(BatchSpec("greedy", "random", count=3))
    ids = batch_game_ids(batch.id)
    key = fenced(real_redis, batch, lambda key: real_redis.expire(key, 60))  # the renewer
    assert enqueue_games(ids, max_rounds=10, connection=real_redis, fence=(key, "old")) == 3
    listed = Queue("games", connection=real_redis).job_ids
    assert sorted(gid for gid in listed if gid in ids) == sorted(ids)
    for gid in ids:
        Job.fetch(gid, connection=real_redis).delete(remove_from_queue=True)


def test_reconcile_takes_a_job_popped_by_a_worker_that_never_got_it(
    store: Settings, fake: fakeredis.FakeRedis
) -> None:
    """A reset on a worker's path as Redis replies to its BLPOP: the id left the queue,
    the worker never saw it, the job stays ``queued`` in no list (the slow-link drill).
    The first look only marks it; a minute later it is dead and enqueued afresh."""
    batch = submit_batch(BatchSpec("greedy", "random", count=2), fake)
    lost, kept = batch_game_ids(batch.id)
    fake.lrem(queue(fake).key, 1, lost)  # popped, the reply lost on the way
    assert reconcile(fake) == []  # marked: a healthy worker may be about to start it
    for key in fake.scan_iter(f"{recovery.UNLISTED_PREFIX}{lost}:*"):
        fake.set(key, time.time() - recovery.UNLISTED_AFTER - 1)  # a minute on
    assert reconcile(fake) == [lost]
    assert sorted(queue(fake).job_ids) == sorted([lost, kept])  # each once
    assert reconcile(fake) == []
