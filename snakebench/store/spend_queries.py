"""The spend ledger's queries: open a call's row, settle it, and add the rows up.

Every figure a budget or a report needs comes from :func:`ledger_total` or
:func:`ledger_by_model` / :func:`ledger_by_batch`, which count a row still ``reserved``
at its worst case and a settled one at what it cost. So a cap checked against the
ledger, and a report read from it, both err on the side of money possibly spent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import peewee as pw

from snakebench.store.batch_queries import rows_of
from snakebench.store.db import database, is_postgres
from snakebench.store.models import Game, Spend, utcnow

# A settled row counts what it cost; a row never settled (its run died mid-call)
# counts its worst case, since the provider may have billed it.
_AMOUNT = pw.Case(None, ((Spend.status == "reserved", Spend.reserved),), Spend.cost)
# What the spending caps count: as _AMOUNT, but a settled call the provider billed above
# our price-based cost (stale or zero prices) at the provider's figure.
_BUDGETED = pw.Case(
    None,
    (
        (Spend.status == "reserved", Spend.reserved),
        (Spend.provider_cost > Spend.cost, Spend.provider_cost),
    ),
    Spend.cost,
)


def open_call(
    *, game_id: str, attempt: int, batch_id: str | None, model_id: int, day: str, reserved: float
) -> int:
    """Write a call's row before the call is made; its id settles it."""
    row = Spend.create(
        game_id=game_id,
        attempt=attempt,
        batch_id=batch_id,
        model_id=model_id,
        day=day,
        reserved=reserved,
    )
    return int(row.id)


