"""A batch between a Responses-API model with reasoning and an OpenRouter model, run by
real ``rq worker`` processes against the fake provider: what issue 17 asks to hold in
production, on a small scale (the real SDKs in the workers, settings from their
environment, results in the database and the replays)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import redis
from typer.testing import Result

from snakebench.config import Settings
from snakebench.engine.replay import read_replay
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.fakellm.usage import REASONING_TOKENS, fake_cost
from snakebench.services.costs import cost_report
from snakebench.store import Game, batch_game_ids, upsert_model
from snakebench.testing.support import Worker

Invoke = Callable[..., Result]
StartWorker = Callable[..., Worker]
Bind = Callable[[redis.Redis | None], Invoke]
GAMES = 20  # the size: 8 rounds each keeps it to seconds
GPT5, ROUTED = (1.25, 10.0), (1.0, 4.0)  # USD per million tokens, in and out

pytestmark = pytest.mark.slow


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(FakeOptions(strategy="survivor", seed=9)) as server:
        yield server


def test_reasoning_and_openrouter_models_play_a_batch_on_real_workers(
    store: Settings,
    real_redis: redis.Redis,
    cli: Bind,
    fake: FakeLLMServer,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.setenv(variable, "sk-test-not-a-secret")  # submit checks them too
    upsert_model("gpt5", provider="openai", model_slug="gpt-5", base_url=f"{fake.url}/v1",
                 api="responses", price_input_per_m=GPT5[0], price_output_per_m=GPT5[1],
                 extra={"reasoning_effort": "high", "reasoning_summary": "auto"})  # fmt: skip
    upsert_model("routed", provider="openrouter", model_slug="x/greedy",
                 base_url=f"{fake.url}/v1", price_input_per_m=ROUTED[0],
                 price_output_per_m=ROUTED[1],
                 extra={"provider": {"sort": "price"}, "transforms": ["middle-out"]})  # fmt: skip
    run = cli(None)
    submitted = run("--model-a", "gpt5", "--model-b", "routed", "--count", str(GAMES),
                    "--mirror", "--max-rounds", "8", "--seed", "21", "--json")  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    batch_id = json.loads(submitted.stdout)["batch_id"]
    # The worker's own settings name the app to OpenRouter.
    title = {"SNAKEBENCH_OPENROUTER_TITLE": "Batch Bench"}
    assert start_worker(env=title).process.wait(timeout=120) == 0

    games = [Game.get_by_id(game_id) for game_id in batch_game_ids(batch_id)]
    assert [game.status for game in games] == ["completed"] * GAMES
    reported = 0.0
    for game in games:
        by_model = {p.model.name: p for p in game.participants}
        slot = {name: str(p.slot) for name, p in by_model.items()}
        frames = read_replay(str(game.replay_path)).rounds
        reasoned = [f.moves[slot["gpt5"]] for f in frames if slot["gpt5"] in f.moves]
        routed = [f.moves[slot["routed"]] for f in frames if slot["routed"] in f.moves]
        assert all(m["reasoning"] and m["reasoning_tokens"] == REASONING_TOKENS["high"]
                   for m in reasoned)  # fmt: skip
        gpt5 = by_model["gpt5"]
        assert gpt5.cost == pytest.approx(
            (gpt5.input_tokens * GPT5[0] + gpt5.output_tokens * GPT5[1]) / 1e6
        )
        assert gpt5.reasoning_tokens == REASONING_TOKENS["high"] * len(reasoned)
        router = by_model["routed"]
        assert router.provider_cost == pytest.approx(
            sum(fake_cost(m["input_tokens"], m["output_tokens"]) for m in routed)
        )
        reported += router.provider_cost
    rows = {row["model"]: row for row in cost_report(batch_id)["models"]}
    assert rows["routed"]["provider_cost"] == pytest.approx(reported)
    assert rows["gpt5"]["reasoning_tokens"] > 0 and rows["gpt5"]["provider_cost"] is None
    routed_calls = fake.stats()["models"]["x/greedy"]["requests"]
    assert fake.stats()["attribution"]["X-Title"] == {"Batch Bench": routed_calls}
