"""How a ladder ends other than by playing its games: cancelled (by its operator, by
``dispatch cancel`` or the budget guard), its model retired or removed, no opponent
left; its batch closes with it, and ``dispatch retry`` leaves it alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from typer.testing import Result

from snakebench.config import Settings
from snakebench.games.simulation import GameParams
from snakebench.queueing import SERIALIZER
from snakebench.services.batches import BatchError, cancel_batch, retry_batch
from snakebench.services.evaluation import advance, cancel_evaluation, start_evaluation
from snakebench.store import Batch, Evaluation, Game, Model, get_model, mark_running

Invoke = Callable[..., Result]
PARAMS = GameParams(max_rounds=10)


def _complete(game_id: str | None) -> None:
    assert game_id is not None
    Game.update(status="completed").where(Game.id == game_id).execute()


def test_cancel_with_redis_drops_the_job_and_closes_the_batch(
    store: Settings, real_redis: redis.Redis
) -> None:
    """Finding 2: cancel went through the database only, so a running game's job
    played on (and paid) to max_rounds; with Redis it goes through cancel_batch,
    which drops queued jobs and stops running ones."""
    ev = start_evaluation("greedy", 3, params=PARAMS)
    game_id = advance(ev.id, real_redis).created
    assert game_id is not None
    assert cancel_evaluation(ev.id, real_redis) == 1
    job = Job.fetch(game_id, connection=real_redis, serializer=SERIALIZER)
    assert job.get_status() == "canceled"
    assert game_id not in Queue("games", connection=real_redis).job_ids
    final = Evaluation.get_by_id(ev.id)
    assert (final.status, final.error) == ("cancelled", "cancelled by its operator")
    assert Game.get_by_id(game_id).status == "cancelled"
    batch = Batch.get_by_id(ev.batch_id)  # finding 10: closed, counting what was made
    assert (batch.status, batch.total_games, batch.cancelled) == ("cancelled", 1, 1)
    assert get_model("greedy").test_status == "untested"


def test_cancel_with_redis_stops_a_running_game(
    store: Settings, real_redis: redis.Redis, stopped_jobs: list[str]
) -> None:
    ev = start_evaluation("greedy", 3, params=PARAMS)
    game_id = advance(ev.id, real_redis).created
    assert game_id is not None
    mark_running(game_id, "w1")
    Queue("games", connection=real_redis, serializer=SERIALIZER).remove(game_id)
    Job.fetch(game_id, connection=real_redis, serializer=SERIALIZER).set_status(JobStatus.STARTED)
    assert cancel_evaluation(ev.id, real_redis) == 1
    assert stopped_jobs == [game_id]
    assert Game.get_by_id(game_id).status == "cancelled"


def test_the_cancel_command_uses_redis(
    store: Settings, real_redis: redis.Redis, run: Invoke
) -> None:
    ev = start_evaluation("greedy", 3, params=PARAMS)
    game_id = advance(ev.id, real_redis).created
    result = run("evaluate", "--cancel", "greedy")
    assert result.exit_code == 0, result.output
    assert Job.fetch(str(game_id), connection=real_redis, serializer=SERIALIZER).is_canceled


@pytest.mark.parametrize("between_games", [False, True])
def test_cancelling_the_batch_ends_the_evaluation(
    store: Settings, real_redis: redis.Redis, between_games: bool
) -> None:
    """Finding 3: ``dispatch cancel`` and the budget guard cancel the batch, and RQ runs
    no callback for a cancelled or stopped job, so the ladder used to wait forever
    (and between games, with nothing to cancel, it went on playing)."""
    ev = start_evaluation("greedy", 3, params=PARAMS)
    game_id = advance(ev.id, real_redis).created
    if between_games:
        _complete(game_id)
    assert cancel_batch(str(ev.batch_id), real_redis) == (0 if between_games else 1)
    final = Evaluation.get_by_id(ev.id)
    assert (final.status, final.error) == ("cancelled", "its batch was cancelled")
    assert advance(ev.id, real_redis).created is None
    batch = Batch.get_by_id(ev.batch_id)
    assert (batch.status, batch.total_games) == ("cancelled", 1)


def test_retry_of_an_evaluation_batch_is_refused(
    store: Settings, real_redis: redis.Redis, run: Invoke
) -> None:
    """Finding 9: retry replayed void and failed games the ladder had replaced."""
    ev = start_evaluation("greedy", 3, params=PARAMS)
    game_id = advance(ev.id, real_redis).created
    Game.update(status="void").where(Game.id == game_id).execute()
    replacement = advance(ev.id, real_redis).created
    assert replacement is not None
    with pytest.raises(BatchError, match="snakebench evaluate --resume greedy"):
        retry_batch(str(ev.batch_id), real_redis)
    result = run("dispatch", "retry", str(ev.batch_id))
    assert result.exit_code == 2
    assert "snakebench evaluate --resume" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert Game.get_by_id(game_id).status == "void"


@pytest.mark.parametrize("change", ["removed", "retired"])
def test_a_removed_or_retired_model_ends_its_ladder(store: Settings, change: str) -> None:
    """Finding 8: the evaluated model was never checked again after the start."""
    ev = start_evaluation("greedy", 3, params=PARAMS)
    _complete(advance(ev.id).created)
    pending = advance(ev.id).created
    gone = {"is_active": False} if change == "removed" else {"test_status": "retired"}
    Model.update(**gone).where(Model.name == "greedy").execute()
    step = advance(ev.id)
    assert (step.status, step.created) == ("cancelled", None)
    final = Evaluation.get_by_id(ev.id)
    assert final.error == f"model 'greedy' was {change}"
    assert Game.get_by_id(pending).status == "cancelled"  # its next game is not played
    assert get_model("greedy").test_status == ("retired" if change == "retired" else "untested")
    assert Batch.get_by_id(ev.batch_id).status == "cancelled"


def test_a_model_retired_at_start_is_not_marked_testing(
    store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 8, the start: the ``testing`` UPDATE is conditional and checked."""
    from snakebench.services import evaluation

    refuse_live = evaluation._refuse_live

    def retire_meanwhile(model: Model) -> None:
        refuse_live(model)
        Model.update(test_status="retired").where(Model.id == model.id).execute()

    monkeypatch.setattr(evaluation, "_refuse_live", retire_meanwhile)
    with pytest.raises(evaluation.EvaluationError, match="removed or retired meanwhile"):
        start_evaluation("greedy", 2, params=PARAMS)
    assert Evaluation.select().count() == 0 and Batch.select().count() == 0
    assert get_model("greedy").test_status == "retired"


def test_an_evaluation_ending_early_closes_its_batch(store: Settings) -> None:
    """Finding 10: a batch sized for the target stayed ``active`` forever when the
    evaluation failed before playing it all."""
    ev = start_evaluation("greedy", 4, params=PARAMS)
    _complete(advance(ev.id).created)
    Model.update(is_active=False).where(Model.name.in_(["random", "survivor"])).execute()
    step = advance(ev.id)
    assert step.status == "failed"
    batch = Batch.get_by_id(ev.batch_id)
    assert (batch.status, batch.total_games) == ("finished", 1)
