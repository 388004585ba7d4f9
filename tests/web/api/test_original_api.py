"""The original SnakeBench's read API under /original: every route's answer checked
field by field against the shapes its frontend reads (the TypeScript types recorded in
tests/fixtures/original_api/frontend_types.json, with the repository, path and commit
of each), plus sorting, 404s, bad parameters and CORS, over real bot games."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from snakebench.games.live import live_key
from snakebench.store import game_participants, get_game

from .conftest import ApiClient, Filled

TYPES = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "original_api" / "frontend_types.json").read_text()
)["routes"]
BASE = "/original"
JSON_TYPES = {
    "string": str,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def mismatches(value: Any, spec: Any, where: str = "") -> list[str]:
    """Where ``value`` is not of the fixture's ``spec`` (the language the fixture's
    ``about`` describes), one line each; [] when it is."""
    if isinstance(spec, str):
        kinds = spec.split("|")
        ok = any(
            isinstance(value, JSON_TYPES[kind])
            and not (kind == "number" and isinstance(value, bool))
            for kind in kinds
        )
        return [] if ok else [f"{where or '.'}: {value!r} is not {spec}"]
    if isinstance(spec, list):
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__} is not an array"]
        return [
            line
            for i, item in enumerate(value)
            for line in mismatches(item, spec[0], f"{where}[{i}]")
        ]
    if value is None and spec.get("__nullable__"):
        return []
    if not isinstance(value, dict):
        return [f"{where}: {value!r} is not an object"]
    if "*" in spec:
        return [
            line
            for key, item in value.items()
            for line in mismatches(item, spec["*"], f"{where}.{key}")
        ]
    found: list[str] = []
    for name, field in spec.items():
        if name == "__nullable__":
            continue
        key = name.rstrip("?")
        if key not in value:
            if not name.endswith("?"):
                found.append(f"{where}.{key}: missing")
            continue
        found += mismatches(value[key], field, f"{where}.{key}")
    return found


def test_the_checker_catches_a_wrong_field() -> None:
    shape = TYPES["games"]["shape"]
    good = {"games": []}
    assert mismatches(good, shape) == []
    game = {
        "game_id": "g", "start_time": "t", "end_time": None, "rounds": 3, "replay_url": "u",
        "board_width": 10, "board_height": 10, "total_score": 4, "total_cost": 0.0,
        "participants": [],
    }  # fmt: skip
    assert mismatches({"games": [game]}, shape) == []
    assert mismatches({"games": [{**game, "rounds": "3"}]}, shape) == [
        ".games[0].rounds: '3' is not number"
    ]
    del game["replay_url"]
    assert mismatches({"games": [game]}, shape) == [".games[0].replay_url: missing"]


def get_json(client: FlaskClient, path: str, status: int = 200) -> Any:
    response = client.get(BASE + path)
    assert response.status_code == status, (path, response.status_code, response.data[:300])
    assert response.is_json, path
    return response.json


def requests_for(filled: Filled) -> dict[str, str]:
    """Each fixture route's request, with this store's ids filled in."""
    values = {"model": "greedy", "game_id": filled.completed[0]}
    return {name: route["request"].format(**values) for name, route in TYPES.items()}


@pytest.mark.parametrize("route", sorted(TYPES))
def test_each_route_has_the_frontends_shape(
    route: str, filled: Filled, client: FlaskClient
) -> None:
    paths = [requests_for(filled)[route]]  # live_game: a finished game's state
    if route == "live_game":
        paths.append(f"/api/games/{filled.running_id}/live")  # and a running one's
    for path in paths:
        assert mismatches(get_json(client, path), TYPES[route]["shape"]) == []


def test_every_typed_field_is_sent(filled: Filled, client: FlaskClient) -> None:
    """The optional fields the frontend reads when present are present here, so the
    checks above covered them too."""
    simple = get_json(client, "/api/stats?simple=true")["aggregatedData"]["greedy"]
    assert {"elo", "trueskill_mu", "trueskill_sigma", "trueskill_exposed"} <= set(simple)
    full = get_json(client, "/api/stats?model=greedy")["aggregatedData"]["greedy"]
    assert "total_cost" in full and full["games"]
    assert all("cost" in game for game in full["games"])
    top = get_json(client, "/api/matches/top-apples")
    assert {"game_id", "total_apples"} <= set(top)
    live = get_json(client, f"/api/games/{filled.running_id}/live")["current_state"]
    assert set(live) >= {
        "round_number", "snake_positions", "alive", "scores", "apples", "board_state",
        "move_history", "last_move_time",
    }  # fmt: skip


def test_the_values_are_this_projects(filled: Filled, client: FlaskClient) -> None:
    models = get_json(client, "/api/models")
    records = {m["name"]: m for m in models["models"]}
    detail = client.get("/api/models/greedy").json
    assert records["greedy"]["wins"] == detail["record"]["wins"]
    assert records["greedy"]["games_played"] == detail["record"]["games"] == 3
    assert models["aggregatedData"]["greedy"]["apples_eaten"] == detail["record"]["apples"]
    assert models["totalGames"] == 3  # completed with a replay, as the original lists
    ratings = [m["elo_rating"] for m in models["models"]]
    assert ratings == sorted(ratings, reverse=True)

    game_id = filled.completed[0]
    assert (
        get_json(client, f"/api/matches/{game_id}")
        == client.get(f"/api/games/{game_id}/replay").json
    )
    listed = get_json(client, "/api/games?limit=100")["games"]
    assert {g["game_id"] for g in listed} == set(filled.completed)
    first = next(g for g in listed if g["game_id"] == game_id)
    lineup = game_participants(game_id)
    assert first["total_score"] == sum(p.score for p in lineup)
    assert [p["model_name"] for p in first["participants"]] == [p.model.name for p in lineup]
    assert first["replay_url"] == f"http://localhost{BASE}/api/matches/{game_id}"
    assert (
        client.get(first["replay_url"].removeprefix("http://localhost")).json["metadata"]["game_id"]
        == game_id
    )

    full = get_json(client, "/api/stats?model=greedy")["aggregatedData"]["greedy"]
    assert {g["game_id"] for g in full["games"]} == set(filled.completed)
    for game in full["games"]:
        assert game["opponent_model"] == "random"
        if game["result"] == "lost" and "death_info" in game:
            assert isinstance(game["death_info"]["reason"], str)
        if game["result"] != "lost":
            assert "death_info" not in game


@pytest.mark.parametrize("sort_by", ["start_time", "total_score", "rounds"])
def test_games_sort_by(sort_by: str, filled: Filled, client: FlaskClient) -> None:
    games = get_json(client, f"/api/games?sort_by={sort_by}&limit=50")["games"]
    assert len(games) == 3
    keys = [g[sort_by] for g in games]
    assert keys == sorted(keys, reverse=True)
    if sort_by == "start_time":
        assert [g["game_id"] for g in games] == filled.completed  # newest first
    page = get_json(client, f"/api/games?sort_by={sort_by}&limit=1&offset=1")["games"]
    assert [g["game_id"] for g in page] == [games[1]["game_id"]]


def test_top_apples_is_the_highest_total(filled: Filled, client: FlaskClient) -> None:
    top = get_json(client, "/api/matches/top-apples")
    totals = {g["game_id"]: g["total_score"] for g in get_json(client, "/api/games")["games"]}
    assert top["total_apples"] == max(totals.values()) == totals[top["game_id"]]
    assert top["rounds"] == get_game(top["game_id"]).rounds


def test_no_games_yet(api_client: ApiClient) -> None:
    client = api_client()
    assert get_json(client, "/api/matches/top-apples", 404) == {"error": "No matches found"}
    assert get_json(client, "/api/games") == {"games": []}
    assert get_json(client, "/api/games/live") == {"games": [], "count": 0}


def test_live_games_with_the_rationales(
    filled: Filled, client: FlaskClient, redis_url: str
) -> None:
    connection = redis.Redis.from_url(redis_url)
    document = json.loads(connection.get(live_key(filled.running_id)) or b"{}")
    document["players"] = {
        "0": {"rationale": "apple at (3, 4): <b>up</b>", "rationale_round": 0,
              "thinking_since": None},
        "1": {"rationale": "", "rationale_round": 0, "thinking_since": 1.5e9},
    }  # fmt: skip
    connection.set(live_key(filled.running_id), json.dumps(document))
    connection.close()

    live = get_json(client, "/api/games/live")
    assert live["count"] == 1
    (game,) = live["games"]
    assert game["id"] == filled.running_id and game["status"] == "in_progress"
    assert game["models"] == {"0": "random", "1": "greedy"}
    state = game["current_state"]
    assert state["snake_positions"] == document["state"]["snakes"]
    assert state["round_number"] == document["round"]
    assert state["move_history"] == [
        {"0": {"move": "", "rationale": "apple at (3, 4): <b>up</b>"},
         "1": {"move": "", "rationale": ""}}
    ]  # fmt: skip
    assert len(state["board_state"].splitlines()) == 6 + 1  # 8x6 board and its x labels
    assert state["board_state"].count("0") >= 1

    one = get_json(client, f"/api/games/{filled.running_id}/live")
    assert one["current_state"] == state and one["total_score"] is None


def test_a_finished_games_live_state_sends_to_the_replay(
    filled: Filled, client: FlaskClient
) -> None:
    game_id = filled.completed[0]
    body = get_json(client, f"/api/games/{game_id}/live")
    assert body["status"] == "completed" and body["current_state"] is None
    assert body["total_score"] == sum(p.score for p in game_participants(game_id))
    queued = get_json(client, f"/api/games/{filled.queued_id}/live")
    assert queued["status"] == "queued" and queued["current_state"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/api/models/no-such-model",
        "/api/matches/no-such-game",
        "/api/games/no-such-game/live",
        "/api/stats?model=no-such-model",
        "/api/no-such-route",
    ],
)
def test_not_found(path: str, filled: Filled, client: FlaskClient) -> None:
    body = get_json(client, path, 404)
    assert set(body) == {"error"} and isinstance(body["error"], str)


def test_a_game_without_replay_is_not_found(filled: Filled, client: FlaskClient) -> None:
    for game_id in (filled.queued_id, filled.failed_id, filled.running_id):
        assert "error" in get_json(client, f"/api/matches/{game_id}", 404)


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/api/games?limit=abc", "limit must be an integer"),
        ("/api/games?limit=0", "limit must be at least 1"),
        ("/api/games?limit=100000", "limit must be at most"),
        ("/api/games?offset=-1", "offset must be at least 0"),
        ("/api/games?sort_by=apples", "sort_by must be one of start_time, total_score, rounds"),
        ("/api/models?active_only=maybe", "active_only must be true or false"),
        ("/api/stats", "Please provide a model parameter for full stats."),
        ("/api/stats?simple=perhaps", "simple must be true or false"),
        ("/api/games?page=2", "unknown query parameter 'page'"),
        ("/api/matches/top-apples?x=1", "unknown query parameter 'x'"),
    ],
)
def test_bad_parameters_are_one_line_400s(
    path: str, fragment: str, filled: Filled, client: FlaskClient
) -> None:
    body = get_json(client, path, 400)
    assert set(body) == {"error"}
    assert fragment in body["error"] and "\n" not in body["error"]


def test_active_only(filled: Filled, client: FlaskClient) -> None:
    everyone = {m["name"] for m in get_json(client, "/api/models?active_only=false")["models"]}
    active = {m["name"] for m in get_json(client, "/api/models?active_only=true")["models"]}
    assert {"greedy", "random"} <= active <= everyone


def test_only_reads(filled: Filled, client: FlaskClient) -> None:
    response = client.post(BASE + "/api/games")
    assert response.status_code == 405 and response.is_json
    assert "GET" in response.headers["Allow"]


ORIGIN = "http://localhost:3000"


def test_cors_is_off_by_default(filled: Filled, client: FlaskClient) -> None:
    response = client.get(BASE + "/api/stats?simple=true", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_for_the_configured_origins(
    filled: Filled, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAKEBENCH_ORIGINAL_CORS_ORIGINS", f"https://snakebench.com, {ORIGIN}")
    response = client.get(BASE + "/api/games", headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]
    missing = client.get(BASE + "/api/models/nope", headers={"Origin": ORIGIN})
    assert missing.status_code == 404  # an error reaches the page too
    assert missing.headers["Access-Control-Allow-Origin"] == ORIGIN

    preflight = client.options(
        BASE + "/api/games/live",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"

    other = client.get(BASE + "/api/games", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    own_api = client.get("/api/games", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in own_api.headers  # /api stays same-origin


def test_a_password_guards_these_routes_too(filled: Filled, api_client: ApiClient) -> None:
    client = api_client(password="hunter2-but-longer")
    response = client.get(BASE + "/api/models")
    assert response.status_code == 401 and response.is_json
    assert set(response.json) == {"error"}
    assert "WWW-Authenticate" in response.headers
