"""The LLM player: prompt a model, time and price the call, read the move.

Failures are split by whose fault they are. A reply without a move is the
model's: it gets a move by the invalid-move policy and is recorded as invalid.
A provider that keeps failing transiently is nobody's play: the game is void
(:class:`InfrastructureError`). A permanent provider error (bad key, unknown
model) is a configuration bug and propagates as it is, so the game fails with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from snakebench.engine import DIRECTIONS, Direction
from snakebench.options import INVALID_MOVE_POLICIES, InvalidMovePolicy
from snakebench.players.base import (
    CallMeter,
    CallUsage,
    InfrastructureError,
    MoveDecision,
    RequestGate,
    Turn,
    Ungated,
    Unmetered,
    seeded_choice,
)
from snakebench.players.parse import parse_move
from snakebench.players.prompt_variants import DEFAULT_VARIANT, PromptVariant
from snakebench.providers.base import Completion, ModelSpec, ProviderClient
from snakebench.providers.http_errors import one_line
from snakebench.providers.retry import RetriesExhaustedError, RetryPolicy, call_with_retries

__all__ = ["InvalidPolicy", "LLMPlayer", "RetryPolicy"]

InvalidPolicy = InvalidMovePolicy  # the game option (snakebench.options)


class LLMPlayer:
    """One model playing one snake for one game; it remembers its last move and
    reasoning because the next prompt shows them back to the model."""

    # Waits on the network: the game loop asks remote players at the same time.
    remote = True

    def __init__(
        self,
        spec: ModelSpec,
        client: ProviderClient,
        *,
        seed: int,
        invalid_policy: InvalidPolicy = "random",
        retry: RetryPolicy,
        prompt: PromptVariant = DEFAULT_VARIANT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if invalid_policy not in INVALID_MOVE_POLICIES:
            raise ValueError(
                f"invalid_policy must be 'random' or 'forfeit', not {invalid_policy!r}"
            )
        self.name = spec.name
        self.spec = spec
        self._client = client
        self._seed = seed
        self._policy = invalid_policy
        self._retry = retry
        # The template of every prompt this player sends (its name and text hash go
        # to the game's record and replay).
        self.prompt = prompt
        self._sleep = sleep
        self._clock = clock
        # Whoever plays the game sets it, to put every call on the books under its caps.
        self.meter: CallMeter = Unmetered()
        # Likewise, to hold its requests to the provider's limits across the fleet.
        self.gate: RequestGate = Ungated()
        self._last_move: str | None = None
        self._last_rationale: str | None = None

    def choose(self, turn: Turn) -> MoveDecision:
        prompt = self.prompt.render(turn, self._last_move, self._last_rationale)
        completion, latency_ms, retries, waited = self._ask(
            prompt, f"{self.name}'s move in round {turn.state.round}"
        )
        decision = self._decide(turn, completion, latency_ms, retries)
        decision.wait_ms = waited * 1000
        self._last_move, self._last_rationale = str(decision.move), decision.rationale
        return decision

    def _ask(self, prompt: str, what: str) -> tuple[Completion, float, int, float]:
        """The completion, the latency in ms of the call that produced it (backoff
        waits and waits for a provider slot excluded: they measure the provider's load,
        not the model), the number of retries it took, and the seconds spent waiting
        for slots; each retry is logged naming ``what`` was asked."""
        waited = 0.0

        def attempt() -> tuple[Completion, float]:
            nonlocal waited
            # A slot first (the wait is nobody's latency and counts against no timeout:
            # the SDK's clock starts with the request), held only for this one request.
            permit = self.gate.acquire()
            waited += permit.waited
            try:
                return self._call(prompt)
            finally:
                self.gate.release(permit)

        try:
            (completion, latency_ms), retries = call_with_retries(
                attempt, self._retry, self._sleep, what
            )
        except RetriesExhaustedError as exc:
            message = f"{exc.last} (gave up after {exc.attempts} attempts)"
            raise InfrastructureError(one_line(message)) from None
        return completion, latency_ms, retries, waited

    def _call(self, prompt: str) -> tuple[Completion, float]:
        """One request and its latency in ms, on the books: reserved before, settled
        after, whatever happens (see snakebench.games.spending)."""
        call = self.meter.reserve(self.spec.worst_cost(prompt))
        started = self._clock()
        try:
            completion = self._client.complete(prompt)
        except BaseException as exc:
            if getattr(exc, "maybe_billed", False):
                self.meter.abandon(call)
            else:
                self.meter.settle(call, None)
            raise
        latency_ms = (self._clock() - started) * 1000
        self.meter.settle(call, self._usage(completion))
        return completion, latency_ms

    def _usage(self, completion: Completion) -> CallUsage:
        """The call's usage, priced: reasoning tokens are part of the output tokens
        (every provider bills them as output), so they are priced with them."""
        tokens = (completion.input_tokens, completion.output_tokens)
        return CallUsage(
            *tokens,
            cost=self.spec.cost(*tokens),
            reasoning_tokens=completion.reasoning_tokens,
            provider_cost=completion.provider_cost,
        )

    def _decide(
        self, turn: Turn, completion: Completion, latency_ms: float, retries: int
    ) -> MoveDecision:
        move, method = parse_move(completion.text)
        usage = self._usage(completion)
        decision = MoveDecision(
            move=move or self._fallback_move(turn),
            rationale=completion.text,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            # The model was paid for even when its reply is unusable.
            cost=usage.cost,
            latency_ms=latency_ms,
            parse=method,
            retries=retries,
            reasoning=completion.reasoning,
            reasoning_tokens=usage.reasoning_tokens,
            provider_cost=usage.provider_cost,
            truncated=completion.truncated,
        )
        if move is None:
            decision.invalid = True
            decision.forfeit = self._policy == "forfeit"
            outcome = "forfeit" if decision.forfeit else f"random move {decision.move}"
            why = (
                f"reply cut off at the output cap of {self.spec.output_cap} tokens"
                if completion.truncated
                else "no valid move in reply"
            )
            decision.rationale += f"\n\n[{why}; {outcome}]"
        return decision

    def _fallback_move(self, turn: Turn) -> Direction:
        """Uniform over all four moves, as the original; fixed by (seed, round, snake)
        so a resumed game replays the same fallback."""
        return seeded_choice(DIRECTIONS, self._seed, turn)
