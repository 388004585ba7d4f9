"""Spending caps that hold across every worker: each provider call reserves its worst
case before it is made, and settles with what it really cost after.

Three budgets can apply to a call, and it is made only if it fits all of them:

- its batch's ``max_cost`` (``dispatch --max-cost``);
- its model's ``daily_cap`` (``models add/edit --daily-cap``), per UTC day;
- the server's daily cap (``SNAKEBENCH_DAILY_CAP``, on by default where the web API can
  submit games; a batch submitted through the API also carries the cap the web server
  had, so workers started without the setting still keep it).

A call's worst case is its prompt's UTF-8 bytes as input tokens (no tokenizer counts more
tokens than bytes) plus the output cap the request carries, at the model's prices
(:meth:`snakebench.providers.ModelSpec.worst_cost`). So the sum of settled costs and open
reservations never passes a cap, however many workers play at once, as long as the
model's prices are right. A settled call counts the larger of its price-based cost and
the cost its provider reported (OpenRouter's usage accounting), so stale or zero prices
are caught after the first call that shows them, though not before it.

**Where the figures live.** The ledger (the ``spend`` table, :mod:`snakebench.store`) is the
record: one row per call, written before the call and settled after it, so a run killed
mid-call leaves its call counted at its worst case. The row is written only while the
run still holds the game (its fencing token, the game running: the same statement
checks it), so a stale or cancelled run stops right there, before the call
(:class:`snakebench.games.loop.RunSuperseded`), its reservation given back.
A call's settlement is not a statement of its own: the meter keeps it and the statement
that books the player's next call writes it too (one upsert of both rows; the
settlement is written even when the fence refuses the new row), and
:func:`settle_pending` writes the last one when the game is over, however it ended. So a
run killed leaves its row ``reserved`` until the player's next call, not only mid-call:
counted at its worst case, as a kill mid-call leaves it.
The caps are checked against counters in Redis, one per budget, moved by
``WATCH``/``MULTI`` transactions (``Redis.transaction``, redone when another worker
moved a key meanwhile) so that two workers can never both take the last room. A
counter Redis does not have (evicted, expired, a Redis that came back empty) is rebuilt
from the ledger on first use.

**Order, and why it errs only towards money possibly spent.** reserve: counter, then
ledger row (written only for a call about to be made). settle: counter as soon as the
game's thread takes it (the move does not wait for it; it is done before the round
ends), ledger row with the next reservation or at the game's end. A death between any two steps
leaves a counter or a row too high, never too low; a counter rebuilt while no
reservation is in flight is exact, one rebuilt from rows still waiting for their
settlement errs high by what they did not cost. Only a Redis that loses a
counter while calls are in flight forgets those calls' reservations (at most one per
game playing). Without Redis (``play``, ``--sync``) the ledger itself is checked and
written under a process lock: exact in one process, not atomic across processes, and
each player's last call counted there at its worst case until its next call writes its
settlement (a cap may stop a game one call early, never late).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import redis

from snakebench.config import Settings
from snakebench.games.loop import RunSuperseded, at_home, at_home_later
from snakebench.players.base import BudgetExceeded, CallUsage, InfrastructureError, Player
from snakebench.players.llm import LLMPlayer
from snakebench.store import (
    Batch,
    Game,
    Model,
    Participant,
    Settlement,
    ledger_total,
    open_fenced_call,
    write_settlement,
)

log = logging.getLogger(__name__)

# Counters are whole nano-dollars: INCRBY is exact where INCRBYFLOAT would drift.
NANO = 1_000_000_000
KEY_PREFIX = "snakebench:spend:"
# A counter only caches the ledger, so expiry costs a rebuild, never money.
COUNTER_TTL = 3 * 24 * 3600


def today() -> str:
    """The UTC day daily caps count in."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Budget:
    """One cap a call must fit: its counter's name, the cap in USD, how a refusal names
    it, and the ledger filters that rebuild its counter."""

    key: str
    cap: float
    label: str
    scope: Mapping[str, Any] = field(default_factory=dict)
    kind: str = ""  # batch | model | server

    def ledger(self) -> float:
        return ledger_total(**self.scope)


def budgets_for(model: Model, batch: Batch | None, day: str, settings: Settings) -> list[Budget]:
    """Every budget a call of ``model`` in ``batch`` on ``day`` must fit."""
    budgets = []
    if batch is not None and batch.max_cost is not None:
        budgets.append(
            Budget(
                f"{KEY_PREFIX}batch:{batch.id}",
                batch.max_cost,
                f"batch {batch.id[:8]}'s --max-cost ${batch.max_cost:.2f}",
                {"batch_id": batch.id},
                "batch",
            )
        )
    if model.daily_cap is not None:
        budgets.append(
            Budget(
                f"{KEY_PREFIX}model:{model.id}:{day}",
                model.daily_cap,
                f"model {model.name}'s daily cap ${model.daily_cap:.2f} ({day} UTC)",
                {"model_id": model.id, "day": day},
                "model",
            )
        )
    server_cap = _server_cap(settings, batch)
    if server_cap is not None:
        budgets.append(
            Budget(
                f"{KEY_PREFIX}day:{day}",
                server_cap,
                f"the server's daily cap ${server_cap:.2f} ({day} UTC, SNAKEBENCH_DAILY_CAP)",
                {"day": day},
                "server",
            )
        )
    return budgets


