"""Whole games between LLM players: the real OpenAI and Anthropic SDKs talk to the
fake provider server on loopback; results land in a real SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from snakebench.config import Settings
from snakebench.engine.replay import read_replay
from snakebench.engine.verify import verify_replay
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games.simulation import GameParams, run_simulation
from snakebench.store import Game, Model, open_store, upsert_model


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-not-a-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-anthropic-not-a-secret")
    chosen = Settings(
        database_url=f"sqlite:///{tmp_path / 'sb.db'}",
        replay_dir=tmp_path / "replays",
        move_timeout=5.0,
        provider_retries=3,
        retry_base_delay=0.01,
        retry_max_delay=0.05,
    )
    open_store(chosen)
    return chosen


def add_models(url: str) -> None:
    upsert_model(
        "fake-gpt",
        provider="openai",
        model_slug="gpt-fake",
        base_url=f"{url}/v1",
        price_input_per_m=1.0,
        price_output_per_m=4.0,
    )
    upsert_model(
        "fake-claude",
        provider="anthropic",
        model_slug="claude-fake",
        base_url=url,
        price_input_per_m=3.0,
        price_output_per_m=15.0,
    )


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(FakeOptions(strategy="greedy", seed=3)) as fake:
        add_models(fake.url)
        yield fake


def test_openai_and_anthropic_models_play_a_full_game(
    settings: Settings, server: FakeLLMServer
) -> None:
    result = run_simulation(
        "fake-gpt", "fake-claude", GameParams(seed=5, max_rounds=30), settings=settings
    )
    assert result["status"] == "completed"
    game = Game.get_by_id(result["game_id"])
    assert game.rounds >= 1 and game.total_cost > 0
    replay = read_replay(result["replay_path"])
    assert verify_replay(replay) is None
    for rnd in replay.rounds:
        for move in rnd.moves.values():
            assert move["input_tokens"] > 0 and move["output_tokens"] > 0
            assert move["cost"] > 0 and move["parse"] == "final_line"
            assert move["latency_ms"] > 0
    by_slot = {p.slot: p for p in game.participants}
    assert by_slot[0].model.name == "fake-gpt" and by_slot[1].model.name == "fake-claude"
    for participant in by_slot.values():
        assert participant.moves == game.rounds
        assert participant.input_tokens > 0 and participant.cost > 0
        assert participant.invalid_moves == 0
    # Prices differ, so the cost shows each model's own prices were used.
    per_token = [p.cost / (p.input_tokens + p.output_tokens) for p in by_slot.values()]
    assert per_token[1] > per_token[0]
    served = server.stats()["models"]
    assert served["gpt-fake"]["ok"] == served["claude-fake"]["ok"] == game.rounds


def test_a_provider_that_keeps_failing_makes_the_game_void(settings: Settings) -> None:
    with FakeLLMServer(FakeOptions(error_rate=1.0)) as fake:
        add_models(fake.url)
        result = run_simulation("fake-gpt", "greedy", GameParams(seed=1), settings=settings)
    assert result["status"] == "void"
    assert "gave up after 3 attempts" in result["error"]
    game = Game.get_by_id(result["game_id"])
    assert game.status == "void" and "500" in game.error
    assert all(p.result is None for p in game.participants)
    replay = read_replay(result["replay_path"])
    assert replay.game["status"] == "void" and "500" in replay.game["error"]
    assert verify_replay(replay) is None
    # Void games are never counted for either side.
    assert Model.get(Model.name == "greedy").games_played == 0
    assert Model.get(Model.name == "fake-gpt").games_played == 0


def test_malformed_replies_are_the_models_invalid_moves(settings: Settings) -> None:
    with FakeLLMServer(FakeOptions(malformed_rate=0.3, seed=11)) as fake:
        add_models(fake.url)
        result = run_simulation(
            "fake-gpt", "survivor", GameParams(seed=4, max_rounds=40), settings=settings
        )
        sent = fake.stats()["models"]["gpt-fake"]
    assert result["status"] == "completed"
    game = Game.get_by_id(result["game_id"])
    gpt = next(p for p in game.participants if p.slot == 0)
    assert sent["malformed"] > 0
    assert gpt.invalid_moves == sent["malformed"]
    replay = json.loads(Path(result["replay_path"]).read_text())
    invalid = [f["moves"]["0"] for f in replay["frames"] if f["moves"].get("0", {}).get("invalid")]
    assert len(invalid) == sent["malformed"]
    assert all(m["parse"] == "none" and m["input_tokens"] > 0 for m in invalid)
    assert verify_replay(read_replay(result["replay_path"])) is None


def test_forfeit_policy_ends_the_game_on_the_first_invalid_reply(settings: Settings) -> None:
    with FakeLLMServer(FakeOptions(malformed_rate=1.0)) as fake:
        add_models(fake.url)
        result = run_simulation(
            "fake-claude",
            "greedy",
            GameParams(seed=2, invalid_move_policy="forfeit"),
            settings=settings,
        )
    assert result["status"] == "completed"
    assert result["game_result"] == {"0": "lost", "1": "won"}
    replay = json.loads(Path(result["replay_path"]).read_text())
    assert replay["game"]["rounds_played"] == 1
    assert replay["players"]["0"]["death"] == {"reason": "forfeit", "round": 0}
    assert replay["frames"][0]["moves"]["0"]["forfeit"] is True
    assert verify_replay(read_replay(result["replay_path"])) is None


def test_a_missing_key_is_refused_before_anything_is_written(
    settings: Settings, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snakebench.providers import MissingApiKeyError

    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(MissingApiKeyError, match="ANTHROPIC_API_KEY"):
        run_simulation("fake-gpt", "fake-claude", GameParams(seed=1), settings=settings)
    assert Game.select().count() == 0