def open_fenced_call(
    *,
    game_id: str,
    attempt: int,
    batch_id: str | None,
    model_id: int,
    day: str,
    reserved: float,
    settling: Settlement | None = None,
) -> int | None:
    """:func:`open_call` for a run of a game, only while that run (its token
    ``attempt``) is still the game's and the game running: one ``INSERT ... SELECT``
    from the game's row, so the run's fence is checked by the very statement that
    books the call, right before it is made. None, and no row, for a stale run (or a
    game cancelled meanwhile).

    ``settling``, the settlement of the same player's previous call in this run, is
    written by that same statement, an upsert of two rows: the new one fenced, the
    settled one not, so a refused run still settles what it spent. One statement a
    call instead of two (docs/PERFORMANCE.md, "Round trips per game")."""
    row = (game_id, attempt, batch_id, model_id)
    opened = (*row, day, "reserved", reserved, 0.0, 0, 0, 0, utcnow(), game_id, attempt,
              "running")  # fmt: skip
    if settling is None:
        cursor = _run(_OPEN_FENCED, opened)
    else:
        settled = (settling.call, *row, *settling.columns())
        guards = ("reserved",) * len(_SETTLEMENT)  # a settlement overwrites no other
        cursor = _run(_OPEN_FENCED_SETTLING, (*settled, *opened, *guards))
    if is_postgres():
        ids = [int(found) for (found,) in cursor.fetchall()]
        new = [found for found in ids if settling is None or found != settling.call]
        return new[0] if new else None
    # SQLite, without RETURNING (see _Prebuilt.text): the settled row always counts as
    # one change, the new row, written last, sets the connection's last inserted id.
    booked: int = cursor.rowcount - (settling is not None)
    return int(cursor.lastrowid) if booked == 1 else None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What one reserved call came to, kept until a statement writes it: ``answered``
    with its usage and cost (and the cost the provider reported, where it does), or
    ``error`` (no reply, nothing billed). ``day`` and ``reserved`` are its row's own;
    ``settled_at`` is when the call ended, not when the row was written."""

    call: int
    day: str
    reserved: float
    status: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    reasoning_tokens: int = 0
    provider_cost: float | None = None
    settled_at: datetime = field(default_factory=utcnow)

    def columns(self) -> tuple[Any, ...]:
        """Its row's columns from ``day`` on, as :data:`_SETTLED_ROW` lists them (the
        row's creation unknown here: the settlement's time stands in, were the row gone)."""
        return (self.day, self.status, self.reserved, self.cost, self.input_tokens,
                self.output_tokens, self.reasoning_tokens, self.settled_at,
                self.provider_cost, self.settled_at)  # fmt: skip


def settle_call(
    call_id: int,
    *,
    status: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost: float = 0.0,
    reasoning_tokens: int = 0,
    provider_cost: float | None = None,
    settled_at: datetime | None = None,
) -> None:
    """Settle a reserved call: ``answered`` with its usage and cost (and the cost the
    provider reported, where it does), or ``error`` (no reply, nothing billed)."""
    values = (status, cost, input_tokens, output_tokens, reasoning_tokens, provider_cost,
              settled_at or utcnow(), call_id, "reserved")  # fmt: skip
    _run(_SETTLE, values)


def write_settlement(settling: Settlement) -> None:
    """Write a settlement by itself (a game's last call of a model, once it is over)."""
    settle_call(settling.call, status=settling.status, input_tokens=settling.input_tokens,
                output_tokens=settling.output_tokens, cost=settling.cost,
                reasoning_tokens=settling.reasoning_tokens,
                provider_cost=settling.provider_cost,
                settled_at=settling.settled_at)  # fmt: skip


class _Prebuilt:
    """One statement of a game's every call, its SQL written once per database kind.

    The two statements each provider call costs (its row, its settlement) were built by
    peewee per call, which spent ~80% of their CPU building the same SQL text again
    (docs/PERFORMANCE.md, "CPU per round: the ledger's SQL"). This is the text peewee builds,
    kept; each value still goes through its field's ``db_value``, as peewee's would.
    """

    def __init__(self, template: str, fields: tuple[pw.Field[Any], ...]) -> None:
        self.template = template
        self.converters: tuple[Callable[[Any], Any], ...] = tuple(f.db_value for f in fields)
        self.sql: dict[str, str] = {}  # per placeholder style: "?" (SQLite), "%s"

    def text(self, db: Any) -> str:
        sql = self.sql.get(db.param)
        if sql is None:
            postgres = is_postgres(db)
            serial = _NEXT_ID_POSTGRES if postgres else "NULL"  # NULL: SQLite's rowid
            # No RETURNING on SQLite: there the rows it returns are fetched one step at a
            # time, and the statement, its write lock held, waits between steps for this
            # thread to get the interpreter lock back, which a busy worker (32 games in a
            # process) can take milliseconds to give. Every other writer of the database
            # waits too: 256 concurrent games booked a call in 7.9 ms on average with
            # RETURNING, 2.8 ms without (docs/PERFORMANCE.md). One step writes, commits
            # and lets go of the lock with the interpreter lock released.
            returning = ' RETURNING "id"' if postgres else ""
            sql = self.template.format(p=db.param, serial=serial, returning=returning)
            self.sql[db.param] = sql
        return sql


def _run(statement: _Prebuilt, values: tuple[Any, ...]) -> Any:
    """Execute ``statement`` with ``values`` (converted) on the current database; its
    cursor."""
    db: Any = database.obj  # peewee's stubs leave execute_sql untyped
    params = [convert(value) for convert, value in zip(statement.converters, values, strict=True)]
    return db.execute_sql(statement.text(db), params)


_LEDGER_ROW = (
    Spend.game_id, Spend.attempt, Spend.batch_id, Spend.model_id, Spend.day, Spend.status,
    Spend.reserved, Spend.cost, Spend.input_tokens, Spend.output_tokens,
    Spend.reasoning_tokens, Spend.created_at,
)  # fmt: skip
_OPEN_FENCED = _Prebuilt(
    'INSERT INTO "spend" ("game_id", "attempt", "batch_id", "model_id", "day", "status", '
    '"reserved", "cost", "input_tokens", "output_tokens", "reasoning_tokens", "created_at") '
    "SELECT {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p} "
    'FROM "games" WHERE "id" = {p} AND "attempt" = {p} AND "status" = {p}{returning}',
    (*_LEDGER_ROW, Game.id, Game.attempt, Game.status),
)
# A new row's id where the statement names ids (SQLite numbers a NULL id itself).
_NEXT_ID_POSTGRES = "nextval(pg_get_serial_sequence('spend', 'id'))"
# The settled row's columns after its id (the new row's are _LEDGER_ROW and two NULLs).
_SETTLED_ROW = (*_LEDGER_ROW, Spend.provider_cost, Spend.settled_at)
_SETTLED_COLUMNS = ", ".join(f'"{field.column_name}"' for field in _SETTLED_ROW)
_SETTLEMENT = ("status", "cost", "input_tokens", "output_tokens", "reasoning_tokens",
               "provider_cost", "settled_at")  # fmt: skip
# Both rows as one upsert: the previous call's (its id taken, so it conflicts and only
# its settlement is written, over a row still "reserved" alone) and then the new call's,
# fenced as _OPEN_FENCED's. The settlement is guarded column by column rather than by
# a WHERE, so the settled row is one change whatever it held: SQLite's count of
# changes then tells whether the new row was written (see open_fenced_call). The
# provider cost is cast for PostgreSQL, which types two NULLs of a UNION as text.
_OPEN_FENCED_SETTLING = _Prebuilt(
    f'INSERT INTO "spend" ("id", {_SETTLED_COLUMNS}) '
    "SELECT {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, "
    "{p}, {p}, {p}, CAST({p} AS DOUBLE PRECISION), {p} "
    "UNION ALL SELECT {serial}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, "
    "{p}, {p}, CAST(NULL AS DOUBLE PRECISION), NULL "
    'FROM "games" WHERE "id" = {p} AND "attempt" = {p} AND "status" = {p} '
    'ON CONFLICT ("id") DO UPDATE SET '
    + ", ".join(
        f'"{name}" = CASE WHEN "spend"."status" = {{p}} THEN excluded."{name}" '
        f'ELSE "spend"."{name}" END'
        for name in _SETTLEMENT
    )
    + "{returning}",
    (Spend.id, *_SETTLED_ROW, *_LEDGER_ROW, Game.id, Game.attempt, Game.status,
     *[Spend.status] * len(_SETTLEMENT)),
)  # fmt: skip
_SETTLE = _Prebuilt(
    'UPDATE "spend" SET "status" = {p}, "cost" = {p}, "input_tokens" = {p}, '
    '"output_tokens" = {p}, "reasoning_tokens" = {p}, "provider_cost" = {p}, '
    '"settled_at" = {p} WHERE "id" = {p} AND "status" = {p}',
    (Spend.status, Spend.cost, Spend.input_tokens, Spend.output_tokens, Spend.reasoning_tokens,
     Spend.provider_cost, Spend.settled_at, Spend.id, Spend.status),
)  # fmt: skip


def ledger_total(
    *, batch_id: str | None = None, model_id: int | None = None, day: str | None = None
) -> float:
    """What the calls matching every given filter spent or may have spent (USD), as the
    spending caps count it: each call at the larger of our price-based cost and the
    cost its provider reported."""
    total = Spend.select(pw.fn.SUM(_BUDGETED)).where(_filters(batch_id, model_id, day)).scalar()
    return float(total or 0.0)


def ledger_by_model(
    batch_id: str | None = None, model_id: int | None = None
) -> dict[int, dict[str, Any]]:
    """The ledger per model id: ``calls`` answered, ``input_tokens``, ``output_tokens``,
    ``reasoning_tokens`` (of the output), ``cost`` (unsettled calls at their worst case),
    ``unsettled`` (that part alone), and for the calls whose provider reported a cost:
    ``provider_calls``, ``provider_cost`` (its sum; None when no call had one) and
    ``provider_priced`` (our price-based cost of those same calls); narrowed to a batch
    and/or a model."""
    return _ledger_sums(Spend.model_id, _filters(batch_id, model_id))


def ledger_by_batch(
    batch_id: str | None = None, model_id: int | None = None
) -> dict[str | None, dict[str, Any]]:
    """The ledger per batch id (None: games played outside a batch), as
    :func:`ledger_by_model`; narrowed to a batch and/or a model."""
    return _ledger_sums(Spend.batch_id, _filters(batch_id, model_id))


def _filters(batch_id: str | None, model_id: int | None, day: str | None = None) -> Any:
    """Every call, narrowed by every filter given."""
    condition: Any = Spend.id.is_null(False)
    if batch_id is not None:
        condition &= Spend.batch_id == batch_id
    if model_id is not None:
        condition &= Spend.model_id == model_id
    if day is not None:
        condition &= Spend.day == day
    return condition


def _ledger_sums(group: Any, condition: Any) -> dict[Any, dict[str, Any]]:
    answered = pw.fn.SUM(pw.Case(None, ((Spend.status == "answered", 1),), 0))
    unsettled = pw.fn.SUM(pw.Case(None, ((Spend.status == "reserved", Spend.reserved),), 0))
    reported = Spend.provider_cost.is_null(False)
    query = (
        Spend.select(
            group,
            answered,
            pw.fn.SUM(Spend.input_tokens),
            pw.fn.SUM(Spend.output_tokens),
            pw.fn.SUM(Spend.reasoning_tokens),
            pw.fn.SUM(_AMOUNT),
            unsettled,
            pw.fn.SUM(pw.Case(None, ((reported, 1),), 0)),
            pw.fn.SUM(Spend.provider_cost),
            pw.fn.SUM(pw.Case(None, ((reported, Spend.cost),), 0)),
        )
        .where(condition)
        .group_by(group)
    )
    sums: dict[Any, dict[str, Any]] = {}
    for row in rows_of(query):
        key, calls, tokens_in, tokens_out, reasoning, cost, unsettled_cost, *provider = row
        provider_calls, provider_cost, provider_priced = provider
        sums[key] = {
            "calls": int(calls or 0),
            "input_tokens": int(tokens_in or 0),
            "output_tokens": int(tokens_out or 0),
            "reasoning_tokens": int(reasoning or 0),
            "cost": float(cost or 0.0),
            "unsettled": float(unsettled_cost or 0.0),
            "provider_calls": int(provider_calls or 0),
            "provider_cost": float(provider_cost) if provider_calls else None,
            "provider_priced": float(provider_priced or 0.0),
        }
    return sums