def _server_cap(settings: Settings, batch: Batch | None) -> float | None:
    """The smaller of this process's daily cap and the one the batch was submitted
    under (the web server's), when either is set."""
    carried = (batch.params or {}).get("daily_cap") if batch is not None else None
    caps = [cap for cap in (settings.daily_cap, carried) if isinstance(cap, int | float)]
    return min(caps) if caps else None


def refusal(budget: Budget, used: float, amount: float) -> BudgetExceeded:
    return BudgetExceeded(
        f"{budget.label} has no room for a call that may cost ${amount:.4f} "
        f"(${used:.4f} spent or reserved)",
        budget.kind,
    )


class Counters(Protocol):
    """Where reservations are checked and counted (Redis, or the ledger alone).
    ``reserve`` takes the room or raises :class:`BudgetExceeded`, then calls ``record``
    (which writes the call's ledger row) and returns what it returns."""

    def reserve(
        self, budgets: Sequence[Budget], amount: float, record: Callable[[], int]
    ) -> int: ...

    def adjust(self, budgets: Sequence[Budget], delta: float) -> None: ...


class RedisCounters:
    """One Redis integer per budget, shared by every worker."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection

    def reserve(self, budgets: Sequence[Budget], amount: float, record: Callable[[], int]) -> int:
        """Add ``amount`` to every budget's counter, or to none of them and raise
        :class:`BudgetExceeded` naming the first that has no room; then ``record()``."""
        self._take(budgets, amount)
        try:
            return record()
        except BaseException:
            self.adjust(budgets, -amount)  # no row, no call: give the room back
            raise

    def _take(self, budgets: Sequence[Budget], amount: float) -> None:
        if not budgets:
            return
        nanos = round(amount * NANO)

        def take(pipe: Any) -> None:  # under WATCH: redone if another worker moved a key
            used = [self._current(pipe, budget) for budget in budgets]
            for budget, value in zip(budgets, used, strict=True):
                if value + nanos > round(budget.cap * NANO):
                    raise refusal(budget, value / NANO, amount)
            pipe.multi()
            for budget, value in zip(budgets, used, strict=True):
                pipe.set(budget.key, value + nanos, ex=COUNTER_TTL)

        self.redis.transaction(take, *(budget.key for budget in budgets))

    @staticmethod
    def _current(pipe: Any, budget: Budget) -> int:
        """The counter, rebuilt from the ledger when Redis lacks it."""
        raw = pipe.get(budget.key)
        if raw is not None:
            return int(raw)
        rebuilt = round(budget.ledger() * NANO)
        log.info("spend counter %s rebuilt from the ledger: $%.4f", budget.key, rebuilt / NANO)
        return rebuilt

    def adjust(self, budgets: Sequence[Budget], delta: float) -> None:
        """Move every counter Redis still has by ``delta`` (a settlement: real cost minus
        worst case). One it lost is left for the next reservation to rebuild from the
        ledger: moved by a delta alone it would start below what was spent."""
        if not budgets:
            return
        keys = [budget.key for budget in budgets]
        nanos = round(delta * NANO)

        def move(pipe: Any) -> None:  # under WATCH, as in _take
            present = [key for key in keys if pipe.exists(key)]
            pipe.multi()
            for key in present:
                pipe.incrby(key, nanos)

        self.redis.transaction(move, *keys)


class LedgerCounters:
    """No Redis: the ledger itself is the counter, read and written under a
    process-wide lock."""

    lock = threading.Lock()

    def reserve(self, budgets: Sequence[Budget], amount: float, record: Callable[[], int]) -> int:
        with self.lock:
            for budget in budgets:
                used = budget.ledger()
                if used + amount > budget.cap:
                    raise refusal(budget, used, amount)
            return record()

    def adjust(self, budgets: Sequence[Budget], delta: float) -> None:
        return None


class SpendMeter:
    """Puts one player's calls in one run of one game on the books, under its budgets
    (the :class:`snakebench.players.base.CallMeter` an LLM player calls). Its database
    and Redis work runs on the game's own thread (:func:`snakebench.games.loop.at_home`;
    a settlement with :func:`~snakebench.games.loop.at_home_later`, not waited for)."""

    def __init__(
        self,
        game: Game,
        attempt: int,
        budgets: Callable[[str], list[Budget]],
        model: Model,
        counters: Counters,
    ) -> None:
        self.game_id, self.batch_id = game.id, game.batch_id
        self.attempt = attempt
        self.model_id, self.model_name = model.id, model.name
        self.budgets = budgets
        self.counters = counters
        self.open: dict[int, tuple[float, list[Budget], str]] = {}  # worst, budgets, day
        # The last call's settlement, written with the next call's row (or by flush).
        self.pending: Settlement | None = None
        self.batch_spent = False  # the batch's cap refused a call: it has no room left

    def reserve(self, worst_cost: float) -> int:
        return at_home(lambda: self._reserve(worst_cost))

    def settle(self, call: int, usage: CallUsage | None) -> None:
        at_home_later(lambda: self._settle(call, usage))  # the move needs nothing back

    def _reserve(self, worst_cost: float) -> int:
        day = today()
        budgets = self.budgets(day)

        def record() -> int:
            call = open_fenced_call(
                game_id=self.game_id,
                attempt=self.attempt,
                batch_id=self.batch_id,
                model_id=self.model_id,
                day=day,
                reserved=worst_cost,
                settling=self.pending,
            )
            self.pending = None  # written, whether or not the fence let the call be booked
            if call is None:  # overtaken or cancelled: no call, the room given back
                raise RunSuperseded(self.game_id)
            return call

        try:
            call = self.counters.reserve(budgets, worst_cost, record)
        except BudgetExceeded as exc:
            self.batch_spent = exc.kind == "batch"
            log.warning("game %s: a call of %s was refused, the game ends cancelled: %s",
                        self.game_id, self.model_name, exc)  # fmt: skip
            raise
        except redis.RedisError as exc:
            # No counters, no call: nobody's play, so the game is void (and retryable).
            raise InfrastructureError(f"spending caps cannot be checked: {exc}") from None
        self.open[call] = (worst_cost, budgets, day)
        return call

    def _settle(self, call: int, usage: CallUsage | None) -> None:
        """Caps count the larger of our price-based cost and the one the provider
        reported (stale or zero prices must not let a cap be passed); both are recorded.
        The counters move now; the ledger row waits for the next call's (see the
        module's docstring)."""
        worst, budgets, day = self.open.pop(call)
        spent = usage or CallUsage(0, 0, 0.0)
        counted = max(spent.cost, spent.provider_cost or 0.0)
        try:
            self.counters.adjust(budgets, counted - worst)  # first: see the module's docstring
        except redis.RedisError as exc:  # the counters keep the worst case: safe, if dear
            log.warning("spend counters not settled for call %d: %s", call, exc)
        self.flush()  # never two waiting (a reservation always writes the one before)
        self.pending = Settlement(
            call,
            day=day,
            reserved=worst,
            status="answered" if usage is not None else "error",
            input_tokens=spent.input_tokens,
            output_tokens=spent.output_tokens,
            cost=spent.cost,
            reasoning_tokens=spent.reasoning_tokens,
            provider_cost=spent.provider_cost,
        )

    def flush(self) -> None:
        """Write the settlement still waiting for a next call, by itself: the player
        makes no more calls (its game is over)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            write_settlement(pending)

    def abandon(self, call: int) -> None:
        """No reply, yet maybe billed (a timeout): the row stays ``reserved`` and the
        counters keep the worst case."""
        self.open.pop(call)


def settle_pending(meters: Sequence[SpendMeter]) -> None:
    """Write every settlement the game's meters still hold (:meth:`SpendMeter.flush`), each
    tried whatever became of the others; run once the game makes no more calls, however
    it ended. One that cannot be written (the database gone) is logged: its row stays
    ``reserved``, counted at the call's worst case, as a run killed mid-call leaves it."""
    for meter in meters:
        try:
            meter.flush()
        except Exception as exc:
            log.warning("game %s: a call of %s stays unsettled in the ledger: %s",
                        meter.game_id, meter.model_name, exc)  # fmt: skip


def meter_players(
    players: Mapping[str, Player],
    lineup: Sequence[Participant],
    game: Game,
    attempt: int,
    settings: Settings,
    connection: redis.Redis | None,
) -> list[SpendMeter]:
    """Give every metered player of this run its :class:`SpendMeter`: the budgets of its
    model, the game's batch and the server; return them. Bots spend nothing and get
    none."""
    counters: Counters = RedisCounters(connection) if connection is not None else LedgerCounters()
    batch: Batch | None = game.batch if game.batch_id else None  # read with the game
    meters = []
    for participant in lineup:
        player = players[str(participant.slot)]
        if not isinstance(player, LLMPlayer):
            continue
        model = participant.model

        def budgets(day: str, model: Model = model) -> list[Budget]:
            return budgets_for(model, batch, day, settings)

        player.meter = SpendMeter(game, attempt, budgets, model, counters)
        meters.append(player.meter)
    return meters
