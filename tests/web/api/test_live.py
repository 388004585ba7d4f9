"""The live board publisher against the real Redis, a worker-style game using it, and
one game's live document and page (/api/live/<id>, /live/<id>)."""

from __future__ import annotations

import json
import time

import pytest
import redis
from flask.testing import FlaskClient

from snakebench.engine import Direction, Rules, new_game
from snakebench.games import live
from snakebench.games.live import (
    MIN_INTERVAL,
    TTL_SECONDS,
    LivePublisher,
    live_key,
    mark_watched,
    publishing,
    read_many,
)
from snakebench.games.simulation import run_stored_game
from snakebench.players.base import MoveDecision
from snakebench.store import create_game

from .conftest import Filled


def test_publishes_one_key_per_game_with_a_ttl(redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    mark_watched(connection)
    state = new_game(Rules(width=6, height=5), 4, ("0", "1"))
    now = [100.0]
    publisher = LivePublisher(connection, "g1", clock=lambda: now[0])
    now[0] += MIN_INTERVAL  # a bot game's first board comes after one interval
    publisher(state, {})
    assert 0 < int(connection.ttl(live_key("g1"))) <= TTL_SECONDS
    board = read_many(connection, ["g1", "g2"])
    assert list(board) == ["g1"] and board["g1"]["round"] == 0
    assert board["g1"]["state"]["scores"] == {"0": 0, "1": 0}


def test_a_stored_game_publishes_each_round_then_clears(
    filled: Filled, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "MIN_INTERVAL", 0.0)  # a bot game's rounds come faster
    connection = redis.Redis.from_url(redis_url)
    mark_watched(connection)
    game = create_game(seed=4, players=("greedy", "random"), max_rounds=12)
    seen: list[int] = []

    def watch(state: object, decisions: object) -> None:
        seen.append(json.loads(connection.get(live_key(game.id)) or "{}").get("round", -1))

    run_stored_game(game.id, settings=filled.settings, live=connection, on_round=watch)
    # on_round runs before the publisher: it sees the previous round's board
    assert seen[1:] == list(range(1, len(seen)))
    assert connection.exists(live_key(game.id)) == 0


def test_boards_come_at_most_every_min_interval(redis_url: str) -> None:
    """A bot game plays hundreds of rounds a second: publishing each would cost more
    than the game. Rounds within MIN_INTERVAL of the last board are skipped."""
    connection = redis.Redis.from_url(redis_url)
    mark_watched(connection)
    now = [100.0 - MIN_INTERVAL]  # started one interval before the first board
    publisher = LivePublisher(connection, "g3", clock=lambda: now[0])
    state = new_game(Rules(width=6, height=5), 4, ("0", "1"))
    shown = []
    for at in (100.0, 100.1, 100.19, 100.2, 100.35, 100.41):
        now[0] = at
        publisher(state._replace(round=round((at - 100) * 100)), {})
        shown.append(read_many(connection, ["g3"])["g3"]["round"])
    assert shown == [0, 0, 0, 20, 20, 41]


def test_redis_failures_never_fail_a_game(filled: Filled) -> None:
    down = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    game = create_game(seed=5, players=("greedy", "random"), max_rounds=40)
    started = time.monotonic()
    summary = run_stored_game(game.id, settings=filled.settings, live=down)
    assert summary["status"] == "completed"
    assert time.monotonic() - started < 5  # backs off after the first failure


def test_publishing_without_redis_is_the_plain_hook() -> None:
    def hook(state: object, decisions: object) -> None:
        return None

    with publishing(None, "g", hook) as used:
        assert used.on_round is hook


def test_one_live_game_with_its_players_thoughts(
    client: FlaskClient, filled: Filled, redis_url: str
) -> None:
    connection = redis.Redis.from_url(redis_url)
    mark_watched(connection)  # the page is open
    publisher = LivePublisher(connection, filled.running_id, remote=True)
    state = new_game(Rules(width=8, height=6), 1, ("0", "1"))
    publisher.round_started(state._replace(round=3))
    publisher.moved("0", MoveDecision(Direction.UP, rationale="<b>up</b> & away"))
    before = time.time()
    game = client.get(f"/api/live/{filled.running_id}").json
    assert game["status"] == "running" and game["finished"] is False
    assert (game["round"], game["width"], game["height"]) == (3, 8, 6)
    assert game["models"] == {"0": "random", "1": "greedy"}
    assert game["players"]["0"] == {
        "rationale": "<b>up</b> & away",
        "rationale_round": 4,
        "thinking_since": None,
        "move": "UP",
    }
    waiting = game["players"]["1"]
    assert waiting["rationale"] == "" and waiting["rationale_round"] == 0
    assert waiting["thinking_since"] <= before <= game["server_time"]
    # The page: the board and the thoughts, the model's text escaped by the template.
    page = client.get(f"/live/{filled.running_id}").get_data(as_text=True)
    assert 'section class="move thought" data-slot="1"' in page
    assert "&lt;b&gt;up&lt;/b&gt; &amp; away" in page and "<b>up</b>" not in page


def test_a_finished_game_sends_its_live_page_to_the_replay(
    client: FlaskClient, filled: Filled
) -> None:
    game_id = filled.completed[0]
    game = client.get(f"/api/live/{game_id}").json
    assert game["finished"] is True and game["status"] == "completed"
    assert game["state"] is None and set(game["players"]) == {"0", "1"}
    response = client.get(f"/live/{game_id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/games/{game_id}"


def test_a_queued_game_waits_and_an_unknown_one_is_404(client: FlaskClient, filled: Filled) -> None:
    game = client.get(f"/api/live/{filled.queued_id}").json
    assert game["status"] == "queued" and game["state"] is None and game["round"] == 0
    assert client.get(f"/live/{filled.queued_id}").status_code == 200
    assert client.get("/api/live/nope").status_code == 404
    assert client.get("/live/nope").status_code == 404
