"""Prompt variants on the web: the leaderboard's ``prompt_variant`` filter (API and
page), and a batch submitted with a ``prompt_variant``."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from snakebench.store import Participant, batch_game_ids, complete_game, create_game, upsert_model

from .conftest import BEARER, Filled


@pytest.fixture
def llm_game(filled: Filled, monkeypatch: pytest.MonkeyPatch) -> str:
    """A completed game of an LLM model prompted with ``minimal`` against greedy, beside
    the bot games of ``filled``; recorded as a worker records one."""
    monkeypatch.setenv("SB_TEST_KEY", "sk-test")
    upsert_model("llm", provider="openai", model_slug="x", api_key_env="SB_TEST_KEY")
    game = create_game(seed=4, players=("llm", "greedy"), prompt_variant="minimal")
    complete_game(
        game.id,
        rounds=12,
        replay_path=None,
        total_cost=0.01,
        participants=[
            {"slot": 0, "score": 3, "result": "won", "prompt_sha": "a" * 64},
            {"slot": 1, "score": 1, "result": "lost"},
        ],
    )
    return game.id


def rows(client: FlaskClient, query: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"/api/leaderboard?{query}")
    assert response.status_code == 200, response.json
    return {row["model"]: row for row in response.json}


def test_the_leaderboard_filtered_by_variant_shows_only_its_games(
    client: FlaskClient, llm_game: str
) -> None:
    everything = rows(client, "")
    assert everything["greedy"]["games"] == 4 and everything["llm"]["games"] == 1
    for method in ("trueskill", "bt"):
        minimal = rows(client, f"method={method}&prompt_variant=minimal")
        assert list(minimal) == ["llm"]
        row = minimal["llm"]
        assert (row["games"], row["wins"], row["apples_per_game"]) == (1, 1, 3.0)
        assert row["rating"] == rows(client, f"method={method}")["llm"]["rating"]
    assert rows(client, "prompt_variant=default") == {}
    assert rows(client, "prompt_variant=minimal&min_games=2") == {}


@pytest.mark.parametrize(
    ("query", "message"),
    [("prompt_variant=nosuch", "unknown prompt variant 'nosuch'"),
     ("prompt_variant=" + "x" * 41, "must have 1 to 40 characters")],
)  # fmt: skip
def test_a_bad_variant_filter_is_422_naming_it(
    client: FlaskClient, query: str, message: str
) -> None:
    response = client.get(f"/api/leaderboard?{query}")
    assert response.status_code == 422
    assert response.json["error"]["field"] == "prompt_variant"
    assert message in response.json["error"]["message"]


def test_the_leaderboard_page_offers_and_applies_the_variant_filter(
    client: FlaskClient, llm_game: str
) -> None:
    body = client.get("/?prompt_variant=minimal").get_data(as_text=True)
    assert '<option value="minimal" selected>minimal</option>' in body
    assert 'id="prompt-variant-note"' in body and 'data-model="llm"' in body
    assert 'data-model="greedy"' not in body
    refused = client.get("/?prompt_variant=nosuch").get_data(as_text=True)
    assert 'id="error"' in refused and "unknown prompt variant" in refused


def test_a_batch_submitted_with_a_variant_writes_it_to_its_players(
    client: FlaskClient, llm_game: str
) -> None:
    body = {"model_a": "llm", "model_b": "greedy", "count": 2, "prompt_variant": "minimal"}
    response = client.post("/api/batches", json=body, headers=BEARER)
    assert response.status_code == 201, response.json
    games = batch_game_ids(response.json["batch_id"])
    variants = {p.prompt_variant for p in Participant.select().where(Participant.game << games)}
    assert variants == {"minimal", None}  # greedy is a bot: never prompted


@pytest.mark.parametrize(
    ("variant", "message"),
    [("nosuch", "unknown prompt variant 'nosuch'"), ("No!", "must be a prompt variant name")],
)
def test_a_batch_with_a_bad_variant_is_422_and_writes_nothing(
    client: FlaskClient, variant: str, message: str
) -> None:
    before = Participant.select().count()
    body = {"model_a": "greedy", "model_b": "random", "count": 2, "prompt_variant": variant}
    response = client.post("/api/batches", json=body, headers=BEARER)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "prompt_variant"
    assert message in response.json["error"]["message"]
    assert Participant.select().count() == before


def test_a_games_players_show_their_variant_and_its_hash(
    client: FlaskClient, llm_game: str
) -> None:
    players = client.get(f"/api/games/{llm_game}").json["participants"]
    shown = [(p["model"], p["prompt_variant"], p["prompt_sha"]) for p in players]
    assert shown == [("llm", "minimal", "a" * 64), ("greedy", None, None)]
