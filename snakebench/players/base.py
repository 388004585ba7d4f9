"""What a player is: something that, shown the board, picks a move.

Players are adapters around the pure engine: a bot computes, an LLM player asks a
provider. Both return a :class:`MoveDecision`, which carries what the replay and
the database record about the move (tokens, cost, latency, how it was parsed).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from snakebench.engine import Direction, GameState, Rules, mix64

T = TypeVar("T")

ParseMethod = Literal["bot", "final_line", "fallback", "none"]


@dataclass(frozen=True, slots=True)
class Turn:
    """Everything a player may look at when choosing one move."""

    snake_id: str
    state: GameState
    rules: Rules


@dataclass(slots=True)
class MoveDecision:
    move: Direction
    rationale: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency_ms: float = 0.0
    parse: ParseMethod = "bot"
    # The reply held no valid move: the move was chosen by the invalid-move policy
    # and counts against the model.
    invalid: bool = False
    # Under the "forfeit" policy an invalid reply loses the game instead.
    forfeit: bool = False
    # Transient provider failures that were retried before this move succeeded.
    retries: int = 0
    # Time spent waiting for a provider slot (request limits); not part of latency_ms.
    wait_ms: float = 0.0
    # What the provider showed of the model's reasoning (a summary, thinking text).
    reasoning: str = ""
    # Of output_tokens, those spent reasoning (already priced with them).
    reasoning_tokens: int = 0
    # USD the provider reported for the call (OpenRouter), beside our price-based cost.
    provider_cost: float | None = None
    # The reply stopped at the output cap (see providers.base.Completion.truncated).
    truncated: bool = False

    def record(self) -> dict[str, Any]:
        """The move as a replay frame stores it (the original's keys first; the
        reasoning beside the rationale when the provider showed any)."""
        record: dict[str, Any] = {"move": str(self.move), "rationale": self.rationale}
        if self.reasoning:
            record["reasoning"] = self.reasoning
        record.update(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens,
            cost=self.cost,
        )
        if self.provider_cost is not None:
            record["provider_cost"] = self.provider_cost
        record.update(
            latency_ms=round(self.latency_ms, 1),
            parse=self.parse,
            invalid=self.invalid,
            retries=self.retries,
        )
        if self.truncated:  # cut off at the output cap: often why a move is invalid
            record["truncated"] = True
        if self.wait_ms:  # only under request limits that made the move wait
            record["wait_ms"] = round(self.wait_ms, 1)
        if self.forfeit:  # replay verification needs to know the game ended by policy
            record["forfeit"] = True
        return record


class Player(Protocol):
    """One side of a game. A player object lives for one game, so it may keep
    what it needs between turns (the LLM player keeps its last rationale)."""

    name: str
    # True when choosing waits on the network (LLMs): such players are asked in
    # parallel; local ones (bots) inline, where a thread would only cost.
    remote: bool

    def choose(self, turn: Turn) -> MoveDecision: ...


class InfrastructureError(RuntimeError):
    """A move could not be obtained for reasons that are nobody's play (provider
    outage, persistent timeouts). The game becomes ``void``: kept, never rated."""


class BudgetExceeded(RuntimeError):
    """A spending cap refused a provider call before it was made. The game ends
    ``cancelled`` with this message (which names the cap) as its reason. ``kind`` is
    the cap's: ``batch`` (it never gets more room), ``model`` or ``server`` (daily)."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class CallUsage:
    """What one answered call used: its tokens, our price-based cost, and the provider's
    own figure where it reports one."""

    input_tokens: int
    output_tokens: int
    cost: float
    reasoning_tokens: int = 0
    provider_cost: float | None = None


class CallMeter(Protocol):
    """Puts every provider call of one player on the books (see
    :mod:`snakebench.games.spending`): :meth:`reserve` before the call, at its worst case,
    raising :class:`BudgetExceeded` when a cap has no room; :meth:`settle` after it
    with what it cost, or with ``None`` when no reply came (a meter may write it later,
    with the next reservation); :meth:`abandon` when no reply came but the call may
    have been billed (it stays at its worst case)."""

    def reserve(self, worst_cost: float) -> int: ...

    def settle(self, call: int, usage: CallUsage | None) -> None: ...

    def abandon(self, call: int) -> None: ...


class Unmetered:
    """The meter of a player nobody keeps books for (a unit test, a one-off call)."""

    def reserve(self, worst_cost: float) -> int:
        return 0

    def settle(self, call: int, usage: CallUsage | None) -> None:
        return None

    def abandon(self, call: int) -> None:
        return None


class RequestGate(Protocol):
    """Holds a player's provider requests to the limits every worker shares (see
    :mod:`snakebench.games.request_limits`): :meth:`acquire` waits until a request may
    start and returns a permit; :meth:`release` hands the slot back when the reply (or
    the failure) is in."""

    def acquire(self) -> Permit: ...

    def release(self, permit: Permit) -> None: ...


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one request: ``token`` identifies its slots, ``waited`` is how
    long (seconds) it waited for them."""

    token: str = ""
    waited: float = 0.0


class Ungated:
    """The gate of a player whose requests nobody limits."""

    def acquire(self) -> Permit:
        return Permit()

    def release(self, permit: Permit) -> None:
        return None


def seeded_choice(options: Sequence[T], seed: int, turn: Turn) -> T:
    """One of ``options``, fixed by ``(seed, round, snake)``.

    Built on :func:`snakebench.engine.mix64` and crc32, not ``hash()``: string
    hashes differ between processes and the tuple hash between Python versions,
    and a re-run or resumed game must make the same choice anywhere.
    """
    if len(options) == 1:
        return options[0]
    snake = zlib.crc32(turn.snake_id.encode())
    key = mix64(mix64(seed & (2**64 - 1)) ^ (turn.state.round << 32) ^ snake)
    return options[key % len(options)]
