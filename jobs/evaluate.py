"""What workers run for evaluations: the RQ callbacks that move the placement ladder.

Every evaluation game's job is enqueued with ``on_success=on_game_success`` and
``on_failure=on_game_failure`` (by dotted name: RQ stores callback names as strings in
the job hash, not in the pickled data). RQ runs them in the work horse
right after the job, with the worker's Redis connection; they call
:func:`snakebench.services.evaluation.advance`, which creates and enqueues the next game or
finishes the evaluation. Payloads stay ids: the evaluation is found from the game.

RQ runs no callback for a job stopped or cancelled (``cancel_batch`` ends the
evaluation itself then), nor for a work horse killed on its last try (OOM, SIGKILL):
``dispatch reconcile`` and ``evaluate --resume`` call ``advance`` for every live
ladder, which re-enqueues such a game or moves the ladder on.
"""

from __future__ import annotations

from contextlib import suppress
from types import TracebackType
from typing import Any

import redis
from rq.job import Job

from jobs.webhooks import after_evaluation, after_game
from snakebench.config import get_settings
from snakebench.services.evaluation import advance, evaluation_of_game
from snakebench.store import GameStateError, complete_game, database, open_store_once


def on_game_success(job: Job, connection: redis.Redis, result: Any) -> None:
    """The game ended (completed, void or cancelled, recorded by ``run_game``): choose
    and enqueue the next one."""
    _advance_after(str(job.args[0]), connection)


def on_game_failure(
    job: Job,
    connection: redis.Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    tb: TracebackType | None,
) -> None:
    """The job raised. RQ calls this before deciding on a retry: while retries are
    left the game will run again, so nothing moves. With none left (a game that ended
    ``failed`` raises with none left) the game is given up as ``failed`` (error kept)
    so the ladder replaces it instead of stalling."""
    if job.retries_left:
        return
    game_id = str(job.args[0])
    error = f"job gave up: {exc_type.__name__ if exc_type else 'error'}: {exc_value}"
    _advance_after(game_id, connection, give_up=error)


def _advance_after(game_id: str, connection: redis.Redis, give_up: str | None = None) -> None:
    settings = get_settings()
    open_store_once(settings)
    try:
        evaluation_id = evaluation_of_game(game_id)
        if evaluation_id is None:
            return
        if give_up is not None:
            _give_up(game_id, give_up)
            after_game(game_id)
        advance(evaluation_id, connection, settings=settings)
        after_evaluation(evaluation_id)
    finally:
        database.close()


def _give_up(game_id: str, error: str) -> None:
    with suppress(GameStateError):  # it ended after all
        complete_game(
            game_id, rounds=0, replay_path=None, total_cost=0.0, participants=[],
            status="failed", error=error,
        )  # fmt: skip
