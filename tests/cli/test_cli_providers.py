"""Providers as a user meets them: ``models add`` for a Responses-API model with
reasoning, an OpenRouter model with routing options and a Google model, each pointed at
the fake provider, then ``play``, ``replay verify`` and ``costs``. The real SDKs make
every call; the database, replay and report are the ones a user reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakebench.engine.replay import read_replay
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.fakellm.usage import REASONING_TOKENS, fake_cost
from snakebench.store import Game, Spend

from .conftest import Invoke

# Our prices for the OpenRouter model differ from the fake's (0.5/2.0), so its reported
# cost and ours differ by a known amount.
PRICES = {"gpt5": (1.25, 10.0), "routed": (1.0, 4.0), "gemini": (0.15, 0.6)}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    for variable in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(variable, "sk-test-not-a-secret")
    monkeypatch.setenv("SNAKEBENCH_OPENROUTER_REFERER", "https://bench.example")
    with FakeLLMServer(FakeOptions(strategy="survivor", seed=4)) as server:
        yield server


def add(cli: Invoke, name: str, *flags: str) -> None:
    price_in, price_out = PRICES[name]
    prices = ("--price-input", str(price_in), "--price-output", str(price_out))
    added = cli("models", "add", name, *flags, *prices)
    assert added.exit_code == 0, added.output


def add_models(cli: Invoke, url: str) -> None:
    add(
        cli,
        "gpt5",
        "--provider",
        "openai",
        "--model",
        "gpt-5",
        "--base-url",
        f"{url}/v1",
        "--api",
        "responses",
        "--reasoning-effort",
        "medium",
        "--reasoning-summary",
        "auto",
    )
    add(
        cli,
        "routed",
        "--provider",
        "openrouter",
        "--model",
        "anthropic/claude-x",
        "--base-url",
        f"{url}/v1",
        "--provider-order",
        "anthropic,google-vertex",
        "--provider-sort",
        "price",
        "--no-allow-fallbacks",
        "--transforms",
        "middle-out",
    )
    add(cli, "gemini", "--provider", "google", "--model", "gemini-2.5-flash",
        "--base-url", f"{url}/v1")  # fmt: skip


def play(cli: Invoke, a: str, b: str, seed: int) -> dict[str, Any]:
    played = cli("play", a, b, "--seed", str(seed), "--max-rounds", "12", "--json")
    assert played.exit_code == 0, played.output
    result: dict[str, Any] = json.loads(played.stdout)
    return result


def moves_of(replay_path: str, slot: str) -> list[dict[str, Any]]:
    return [r.moves[slot] for r in read_replay(replay_path).rounds if slot in r.moves]


def test_responses_and_openrouter_models_play_with_reasoning_and_reported_cost(
    cli: Invoke, fake: FakeLLMServer
) -> None:
    add_models(cli, fake.url)
    result = play(cli, "gpt5", "routed", seed=3)
    game = Game.get_by_id(result["game_id"])
    assert game.status == "completed" and game.rounds >= 1
    assert cli("replay", "verify", game.replay_path).exit_code == 0

    reasoned = moves_of(game.replay_path, "0")
    assert reasoned and all(m["reasoning"].startswith("I checked") for m in reasoned)
    assert all(m["reasoning_tokens"] == REASONING_TOKENS["medium"] for m in reasoned)
    price_in, price_out = PRICES["gpt5"]
    for move in reasoned:  # reasoning tokens are output tokens, priced as such
        priced = (move["input_tokens"] * price_in + move["output_tokens"] * price_out) / 1e6
        assert move["cost"] == pytest.approx(priced) and "provider_cost" not in move
    routed = moves_of(game.replay_path, "1")
    for move in routed:
        assert move["provider_cost"] == pytest.approx(
            fake_cost(move["input_tokens"], move["output_tokens"])
        )
        assert "reasoning" not in move and move["reasoning_tokens"] == 0

    gpt5, router = sorted(game.participants, key=lambda p: p.slot)
    assert gpt5.reasoning_tokens == sum(m["reasoning_tokens"] for m in reasoned) > 0
    assert gpt5.provider_cost is None
    assert router.provider_cost == pytest.approx(sum(m["provider_cost"] for m in routed))
    ledger = list(Spend.select().where(Spend.game_id == game.id, Spend.model_id == router.model_id))
    assert sum(row.provider_cost for row in ledger) == pytest.approx(router.provider_cost)
    assert sum(r.reasoning_tokens for r in Spend.select().where(Spend.model_id == gpt5.model_id))

    report = json.loads(cli("costs", "--json").stdout)
    rows = {row["model"]: row for row in report["models"]}
    assert rows["routed"]["provider_cost"] == pytest.approx(router.provider_cost)
    assert rows["routed"]["provider_difference"] == pytest.approx(
        router.provider_cost - rows["routed"]["cost"]
    )
    assert rows["gpt5"]["provider_cost"] is None
    assert rows["gpt5"]["reasoning_tokens"] == gpt5.reasoning_tokens
    assert report["provider_cost"] == pytest.approx(router.provider_cost)
    text = cli("costs").stdout
    assert "provider" in text and "difference" in text and "reasoning" in text
    assert f"reported by providers: ${router.provider_cost:.4f} (-$" in text

    stats = fake.stats()
    requests = stats["models"]["anthropic/claude-x"]["requests"]
    assert stats["attribution"]["X-Title"] == {"SnakeBench": requests}
    assert stats["attribution"]["HTTP-Referer"] == {"https://bench.example": requests}


def test_a_google_model_plays_and_costs_show_no_provider_column(
    cli: Invoke, fake: FakeLLMServer, workdir: Path
) -> None:
    add_models(cli, fake.url)
    result = play(cli, "gemini", "greedy", seed=5)
    assert Game.get_by_id(result["game_id"]).status == "completed"
    assert fake.stats()["models"]["gemini-2.5-flash"]["ok"] >= 1
    text = cli("costs").stdout
    assert "gemini" in text and "provider" not in text and "reported by providers" not in text
    assert fake.stats()["attribution"]["X-Title"] == {}  # not OpenRouter: no attribution
