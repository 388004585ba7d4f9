"""The live board publisher against the real Redis, and a worker-style game using it."""

from __future__ import annotations

import json
import time

import pytest
import redis

from snakebench.engine import Rules, new_game
from snakebench.games import live
from snakebench.games.live import TTL_SECONDS, LivePublisher, live_key, publishing, read_many
from snakebench.games.simulation import run_stored_game
from snakebench.store import create_game

from .conftest import Filled


def test_publishes_one_key_per_game_with_a_ttl(redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    state = new_game(Rules(width=6, height=5), 4, ("0", "1"))
    LivePublisher(connection, "g1")(state, {})
    assert 0 < int(connection.ttl(live_key("g1"))) <= TTL_SECONDS
    board = read_many(connection, ["g1", "g2"])
    assert list(board) == ["g1"] and board["g1"]["round"] == 0
    assert board["g1"]["state"]["scores"] == {"0": 0, "1": 0}


def test_a_stored_game_publishes_each_round_then_clears(
    filled: Filled, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "MIN_INTERVAL", 0.0)  # a bot game's rounds come faster
    connection = redis.Redis.from_url(redis_url)
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
    now = [100.0]
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
