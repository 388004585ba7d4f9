"""The ledger's two per-call statements, written as fixed SQL, on SQLite and PostgreSQL:
the row booked only for the game's current run, settled only once."""

from __future__ import annotations

from datetime import datetime

import peewee as pw
import pytest

from snakebench.store import (
    Game,
    Spend,
    cancel_game,
    create_game,
    ensure_bot_models,
    ledger_total,
    mark_running,
    open_fenced_call,
    settle_call,
)


@pytest.fixture
def running(db: pw.Database) -> Game:
    ensure_bot_models()
    return mark_running(create_game(seed=1, players=["random", "greedy"]).id, "worker-1")


def book(game: Game, attempt: int, reserved: float = 0.25, batch: str | None = None) -> int | None:
    return open_fenced_call(game_id=game.id, attempt=attempt, batch_id=batch, model_id=7,
                            day="2026-12-03", reserved=reserved)  # fmt: skip


def test_a_current_run_books_its_call_reserved(running: Game) -> None:
    call = book(running, running.attempt, batch="b-1")
    assert call is not None
    row = Spend.get_by_id(call)
    assert (row.game_id, row.attempt, row.batch_id, row.model_id, row.day) == (
        running.id, running.attempt, "b-1", 7, "2026-12-03",
    )  # fmt: skip
    assert (row.status, row.reserved, row.cost, row.provider_cost, row.settled_at) == (
        "reserved", 0.25, 0.0, None, None,
    )  # fmt: skip
    assert (row.input_tokens, row.output_tokens, row.reasoning_tokens) == (0, 0, 0)
    assert isinstance(row.created_at, datetime)
    assert book(running, running.attempt) == call + 1  # ids keep counting
    assert ledger_total() == 0.5  # both at their worst case


def test_a_stale_or_cancelled_run_books_nothing(running: Game) -> None:
    assert book(running, running.attempt + 1) is None
    assert book(running, running.attempt - 1) is None
    assert cancel_game(running.id)
    assert book(running, running.attempt) is None
    assert Spend.select().count() == 0


def test_a_call_is_settled_once(running: Game) -> None:
    call = book(running, running.attempt)
    assert call is not None
    settle_call(call, status="answered", input_tokens=700, output_tokens=20, cost=0.01,
                reasoning_tokens=5, provider_cost=0.02)  # fmt: skip
    settle_call(call, status="error")  # already settled: no change
    row = Spend.get_by_id(call)
    assert (row.status, row.input_tokens, row.output_tokens, row.reasoning_tokens) == (
        "answered", 700, 20, 5,
    )  # fmt: skip
    assert (row.cost, row.provider_cost) == (0.01, 0.02)
    assert isinstance(row.settled_at, datetime) and row.settled_at >= row.created_at
    assert ledger_total() == 0.02  # the provider's figure, above ours


def test_an_error_settles_at_nothing(running: Game) -> None:
    call = book(running, running.attempt)
    assert call is not None
    settle_call(call, status="error")
    row = Spend.get_by_id(call)
    assert (row.status, row.cost, row.provider_cost, row.input_tokens) == ("error", 0.0, None, 0)
    assert ledger_total() == 0.0
