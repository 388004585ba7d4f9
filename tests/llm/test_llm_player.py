"""LLMPlayer against scripted clients: policies, retries, latency and memory."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest

from snakebench.engine import DIRECTIONS
from snakebench.players.base import InfrastructureError, Turn
from snakebench.players.llm import LLMPlayer
from snakebench.providers import (
    Completion,
    ModelSpec,
    PermanentProviderError,
    ProviderError,
    RetryPolicy,
    TransientProviderError,
)

SPEC = ModelSpec(
    name="scripted",
    provider="openai",
    model_slug="scripted",
    price_input_per_m=3.0,
    price_output_per_m=15.0,
)
MakeTurn = Callable[..., Turn]


class ScriptedClient:
    """Plays back a script of replies and errors, and keeps the prompts it got."""

    def __init__(self, *script: str | ProviderError) -> None:
        self.script: Iterator[str | ProviderError] = iter(script)
        self.prompts: list[str] = []

    def complete(self, prompt: str) -> Completion:
        self.prompts.append(prompt)
        step = next(self.script)
        if isinstance(step, ProviderError):
            raise step
        return Completion(step, input_tokens=1000, output_tokens=200)


class TickingClock:
    """Each reading is 0.25 s after the previous one."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def player(client: ScriptedClient, **kwargs: object) -> LLMPlayer:
    options: dict[str, object] = {
        "seed": 3,
        "retry": RetryPolicy(3, 1.0, 8.0, random.Random(0)),
        "sleep": lambda seconds: None,
        "clock": TickingClock(),
    }
    options.update(kwargs)
    return LLMPlayer(SPEC, client, **options)  # type: ignore[arg-type]


def test_a_good_reply(make_turn: MakeTurn) -> None:
    decision = player(ScriptedClient("Apple is above.\nUP")).choose(make_turn())
    assert (decision.move, decision.parse, decision.invalid) == ("UP", "final_line", False)
    assert decision.cost == pytest.approx(1000 * 3.0 / 1e6 + 200 * 15.0 / 1e6)
    assert decision.latency_ms == pytest.approx(250.0)
    assert decision.rationale == "Apple is above.\nUP"


def test_last_move_and_rationale_go_into_the_next_prompt(make_turn: MakeTurn) -> None:
    client = ScriptedClient("I like the left side.\nLEFT", "hmm\nDOWN")
    llm = player(client)
    llm.choose(make_turn())
    llm.choose(make_turn())
    assert "first move of the game" in client.prompts[0]
    assert "Your previous move: LEFT" in client.prompts[1]
    assert "I like the left side." in client.prompts[1]


def test_random_fallback_is_deterministic_and_covers_all_moves(make_turn: MakeTurn) -> None:
    turn = make_turn()
    moves = set()
    for seed in range(40):
        first = player(ScriptedClient("no idea"), seed=seed).choose(turn)
        again = player(ScriptedClient("still no idea"), seed=seed).choose(turn)
        assert first.move == again.move
        assert first.invalid and not first.forfeit and first.parse == "none"
        assert first.cost > 0
        moves.add(first.move)
    assert moves == set(DIRECTIONS)


def test_the_noted_random_move_is_shown_back_to_the_model(make_turn: MakeTurn) -> None:
    client = ScriptedClient("no idea", "UP")
    llm = player(client)
    first = llm.choose(make_turn())
    llm.choose(make_turn())
    assert f"[no valid move in reply; random move {first.move}]" in client.prompts[1]


def test_transient_errors_are_retried_and_counted(make_turn: MakeTurn) -> None:
    delays: list[float] = []
    client = ScriptedClient(
        TransientProviderError("429", retry_after=5.0), TransientProviderError("503"), "RIGHT"
    )
    decision = player(client, sleep=delays.append).choose(make_turn())
    assert decision.move == "RIGHT" and decision.retries == 2
    assert 5.0 <= delays[0] <= 8.0  # Retry-After is a floor
    assert 0.0 <= delays[1] <= 2.0  # second retry: full jitter under base * 2
    # The latency is the successful call's, not the time spent backing off.
    assert decision.latency_ms == pytest.approx(250.0)


def test_transient_errors_beyond_the_attempts_void_the_game(make_turn: MakeTurn) -> None:
    errors = [TransientProviderError(f"boom {i}\nsecond line") for i in range(3)]
    with pytest.raises(InfrastructureError) as caught:
        player(ScriptedClient(*errors)).choose(make_turn())
    assert str(caught.value) == "boom 2 second line (gave up after 3 attempts)"


def test_permanent_errors_propagate_unchanged(make_turn: MakeTurn) -> None:
    error = PermanentProviderError("model 'x': HTTP 401: bad key")
    with pytest.raises(PermanentProviderError) as caught:
        player(ScriptedClient(error, "UP")).choose(make_turn())
    assert caught.value is error


def test_unknown_invalid_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid_policy"):
        player(ScriptedClient(), invalid_policy="shrug")
