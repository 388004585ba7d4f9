"""Races between processes, played with threads (each has its own connection), on
SQLite and on PostgreSQL, where ``transaction(immediate=True)`` locks nothing and the
rows must be locked instead (review findings 1 and 7)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from snakebench.config import Settings
from snakebench.games.simulation import GameParams
from snakebench.services import evaluation
from snakebench.services.evaluation import EvaluationError, advance, start_evaluation
from snakebench.store import Evaluation, Game, database, transaction, utcnow

BLOCKED = 0.5  # seconds the racing thread is given to (wrongly) get through


class Racer(threading.Thread):
    """Runs ``work`` on its own database connection; keeps its result or error."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.result = self.work()
        except Exception as exc:
            self.error = exc
        finally:
            database.close()
            self.done.set()


@contextmanager
def holding(block: Callable[[], None]) -> Iterator[threading.Event]:
    """Run ``block`` in a transaction in another thread and keep that transaction open
    until the with-block ends (then commit it)."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction(immediate=True):
            block()
            inside.set()
            release.wait(10)

    holder = Racer(hold)
    holder.start()
    assert inside.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join(10)
    assert holder.error is None, holder.error


def test_a_callback_racing_a_cancel_does_not_bring_the_evaluation_back(
    any_store: Settings,
) -> None:
    """Finding 1: a callback that read ``running`` before the cancel committed used to
    claim the next step anyway (PostgreSQL re-checks only ``games_started`` once the
    cancel's row lock goes) and enqueue a game of a cancelled evaluation."""
    ev = start_evaluation("greedy", 3, params=GameParams(max_rounds=10))
    first = advance(ev.id).created
    Game.update(status="completed").where(Game.id == first).execute()

    def cancel() -> None:
        Evaluation.update(status="cancelled", updated_at=utcnow()).where(
            Evaluation.id == ev.id
        ).execute()

    with holding(cancel):
        callback = Racer(lambda: advance(ev.id))
        callback.start()
        time.sleep(BLOCKED)
    callback.join(10)
    assert callback.error is None, callback.error
    assert callback.result is not None and callback.result.created is None
    final = Evaluation.get_by_id(ev.id)
    assert (final.status, final.games_started) == ("cancelled", 1)
    assert Game.select().where(Game.batch == ev.batch_id).count() == 1


def test_two_starts_for_one_model_cannot_both_succeed(
    any_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 7: on PostgreSQL both passed the "already evaluated" check when the
    first had not committed yet; the model's row is locked first now."""
    inside, release = threading.Event(), threading.Event()
    create_batch = evaluation.create_batch

    def slow_create_batch(**kwargs: Any) -> Any:
        if not inside.is_set():  # the first start waits here, inside its transaction
            inside.set()
            release.wait(10)
        return create_batch(**kwargs)

    monkeypatch.setattr(evaluation, "create_batch", slow_create_batch)
    first = Racer(lambda: start_evaluation("greedy", 2))
    first.start()
    assert inside.wait(10)
    second = Racer(lambda: start_evaluation("greedy", 2))
    second.start()
    time.sleep(BLOCKED)
    release.set()
    first.join(10)
    second.join(15)
    assert first.error is None, first.error
    assert isinstance(second.error, EvaluationError), second.error
    assert "already being evaluated" in str(second.error)
    assert Evaluation.select().count() == 1
