"""The ledger's per-call statements, written as fixed SQL, on SQLite and PostgreSQL:
the row booked only for the game's current run, settled only once, and a call's
settlement written by the statement that books the next one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw
import pytest

from snakebench.store import (
    Game,
    Settlement,
    Spend,
    cancel_game,
    create_game,
    ensure_bot_models,
    ledger_total,
    mark_running,
    open_fenced_call,
    settle_call,
)
from snakebench.testing.query_log import counted_statements


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


def previous_call(game: Game, **usage: Any) -> Settlement:
    """A call booked for ``game``'s run and settled (not yet written): ``answered`` with
    ``usage``, or ``error`` without."""
    call = book(game, game.attempt, reserved=0.25)
    assert call is not None
    status = "answered" if usage else "error"
    return Settlement(call, day="2026-12-03", reserved=0.25, status=status, **usage)


def test_a_settlement_is_written_by_the_next_calls_booking(running: Game) -> None:
    settling = previous_call(running, input_tokens=700, output_tokens=20, cost=0.01,
                             reasoning_tokens=5, provider_cost=0.02)  # fmt: skip
    with counted_statements() as counts:
        call = open_fenced_call(game_id=running.id, attempt=running.attempt, batch_id=None,
                                model_id=7, day="2026-12-04", reserved=0.5,
                                settling=settling)  # fmt: skip
    assert dict(counts) == {"INSERT spend": 1}
    assert call is not None and call != settling.call
    settled, booked = Spend.get_by_id(settling.call), Spend.get_by_id(call)
    assert (settled.status, settled.input_tokens, settled.output_tokens) == ("answered", 700, 20)
    assert (settled.reasoning_tokens, settled.cost, settled.provider_cost) == (5, 0.01, 0.02)
    assert (settled.day, settled.reserved, settled.settled_at) == (
        "2026-12-03", 0.25, settling.settled_at,
    )  # fmt: skip
    assert (booked.status, booked.day, booked.reserved, booked.cost) == (
        "reserved", "2026-12-04", 0.5, 0.0,
    )  # fmt: skip
    assert (booked.provider_cost, booked.settled_at, booked.game_id) == (None, None, running.id)
    assert ledger_total() == pytest.approx(0.52)  # the provider's 0.02 and a worst case


def test_a_failed_call_is_settled_by_the_next_booking_the_same_way(running: Game) -> None:
    settling = previous_call(running)
    call = book_settling(running, running.attempt, settling)
    assert call is not None
    row = Spend.get_by_id(settling.call)
    assert (row.status, row.cost, row.provider_cost, row.input_tokens) == ("error", 0.0, None, 0)
    assert ledger_total() == 0.25  # only the new call, at its worst case


def test_a_refused_booking_still_writes_the_settlement(running: Game) -> None:
    settling = previous_call(running, input_tokens=10, output_tokens=2, cost=0.01)
    assert book_settling(running, running.attempt + 1, settling) is None  # overtaken
    assert cancel_game(running.id)
    again = previous_call_row(settling)
    assert (again.status, again.cost) == ("answered", 0.01)
    assert Spend.select().count() == 1  # no new row
    assert ledger_total() == 0.01


def test_a_settlement_written_with_a_booking_is_written_once(running: Game) -> None:
    settling = previous_call(running, cost=0.01, input_tokens=1)
    assert book_settling(running, running.attempt, settling) is not None
    later = Settlement(settling.call, "2026-12-03", 0.25, "error")
    assert book_settling(running, running.attempt, later) is not None  # a no-op for the old row
    assert previous_call_row(settling).status == "answered"


def book_settling(game: Game, attempt: int, settling: Settlement) -> int | None:
    return open_fenced_call(game_id=game.id, attempt=attempt, batch_id=None, model_id=7,
                            day="2026-12-03", reserved=0.25, settling=settling)  # fmt: skip


def previous_call_row(settling: Settlement) -> Spend:
    return Spend.get_by_id(settling.call)


def test_a_refused_booking_is_none_whatever_the_connection_wrote_last(running: Game) -> None:
    """On SQLite the booked id is the connection's last inserted row: it must not be
    taken for a booking when the fence refused the new row (nor the settled row's)."""
    settling = previous_call(running)
    other = book(running, running.attempt)  # the other player's call, inserted after
    assert other is not None and other > settling.call
    assert book_settling(running, running.attempt + 1, settling) is None
    already = Settlement(settling.call, "2026-12-03", 0.25, "answered", cost=0.5)
    assert book_settling(running, running.attempt + 1, already) is None  # settled before
    assert Spend.select().count() == 2


def test_a_booking_made_after_its_settled_row_was_removed_is_the_new_row(
    running: Game,
) -> None:
    """The settled row comes back as the settlement says; the id returned is the new
    call's, not that one's."""
    settling = previous_call(running, cost=0.01)
    Spend.delete_by_id(settling.call)
    call = book_settling(running, running.attempt, settling)
    assert call is not None and call != settling.call
    assert Spend.get_by_id(call).status == "reserved"
    assert (previous_call_row(settling).status, previous_call_row(settling).cost) == (
        "answered", 0.01,
    )  # fmt: skip
