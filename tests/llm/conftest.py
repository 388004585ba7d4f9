"""Shared pieces for the LLM-path tests: sample boards and players wired to the
fake provider server through the real SDK clients."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Literal

import pytest

from snakebench.config import Settings
from snakebench.engine import Rules, start_state
from snakebench.fakellm.server import FakeLLMServer, FakeOptions
from snakebench.players.base import Turn
from snakebench.players.llm import LLMPlayer
from snakebench.providers import ModelSpec, RetryPolicy, make_client

Api = Literal["openai", "anthropic"]
KEY_ENV = "FAKE_PROVIDER_KEY"
SECRET = "sk-test-0123456789-secret"
PRICE_IN, PRICE_OUT = 2.0, 8.0


def sample_turn(snake_id: str = "0", **rules: object) -> Turn:
    """Round 4 of a 10x10 game: snake 0 (length 3) near the middle, snake 1 top right."""
    state = start_state(
        {"0": [(3, 4), (3, 3), (2, 3)], "1": [(7, 7), (7, 8)]},
        [(1, 1), (5, 5), (9, 0)],
        {"0": 2, "1": 1},
    )._replace(round=4)
    return Turn(snake_id, state, Rules(**rules))  # type: ignore[arg-type]


MakeTurn = Callable[..., Turn]


@pytest.fixture
def make_turn() -> MakeTurn:
    return sample_turn


def spec_for(api: Api, url: str, **overrides: object) -> ModelSpec:
    """A model on the fake server: OpenAI clients want ``<url>/v1``, Anthropic ``<url>``."""
    fields: dict[str, object] = {
        "name": f"fake-{api}",
        "provider": "openai-compatible" if api == "openai" else "anthropic",
        "model_slug": f"fake-{api}-slug",
        "base_url": f"{url}/v1" if api == "openai" else url,
        "api_key_env": KEY_ENV,
        "price_input_per_m": PRICE_IN,
        "price_output_per_m": PRICE_OUT,
    }
    fields.update(overrides)
    return ModelSpec(**fields)  # type: ignore[arg-type]


class SleepRecorder:
    """Stands in for time.sleep: records the backoff delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


MakePlayer = Callable[..., LLMPlayer]


@pytest.fixture
def sleep_recorder() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def secret() -> str:
    return SECRET


@pytest.fixture(params=["openai", "anthropic"])
def api(request: pytest.FixtureRequest) -> Api:
    value: Api = request.param
    return value


StartServer = Callable[..., FakeLLMServer]


@pytest.fixture
def fake_server() -> Iterator[StartServer]:
    """Start fake servers on demand (keyword arguments are FakeOptions); all are
    stopped after the test."""
    started: list[FakeLLMServer] = []

    def start(**options: object) -> FakeLLMServer:
        server = FakeLLMServer(FakeOptions(**options)).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def make_player(api: Api) -> MakePlayer:
    def make(
        server: FakeLLMServer,
        *,
        attempts: int = 1,
        move_timeout: float = 5.0,
        policy: Literal["random", "forfeit"] = "random",
        sleep: Callable[[float], None] | None = None,
        max_delay: float = 5.0,
        **spec_overrides: object,
    ) -> LLMPlayer:
        spec = spec_for(api, server.url, **spec_overrides)
        client = make_client(spec, Settings(move_timeout=move_timeout), {KEY_ENV: SECRET})
        retry = RetryPolicy(attempts, 0.01, max_delay, random.Random(1))
        return LLMPlayer(
            spec,
            client,
            seed=7,
            invalid_policy=policy,
            retry=retry,
            sleep=sleep or SleepRecorder(),
        )

    return make
