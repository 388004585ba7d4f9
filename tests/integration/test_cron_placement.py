"""Placement without anyone typing: a real ``rq cron jobs.cron`` (the Procfile's
``cron`` process) with a short ``SNAKEBENCH_PLACEMENT_EVERY`` and a real, hardened
``rq worker`` place a new model served by the fake provider: the sweep starts its
evaluation, the ladder's callbacks play it to the end, and the model is rated. Many
sweeps run meanwhile; the model is evaluated once."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from rq import Queue

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.queueing import PLACE_NEW_MODELS, QUEUE_NAMES, SERIALIZER
from snakebench.store import Evaluation, Game, get_model, upsert_model
from snakebench.testing import support
from snakebench.testing.support import Worker, wait_until

from .conftest import BACKENDS, Stack

pytestmark = pytest.mark.slow

GAMES = 3


@pytest.fixture
def newcomer(stack: Stack) -> Iterator[str]:
    """A new, priced model the fake provider plays (the greedy strategy)."""
    with FakeLLMServer(FakeOptions(seed=3)) as server:
        upsert_model("newcomer", provider="openai", model_slug="fake/greedy",
                     base_url=f"{server.url}/v1", price_input_per_m=0.1,
                     price_output_per_m=0.4)  # fmt: skip
        yield "newcomer"


def start_cron(stack: Stack) -> Worker:
    """``rq cron jobs.cron`` as the Procfile runs it, with the stack's environment."""
    log = stack.tmp / "cron.log"
    with log.open("wb") as out:
        process = subprocess.Popen([support.RQ, "cron", "jobs.cron"], cwd=stack.tmp,
                                   env=stack.env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    cron = Worker(name="cron", process=process, log=log)
    stack.workers.append(cron)  # stopped with the workers at the end
    return cron


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_rq_cron_places_a_new_model_without_anyone_typing(stack: Stack, newcomer: str) -> None:
    stack.env.update(
        SNAKEBENCH_PLACEMENT_EVERY="2",
        SNAKEBENCH_PLACEMENT_GAMES=str(GAMES),
        SNAKEBENCH_PLACEMENT_BUDGET="1000",
        SNAKEBENCH_PLACEMENT_TACTICS="climb,rematch",
    )
    assert get_model(newcomer).test_status == "untested"
    cron = start_cron(stack)
    stack.start_workers(1)

    def placed() -> bool:
        assert cron.alive(), cron.output()
        found = Evaluation.get_or_none()
        return found is not None and found.status not in ("queued", "running")

    try:
        wait_until(placed, 180, "the scheduled placement to finish")
    except BaseException:
        print(cron.output()[-3000:], stack.logs())
        raise
    (ev,) = Evaluation.select()  # one evaluation, however many sweeps ran
    assert (ev.model.name, ev.status, ev.games_target) == (newcomer, "finished", GAMES)
    assert ev.batch.params["tactics"] == ["climb", "rematch"]
    games = list(Game.select().where(Game.batch == ev.batch_id))
    assert [g.status for g in games].count("completed") == GAMES
    model = get_model(newcomer)
    assert (model.test_status, model.games_played) == ("ranked", GAMES)
    assert model.trueskill_sigma < 25.0 / 3  # rated: the games moved its belief
    high = Queue(QUEUE_NAMES["high"], connection=stack.redis, serializer=SERIALIZER)
    sweeps = high.finished_job_registry.get_job_ids(cleanup=False)
    ran = [high.fetch_job(job_id) for job_id in sweeps]
    assert any(job is not None and job.func_name == PLACE_NEW_MODELS for job in ran), sweeps
