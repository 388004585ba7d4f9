"""GET routes of the JSON API over a store of real bot games."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from snakebench.engine import Rules, new_game
from snakebench.games.live import LivePublisher
from snakebench.store import get_game

from .conftest import BEARER, ApiClient, Filled


def test_leaderboard_both_methods(client: FlaskClient) -> None:
    rows = client.get("/api/leaderboard").json
    assert [row["model"] for row in rows] == ["greedy", "random"]
    assert rows[0]["games"] == 3 and rows[0]["rank"] == 1
    bt = client.get("/api/leaderboard?method=bt&min_games=1").json
    assert {row["model"] for row in bt} == {"greedy", "random"}
    assert client.get("/api/leaderboard?min_games=4").json == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("leaderboard?method=elo", "method"),
        ("leaderboard?method=", "method"),
        ("leaderboard?min_games=-1", "min_games"),
        ("leaderboard?min_games=x", "min_games"),
        ("leaderboard?min_games=1.5", "min_games"),
        ("leaderboard?sort=rating", "sort"),
        ("games?status=done", "status"),
        ("games?result=won", "result"),
        ("games?model=greedy&result=best", "result"),
        ("games?model=nobody", "model"),
        ("games?batch=nope", "batch"),
        ("games?page=0", "page"),
        ("games?page=two", "page"),
        ("games?page=9999999999999999999", "page"),  # its row offset would overflow
        ("games?per_page=0", "per_page"),
        ("games?per_page=201", "per_page"),
        ("games?colour=red", "colour"),
    ],
)
def test_a_bad_query_is_422_naming_the_parameter(
    client: FlaskClient, query: str, field: str
) -> None:
    response = client.get(f"/api/{query}")
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field


def test_model_detail(client: FlaskClient, filled: Filled) -> None:
    body = client.get("/api/models/greedy").json
    assert body["model"]["name"] == "greedy" and body["model"]["provider"] == "bot"
    model = body["model"]
    assert model["rating"] == pytest.approx(model["trueskill_mu"] - 3 * model["trueskill_sigma"])
    assert body["record"]["games"] == 3
    assert body["record"]["wins"] + body["record"]["losses"] + body["record"]["ties"] == 3
    history = body["rating_history"]
    assert len(history) == 3 and {h["game_id"] for h in history} == set(filled.completed)
    assert history[-1]["mu"] == pytest.approx(model["trueskill_mu"])
    recent = [game["id"] for game in body["recent_games"]]
    assert filled.failed_id in recent and filled.queued_id in recent


def test_unknown_model_is_404(client: FlaskClient) -> None:
    response = client.get("/api/models/nobody")
    assert response.status_code == 404 and "nobody" in response.json["error"]["message"]


def test_games_list_filters_and_pages(client: FlaskClient, filled: Filled) -> None:
    everything = client.get("/api/games").json
    assert everything["total"] == 6 and everything["page"] == 1
    assert everything["games"][0]["id"] == filled.queued_id  # newest first
    batch = client.get(f"/api/games?batch={filled.batch_id}&per_page=2&page=2").json
    assert batch["total"] == 4 and len(batch["games"]) == 2
    completed = client.get("/api/games?status=completed").json
    assert {g["id"] for g in completed["games"]} == set(filled.completed)
    won = client.get("/api/games?model=greedy&result=won").json["games"]
    lost = client.get("/api/games?model=random&result=lost").json["games"]
    assert {g["id"] for g in won} == {g["id"] for g in lost}
    assert all(g["winner"] == "greedy" for g in won)
    assert client.get("/api/games?page=99").json["games"] == []


def test_game_detail(client: FlaskClient, filled: Filled) -> None:
    body = client.get(f"/api/games/{filled.completed[0]}").json
    assert body["status"] == "completed" and body["replay_available"] is True
    assert body["seed"] >= 3 and body["width"] == 10 and body["worker"]
    assert [p["model"] for p in body["participants"]] == [p["model"] for p in body["players"]]
    assert body["participants"][0]["moves"] > 0
    bot = body["participants"][0]  # bots neither reason nor get billed
    assert (bot["reasoning_tokens"], bot["provider_cost"]) == (0, None)
    failed = client.get(f"/api/games/{filled.failed_id}").json
    assert failed["status"] == "failed" and failed["error"] == "boom"
    assert failed["replay_available"] is False and failed["winner"] is None


def test_game_replay(client: FlaskClient, filled: Filled) -> None:
    replay = client.get(f"/api/games/{filled.completed[0]}/replay").json
    assert replay["version"] == 1 and replay["game"]["id"] == filled.completed[0]
    assert len(replay["frames"]) == replay["game"]["rounds_played"]


def test_missing_or_broken_replay_is_404(client: FlaskClient, filled: Filled) -> None:
    assert client.get(f"/api/games/{filled.queued_id}/replay").status_code == 404
    path = Path(get_game(filled.completed[1]).replay_path or "")
    path.write_text(json.dumps({"not": "a replay"}))
    broken = client.get(f"/api/games/{filled.completed[1]}/replay")
    assert broken.status_code == 404 and "cannot be read" in broken.json["error"]["message"]
    path.unlink()
    assert client.get(f"/api/games/{filled.completed[1]}/replay").status_code == 404
    assert client.get(f"/api/games/{filled.completed[1]}").json["replay_available"] is False


def test_unknown_game_is_404(client: FlaskClient) -> None:
    for url in ("/api/games/nope", "/api/games/nope/replay"):
        response = client.get(url)
        assert response.status_code == 404 and response.is_json


def test_batches(client: FlaskClient, filled: Filled) -> None:
    listed = client.get("/api/batches").json
    assert [b["batch_id"] for b in listed] == [filled.batch_id]
    batch = listed[0]
    assert (batch["total"], batch["completed"], batch["failed"]) == (4, 3, 1)
    assert batch["finished"] is True and batch["params"]["model_a"] == "greedy"
    assert batch["games_per_minute"] > 0
    detail = client.get(f"/api/batches/{filled.batch_id}").json
    assert detail["failures"] == [
        {"game_id": filled.failed_id, "status": "failed", "error": "boom"}
    ]
    assert client.get("/api/batches?limit=0").status_code == 422
    assert client.get("/api/batches?limit=1").json[0]["batch_id"] == filled.batch_id


def test_unknown_batch_is_404(client: FlaskClient) -> None:
    assert client.get("/api/batches/nope").status_code == 404


def test_live(client: FlaskClient, filled: Filled) -> None:
    (game,) = client.get("/api/live").json
    assert game["game_id"] == filled.running_id
    assert (game["width"], game["height"], game["round"]) == (8, 6, 0)
    assert [p["model"] for p in game["players"]] == ["random", "greedy"]
    assert set(game["state"]) == {"snakes", "apples", "alive", "scores"}
    assert game["updated_at"]
    assert client.get("/api/live?limit=x").json["error"]["field"] == "limit"


def test_a_running_game_is_listed_as_far_as_it_has_got(
    client: FlaskClient, filled: Filled, redis_url: str
) -> None:
    """/games, the API and the game page show a running game's round and scores as its
    worker last published them (as /live does), not the 0 / 100, 0-0 of its row."""
    state = new_game(Rules(width=8, height=6), 1, ("0", "1"))
    LivePublisher(redis.Redis.from_url(redis_url), filled.running_id, remote=True)(
        state._replace(round=7, scores={"0": 3, "1": 1}), {}
    )
    listed = {game["id"]: game for game in client.get("/api/games").json["games"]}
    running = listed[filled.running_id]
    assert running["rounds"] == 7 and [p["score"] for p in running["players"]] == [3, 1]
    detail = client.get(f"/api/games/{filled.running_id}").json
    assert detail["rounds"] == 7 and [p["score"] for p in detail["players"]] == [3, 1]
    page = client.get("/games").get_data(as_text=True)
    row = page[page.index(f'data-game-id="{filled.running_id}"') :].split("</tr>")[0]
    assert f"7 / {get_game(filled.running_id).max_rounds}" in row
    scores = [cell.split("</span>")[0] for cell in row.split('<span class="mono">')[1:]]
    assert scores == ["3", "1"], row
    finished = listed[filled.completed[0]]  # a finished game keeps its stored figures
    assert finished["rounds"] == get_game(filled.completed[0]).rounds


def test_games_without_redis_are_listed_from_the_database(
    filled: Filled, api_client: ApiClient
) -> None:
    client = api_client(redis_url="redis://127.0.0.1:1/0")
    listed = {game["id"]: game for game in client.get("/api/games").json["games"]}
    assert listed[filled.running_id]["rounds"] == 0  # the row's figures: no board to read
    assert client.get("/games").status_code == 200


def test_live_without_redis_still_lists_games(
    filled: Filled, api_client: ApiClient, database_url: str
) -> None:
    client = api_client(redis_url="redis://127.0.0.1:1/0")
    (game,) = client.get("/api/live").json
    assert game["game_id"] == filled.running_id and game["state"] is None


def test_unknown_routes_and_methods_are_json(client: FlaskClient) -> None:
    missing = client.get("/api/nothing/here")
    assert missing.status_code == 404 and missing.json["error"]["message"]
    assert client.delete("/api/games").status_code == 401  # a write: token first
    wrong = client.delete("/api/games", headers=BEARER)
    assert wrong.status_code == 405 and wrong.is_json and "GET" in wrong.headers["Allow"]
    put = client.put("/api/batches", headers=BEARER)
    assert put.status_code == 405 and put.is_json


def test_pages_outside_api_keep_html_errors(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404 and not response.is_json


def test_server_error_is_json(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from snakebench.web import data

    def broken(**_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(data, "list_batches", broken)
    client.application.testing = False
    response = client.get("/api/batches")
    assert response.status_code == 500 and response.json["error"]["message"]
