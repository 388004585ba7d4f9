"""The fake provider's own caps (answered with 429s, peaks in /stats) and whole games
held to a provider's limits through the real OpenAI SDK and the machine's real Redis:
moves wait for a slot instead of earning 429s, and the wait is recorded apart from
latency."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from pathlib import Path

import openai
import pytest
import redis

from snakebench.config import Settings
from snakebench.engine.replay import read_replay
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games.simulation import GameParams, create_stored_game, run_stored_game
from snakebench.providers.http_errors import retry_after_seconds
from snakebench.store import Game, open_store, upsert_model
from snakebench.store.limit_queries import set_limit

LATENCY_MS = 40.0


def chat(url: str, model: str = "fake/greedy") -> int:
    """One raw Chat Completions request; its HTTP status."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    request = urllib.request.Request(
        f"{url}/v1/chat/completions", body.encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        assert retry_after_seconds(dict(exc.headers)) is not None  # the SDKs' retry hint
        return exc.code


def test_fake_server_answers_429_past_its_concurrency_cap() -> None:
    options = FakeOptions(latency_ms=300, max_concurrency=2)
    with FakeLLMServer(options) as server:
        statuses: list[int] = []
        threads = [threading.Thread(target=lambda: statuses.append(chat(server.url)))
                   for _ in range(5)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = server.stats()
    assert sorted(statuses) == [200, 200, 429, 429, 429]
    assert stats["total"]["over_limit"] == 3 and stats["total"]["ok"] == 2
    assert stats["limits"]["peak_concurrency"] == 2


def test_fake_server_answers_429_past_its_per_minute_cap() -> None:
    with FakeLLMServer(FakeOptions(max_rpm=3)) as server:
        statuses = [chat(server.url) for _ in range(5)]
        with urllib.request.urlopen(f"{server.url}/stats", timeout=5) as reply:
            stats = json.load(reply)
    assert statuses == [200, 200, 200, 429, 429]
    assert stats["limits"]["peak_per_minute"] == 3 and stats["total"]["over_limit"] == 2


def test_the_sdk_sees_a_limit_429_as_a_rate_limit() -> None:
    with FakeLLMServer(FakeOptions(max_rpm=1)) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        messages = [{"role": "user", "content": "hi"}]
        client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    chosen = Settings(
        database_url=f"sqlite:///{tmp_path / 'sb.db'}",
        replay_dir=tmp_path / "replays",
        move_timeout=5.0,
        provider_retries=2,
        retry_base_delay=0.01,
        retry_max_delay=0.05,
    )
    open_store(chosen)
    return chosen


def play_limited_game(settings: Settings, live: redis.Redis | None) -> tuple[Game, dict[str, int]]:
    """A game between two models of one provider capped (at the provider too) at one
    request in flight: the two players, asked at the same time, must take turns."""
    with FakeLLMServer(FakeOptions(latency_ms=LATENCY_MS, max_concurrency=1)) as server:
        for name in ("capped-a", "capped-b"):
            upsert_model(name, provider="openai", model_slug=f"{name}/greedy",
                         base_url=f"{server.url}/v1", price_input_per_m=1.0)  # fmt: skip
        set_limit("provider", "openai", concurrency=1, rpm=None)
        game = create_stored_game("capped-a", "capped-b", GameParams(seed=3, max_rounds=6),
                                  settings=settings)  # fmt: skip
        run_stored_game(game.id, settings=settings, live=live)
        return Game.get_by_id(game.id), server.stats()


@pytest.mark.parametrize("backend", ["redis", "in-process"])
def test_moves_wait_for_a_slot_instead_of_earning_429s(
    settings: Settings, real_redis: redis.Redis, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="snakebench.games")
    game, stats = play_limited_game(settings, real_redis if backend == "redis" else None)
    assert "s of moves waiting for provider slots" in caplog.text  # the worker's end line
    assert game.status == "completed"
    assert stats["total"]["over_limit"] == 0 and stats["limits"]["peak_concurrency"] == 1
    waits = [p.total_wait_ms for p in game.participants]
    assert sum(waits) > 0  # one of each round's two moves waited for the other
    frames = [m for r in read_replay(game.replay_path).rounds for m in r.moves.values()]
    assert any(m.get("wait_ms", 0) > 0 for m in frames)
    # The wait is not latency: no move took much longer than the provider's own delay.
    assert max(m["latency_ms"] for m in frames) < LATENCY_MS * 10
