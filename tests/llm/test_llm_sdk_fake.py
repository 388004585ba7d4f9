"""The real OpenAI and Anthropic SDK clients against the fake provider on loopback.

Every test runs once per SDK (the ``api`` fixture), so both wire formats, both
error mappings and both usage readers are exercised end to end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import pytest

from snakebench.config import Settings
from snakebench.engine import Rules, SeededSpawner, new_game, step
from snakebench.fakellm.server import FakeLLMServer
from snakebench.players.base import InfrastructureError, MoveDecision, Turn
from snakebench.players.bots import bot_move
from snakebench.players.llm import LLMPlayer
from snakebench.providers import MissingApiKeyError, ModelSpec, PermanentProviderError, make_client

# Fixtures from conftest.py (pytest does not put this folder on sys.path).
MakePlayer = Callable[..., LLMPlayer]
StartServer = Callable[..., FakeLLMServer]


class SleepRecorder(Protocol):
    delays: list[float]

    def __call__(self, seconds: float) -> None: ...


def _turns(count: int) -> list[Turn]:
    """Boards from a few seeded games, some rounds in, for both snakes."""
    turns = []
    for seed in range(count):
        rules = Rules(max_rounds=50)
        state = new_game(rules, seed)
        for _ in range(seed % 4):
            moves = {s: bot_move("survivor", state, rules, s, seed) for s in state.alive_ids()}
            state = step(state, moves, rules, SeededSpawner(seed))
        turns.append(Turn(str(seed % 2), state, rules))
    return turns


def test_move_with_tokens_and_cost(fake_server: StartServer, make_player: MakePlayer) -> None:
    server = fake_server()
    player = make_player(server)
    turn = _turns(1)[0]
    decision = player.choose(turn)
    assert decision.parse == "final_line"
    assert not decision.invalid and decision.retries == 0
    assert decision.input_tokens > 100 and decision.output_tokens > 0
    spec = player.spec
    expected = (
        decision.input_tokens * spec.price_input_per_m
        + decision.output_tokens * spec.price_output_per_m
    ) / 1e6
    assert decision.cost == pytest.approx(expected) and decision.cost > 0
    assert decision.latency_ms > 0
    assert str(decision.move) in decision.rationale


def test_fake_plays_the_strategy_on_the_board_it_was_shown(
    fake_server: StartServer, make_player: MakePlayer
) -> None:
    server = fake_server(strategy="greedy", seed=5)
    player = make_player(server)
    turns = _turns(8)
    moves = [player.choose(turn).move for turn in turns]
    expected = [bot_move("greedy", t.state, t.rules, t.snake_id, 5) for t in turns]
    assert moves == expected
    assert len(set(expected)) > 1, "boards should call for different moves"


def test_latency_is_measured(fake_server: StartServer, make_player: MakePlayer) -> None:
    server = fake_server(latency_ms=120)
    decision = make_player(server).choose(_turns(1)[0])
    assert 120 <= decision.latency_ms < 2000


def test_rate_limits_are_retried_honouring_retry_after(
    fake_server: StartServer, make_player: MakePlayer, sleep_recorder: SleepRecorder
) -> None:
    server = fake_server(rate_limit_rate=1.0, retry_after=3)
    sleep = sleep_recorder
    player = make_player(server, attempts=3, sleep=sleep, max_delay=10)
    with pytest.raises(InfrastructureError) as caught:
        player.choose(_turns(1)[0])
    assert len(sleep.delays) == 2
    assert all(3 <= delay <= 10 for delay in sleep.delays), sleep.delays
    message = str(caught.value)
    assert "429" in message and "3 attempts" in message and "\n" not in message
    assert server.stats()["total"]["rate_limited"] == 3


def test_retry_after_is_capped_by_max_delay(
    fake_server: StartServer, make_player: MakePlayer, sleep_recorder: SleepRecorder
) -> None:
    server = fake_server(rate_limit_rate=1.0, retry_after=30)
    sleep = sleep_recorder
    with pytest.raises(InfrastructureError):
        make_player(server, attempts=2, sleep=sleep, max_delay=0.5).choose(_turns(1)[0])
    assert sleep.delays == [0.5]


def test_server_errors_make_the_game_void(
    fake_server: StartServer, make_player: MakePlayer
) -> None:
    server = fake_server(error_rate=1.0)
    with pytest.raises(InfrastructureError, match="HTTP 500"):
        make_player(server, attempts=2).choose(_turns(1)[0])
    assert server.stats()["total"]["errors"] == 2


def test_malformed_reply_is_an_invalid_move_that_still_costs(
    fake_server: StartServer, make_player: MakePlayer
) -> None:
    server = fake_server(malformed_rate=1.0)
    turn = _turns(1)[0]
    decision = make_player(server).choose(turn)
    assert decision.invalid and not decision.forfeit
    assert decision.parse == "none"
    assert decision.input_tokens > 0 and decision.output_tokens > 0 and decision.cost > 0
    assert decision.rationale.endswith(f"[no valid move in reply; random move {decision.move}]")


def test_forfeit_policy(fake_server: StartServer, make_player: MakePlayer) -> None:
    server = fake_server(malformed_rate=1.0)
    decision = make_player(server, policy="forfeit").choose(_turns(1)[0])
    assert decision.invalid and decision.forfeit
    assert decision.rationale.endswith("[no valid move in reply; forfeit]")


def test_timeouts_are_transient_then_void(
    fake_server: StartServer, make_player: MakePlayer
) -> None:
    server = fake_server(timeout_rate=1.0, hang_seconds=2)
    player = make_player(server, attempts=2, move_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(InfrastructureError, match=r"no reply within 0\.5 s"):
        player.choose(_turns(1)[0])
    assert time.monotonic() - started < 1.9
    assert server.stats()["total"]["timeouts"] == 2


def test_missing_api_key_names_the_variable(api: str) -> None:
    provider = "openai" if api == "openai" else "anthropic"
    spec = ModelSpec(name="gpt-x", provider=provider, model_slug="gpt-x")
    variable = "OPENAI_API_KEY" if api == "openai" else "ANTHROPIC_API_KEY"
    with pytest.raises(MissingApiKeyError) as caught:
        make_client(spec, Settings(), env={})
    assert str(caught.value) == f"model 'gpt-x' needs {variable} in the environment"
    custom = ModelSpec(name="m", provider=provider, model_slug="m", api_key_env="MY_KEY_VAR")
    with pytest.raises(MissingApiKeyError, match="MY_KEY_VAR"):
        make_client(custom, Settings(), env={variable: "set-but-not-the-named-one"})


def test_wrong_endpoint_is_a_permanent_error(
    fake_server: StartServer, make_player: MakePlayer, secret: str
) -> None:
    server = fake_server()
    base_url = f"{server.url}/nowhere"
    player = make_player(server, attempts=3, base_url=base_url)
    with pytest.raises(PermanentProviderError, match="HTTP 404") as caught:
        player.choose(_turns(1)[0])
    assert secret not in str(caught.value)


def test_refused_connection_is_transient(make_player: MakePlayer, fake_server: StartServer) -> None:
    server = fake_server()
    server.stop()  # the port is free again: connections are refused
    with pytest.raises(InfrastructureError, match="connection failed"):
        make_player(server, attempts=2).choose(_turns(1)[0])


def test_stats_match_what_the_client_saw(
    fake_server: StartServer, make_player: MakePlayer, api: str
) -> None:
    server = fake_server(rate_limit_rate=0.3, error_rate=0.2, malformed_rate=0.2, seed=11)
    player = make_player(server, attempts=10)
    decisions = [player.choose(turn) for turn in _turns(12)]
    retries = sum(d.retries for d in decisions)
    invalid = sum(d.invalid for d in decisions)
    stats = server.stats()["models"][f"fake-{api}-slug"]
    assert retries > 0 and invalid > 0, "the seed should inject both kinds of fault"
    assert stats["requests"] == len(decisions) + retries
    assert stats["rate_limited"] + stats["errors"] == retries
    assert stats["malformed"] == invalid
    assert stats["ok"] == len(decisions) - invalid
    assert stats["timeouts"] == stats["bad_requests"] == 0


def test_a_whole_game_through_the_fake(
    fake_server: StartServer, make_player: MakePlayer, api: str
) -> None:
    """Two LLM players, one per snake, play a game to its end over HTTP."""
    server = fake_server(strategy="survivor", seed=2)
    players = {"0": make_player(server), "1": make_player(server)}
    rules = Rules(width=8, height=8, max_rounds=25)
    state = new_game(rules, 9)
    spawn = SeededSpawner(9)
    decisions: list[MoveDecision] = []
    while not state.over:
        chosen = {sid: players[sid].choose(Turn(sid, state, rules)) for sid in state.alive_ids()}
        decisions += chosen.values()
        state = step(state, {sid: d.move for sid, d in chosen.items()}, rules, spawn)
    assert state.round >= 10, "survivor bots should last a while"
    assert all(d.parse == "final_line" and not d.invalid for d in decisions)
    stats = server.stats()["models"][f"fake-{api}-slug"]
    assert stats["ok"] == stats["requests"] == len(decisions)
