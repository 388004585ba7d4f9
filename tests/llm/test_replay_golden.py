"""A game played through the whole LLM path, its replay held to a golden file written
before a move's request and reply were made cheaper to build and read
(docs/PERFORMANCE.md, "CPU per round"): the same prompts sent, the same moves, tokens,
costs and rationales, byte for byte but for the measured latencies.

One model (Chat Completions through the openai SDK, to the fake provider) plays a bot,
so the fake answers one request at a time and its replies are the same on every run
(two models would race for its dice)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snakebench.config import Settings
from snakebench.engine import Rules
from snakebench.fakellm.server import FakeLLMServer, FakeOptions
from snakebench.games.loop import GameSetup, play_game
from snakebench.players.bots import make_bot
from snakebench.players.llm import LLMPlayer
from snakebench.providers import ModelSpec, RetryPolicy, make_client

GOLDEN = Path(__file__).parent / "golden" / "llm_v_bot_replay.json"


def without_latency(value: Any) -> Any:
    """``value`` less its ``latency_ms`` fields: wall time, never the same twice."""
    if isinstance(value, dict):
        return {k: without_latency(v) for k, v in value.items() if k != "latency_ms"}
    if isinstance(value, list):
        return [without_latency(v) for v in value]
    return value


def replay_text(url: str) -> str:
    """The replay of a 40-round game of a model on the fake at ``url`` against a bot."""
    spec = ModelSpec("fake-chat", "openai-compatible", "fake-chat-slug", f"{url}/v1",
                     price_input_per_m=2.0, price_output_per_m=8.0)  # fmt: skip
    player = LLMPlayer(
        spec, make_client(spec, Settings(), {}), seed=5, retry=RetryPolicy(1, 0.0, 0.0)
    )
    setup = GameSetup("golden", Rules(max_rounds=40), 11, {"0": "fake-chat", "1": "survivor"})
    outcome = play_game(
        setup,
        {"0": player, "1": make_bot("survivor", 5)},
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )
    return json.dumps(without_latency(outcome.replay), indent=1, sort_keys=True) + "\n"


def test_the_replay_is_the_one_played_before() -> None:
    server = FakeLLMServer(FakeOptions(strategy="greedy", seed=3)).start()
    try:
        text = replay_text(server.url)
    finally:
        server.stop()
    assert text == GOLDEN.read_text(encoding="utf-8")


if __name__ == "__main__":  # writes the golden file: run it only on the code it holds to
    fake = FakeLLMServer(FakeOptions(strategy="greedy", seed=3)).start()
    try:
        GOLDEN.write_text(replay_text(fake.url), encoding="utf-8")
    finally:
        fake.stop()
