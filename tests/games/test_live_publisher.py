"""The live document's players (rationale, rationale_round, thinking_since, move): what the
game loop tells its hooks, what the publisher makes of it in the real Redis, and the
bounds on what it publishes. Escaping is the page's job: the document keeps the text
as the model wrote it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from snakebench.config import Settings
from snakebench.engine import Direction, GameState, Rules, new_game
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games import live
from snakebench.games.live import (
    MAX_DOCUMENT_BYTES,
    MAX_RATIONALE_CHARS,
    LivePublisher,
    encode_bounded,
    live_key,
    mark_watched,
    publishing,
)
from snakebench.games.loop import GameHooks, GameSetup, play_game
from snakebench.games.simulation import GameParams, create_stored_game, run_stored_game
from snakebench.players.base import MoveDecision, Turn
from snakebench.players.bots import make_bot
from snakebench.store import open_store, upsert_model

HOSTILE = '<script>window.__pwned = 1</script> & "quotes"'


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def connection(real_redis: redis.Redis) -> redis.Redis:
    """The real Redis, someone watching boards (nobody watching: the tests at the end)."""
    mark_watched(real_redis)
    return real_redis


def published(connection: redis.Redis, game_id: str) -> dict[str, Any]:
    raw = connection.get(live_key(game_id))
    assert raw is not None, "nothing published"
    document: dict[str, Any] = json.loads(raw)
    return document


def start() -> GameState:
    return new_game(Rules(width=8, height=8), 3, ("0", "1"))


def test_round_start_then_moves_shape_the_players(connection: redis.Redis) -> None:
    wall = Clock(1_700_000_000.5)
    publisher = LivePublisher(connection, "g1", clock=Clock(10.0), wall=wall, remote=True)
    state = start()
    publisher.round_started(state)
    document = published(connection, "g1")
    assert set(document) == {"game_id", "round", "state", "updated_at", "players"}
    waiting = {"rationale": "", "rationale_round": 0, "thinking_since": 1_700_000_000.5}
    assert document["players"] == {"0": {**waiting, "move": ""}, "1": {**waiting, "move": ""}}
    # One model answers; the other is still awaited. Both publish at once (remote).
    publisher.moved("1", MoveDecision(Direction.UP, rationale=HOSTILE))
    players = published(connection, "g1")["players"]
    assert players["1"] == {
        "rationale": HOSTILE,
        "rationale_round": 1,
        "thinking_since": None,
        "move": "UP",
    }
    assert players["0"]["thinking_since"] == 1_700_000_000.5
    publisher.moved("0", MoveDecision(Direction.LEFT, rationale="left, towards the apple"))
    players = published(connection, "g1")["players"]
    assert players["0"] == {
        "rationale": "left, towards the apple",
        "rationale_round": 1,
        "thinking_since": None,
        "move": "LEFT",
    }
    # Round 2: a new wait, the last rationales stay until replaced.
    wall.at += 3
    publisher.round_started(state._replace(round=1))
    players = published(connection, "g1")["players"]
    assert players["1"] == {
        "rationale": HOSTILE,
        "rationale_round": 1,
        "thinking_since": 1_700_000_003.5,
        "move": "UP",
    }


def test_a_bot_game_still_publishes_at_most_every_min_interval(connection: redis.Redis) -> None:
    clock = Clock(100.0)
    publisher = LivePublisher(connection, "g2", clock=clock, wall=Clock(5.0))
    state = start()
    publisher.round_started(state)  # a bot game's first interval: nothing yet
    assert connection.exists(live_key("g2")) == 0
    clock.at = 100.2
    publisher.round_started(state)  # the first is published
    publisher.moved("0", MoveDecision(Direction.UP, rationale="bot"))  # too soon: skipped
    assert published(connection, "g2")["players"]["0"]["rationale"] == ""
    clock.at = 100.45
    publisher.moved("1", MoveDecision(Direction.UP, rationale="bot 1"))
    players = published(connection, "g2")["players"]
    assert players["0"]["rationale"] == "bot" and players["1"]["rationale"] == "bot 1"


def test_a_long_rationale_is_cut_to_its_bound(connection: redis.Redis) -> None:
    publisher = LivePublisher(connection, "g3", remote=True)
    publisher.round_started(start())
    publisher.moved("0", MoveDecision(Direction.UP, rationale="x" * 5000))
    rationale = published(connection, "g3")["players"]["0"]["rationale"]
    assert len(rationale) == MAX_RATIONALE_CHARS
    assert rationale == "x" * (MAX_RATIONALE_CHARS - 1) + "\u2026"


def test_a_document_is_cut_to_its_byte_bound() -> None:
    """Forty snakes of 2,000 three-byte characters each are 240 kB of rationales:
    they are cut until the whole document fits, and say so with their ellipsis."""
    players = {
        str(i): {"rationale": "\u20ac" * 3000, "rationale_round": 4, "thinking_since": None}
        for i in range(40)
    }
    document = {"game_id": "g", "round": 4, "state": {}, "players": players}
    text = encode_bounded(document)
    assert text is not None and len(text.encode()) <= MAX_DOCUMENT_BYTES
    decoded = json.loads(text)["players"]
    assert set(decoded) == set(players)
    for entry in decoded.values():
        assert 0 < len(entry["rationale"]) < MAX_RATIONALE_CHARS
        assert entry["rationale"].endswith("\u2026") and entry["rationale_round"] == 4


def test_a_document_that_cannot_fit_is_not_published(
    connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "MAX_DOCUMENT_BYTES", 100)  # smaller than any board
    publisher = LivePublisher(connection, "g4", remote=True)
    publisher.round_started(start())
    assert connection.exists(live_key("g4")) == 0


class Remote:
    """A remote player with a fixed move and rationale."""

    remote = True

    def __init__(self, name: str, rationale: str) -> None:
        self.name = name
        self.rationale = rationale

    def choose(self, turn: Turn) -> MoveDecision:
        return MoveDecision(Direction.UP, rationale=f"{self.rationale} {turn.state.round}")


def test_the_loop_tells_round_start_each_move_then_the_round() -> None:
    events: list[tuple[str, int, str]] = []
    hooks = GameHooks(
        on_round_start=lambda state: events.append(("start", state.round, "")),
        on_move=lambda sid, decision: events.append(("move", 0, f"{sid}:{decision.rationale}")),
        on_round=lambda state, moves: events.append(("round", state.round, "")),
    )
    setup = GameSetup("g", Rules(max_rounds=3), 3, {"0": "a", "1": "b"})
    outcome = play_game(setup, {"0": Remote("a", "A"), "1": Remote("b", "B")}, hooks)
    assert outcome.state.round >= 1
    for number in range(outcome.state.round):
        start_at = events.index(("start", number, ""))
        block = events[start_at : start_at + 4]
        assert block[0] == ("start", number, "")
        assert sorted(block[1:3]) == [("move", 0, f"0:A {number}"), ("move", 0, f"1:B {number}")]
        assert block[3] == ("round", number + 1, "")


def test_bots_moves_are_told_too() -> None:
    """Without a remote player the moves are asked in turn on the game's thread: each
    is still told, with its rationale, before the round is played."""
    moves: list[tuple[int, str, str]] = []
    rounds: list[int] = []
    hooks = GameHooks(
        on_move=lambda sid, decision: moves.append((len(rounds), sid, decision.rationale)),
        on_round=lambda state, decisions: rounds.append(state.round),
    )
    setup = GameSetup("g", Rules(max_rounds=5), 3, {"0": "a", "1": "b"})
    play_game(setup, {"0": make_bot("greedy", 3), "1": make_bot("survivor", 3)}, hooks)
    assert rounds and [(n, sid) for n, sid, _ in moves] == [
        (n, sid) for n in range(len(rounds)) for sid in ("0", "1")
    ]
    assert all(rationale for _, _, rationale in moves)


def test_a_failing_move_hook_never_stops_a_game() -> None:
    def broken(sid: str, decision: MoveDecision) -> None:
        raise RuntimeError("watcher down")

    setup = GameSetup("g", Rules(max_rounds=4), 3, {"0": "a", "1": "b"})
    players = {"0": Remote("a", "A"), "1": Remote("b", "B")}
    outcome = play_game(setup, players, GameHooks(on_move=broken))
    assert outcome.status == "completed"


def test_publishing_yields_the_publishers_hooks(connection: redis.Redis) -> None:
    with publishing(connection, "g5", remote=True) as hooks:
        assert hooks.on_round_start is not None and hooks.on_move is not None
        hooks.on_round_start(start())
        assert connection.exists(live_key("g5")) == 1
    assert connection.exists(live_key("g5")) == 0


@pytest.fixture
def llm_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-not-a-secret")
    chosen = Settings(
        database_url=f"sqlite:///{tmp_path / 'sb.db'}",
        replay_dir=tmp_path / "replays",
        move_timeout=5.0,
    )
    open_store(chosen)
    with FakeLLMServer(FakeOptions(strategy="greedy", seed=3)) as fake:
        upsert_model(
            "fake-gpt",
            provider="openai",
            model_slug="gpt-fake",
            base_url=f"{fake.url}/v1",
            price_input_per_m=1.0,
            price_output_per_m=4.0,
        )
        yield chosen


def test_a_worker_game_publishes_each_models_rationale(
    llm_settings: Settings, connection: redis.Redis
) -> None:
    """A stored game against the fake provider, as a worker plays it: when each round
    has been played, the document already holds both moves of that round."""
    game = create_stored_game(
        "fake-gpt", "greedy", GameParams(seed=5, max_rounds=8), settings=llm_settings
    )
    seen: list[dict[str, Any]] = []

    def watch(state: GameState, decisions: object) -> None:
        document = published(connection, game.id)
        seen.append({"round": state.round, **document["players"]})

    summary = run_stored_game(game.id, settings=llm_settings, live=connection, on_round=watch)
    assert summary["status"] == "completed" and seen
    for entry in seen:
        gpt, bot = entry["0"], entry["1"]
        assert gpt["rationale_round"] == entry["round"] and gpt["thinking_since"] is None
        assert gpt["rationale"].strip(), "the model's reply is its rationale"
        assert bot["rationale_round"] == entry["round"]
    assert connection.exists(live_key(game.id)) == 0  # cleared at the end


class Commands:
    """A Redis client that counts the commands sent through it."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.connection_pool = client.connection_pool  # not a command
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.sent.append(name)
        return getattr(self.client, name)


def test_nobody_watching_costs_one_look_per_interval_and_a_heartbeat(
    real_redis: redis.Redis,
) -> None:
    """Without a reader a game of models publishes nothing but a board per heartbeat,
    looking for a watcher at most once per WATCH_CHECK; once someone reads boards,
    they come within that check."""
    client = Commands(real_redis)
    clock = Clock(0.0)
    publisher = LivePublisher(client, "g6", clock=clock, remote=True)  # type: ignore[arg-type]
    for tick in range(10):  # a second of rounds, nobody watching
        clock.at = tick / 10
        publisher.round_started(start())
        publisher.moved("0", MoveDecision(Direction.UP, rationale="hm"))
    assert client.sent == ["exists"] and real_redis.exists(live_key("g6")) == 0
    clock.at = live.HEARTBEAT_SECONDS
    publisher.round_started(start())
    assert client.sent == ["exists", "set"] and real_redis.exists(live_key("g6")) == 1
    assert live.read_many(real_redis, ["g6"])  # someone reads boards now
    clock.at += live.WATCH_CHECK
    publisher.moved("0", MoveDecision(Direction.UP, rationale="seen"))
    assert client.sent == ["exists", "set", "exists", "set"]
    assert published(real_redis, "g6")["players"]["0"]["rationale"] == "seen"
    publisher.clear()
    assert real_redis.exists(live_key("g6")) == 0


def test_the_games_of_a_process_look_for_a_watcher_once_between_them(
    real_redis: redis.Redis, redis_db_url: str
) -> None:
    """A worker's games share its connection pool, and with it one look a WATCH_CHECK:
    32 games at once send one EXISTS a second, not 32. Another pool looks for itself."""
    client = Commands(real_redis)
    clock = Clock(0.0)
    games = [LivePublisher(client, f"g{n}", clock=clock, remote=True) for n in range(32)]  # type: ignore[arg-type]
    for tick in range(10):  # a second of rounds of 32 games, nobody watching
        clock.at = tick / 10
        for publisher in games:
            publisher.round_started(start())
    assert client.sent == ["exists"]
    clock.at = live.WATCH_CHECK
    games[5].round_started(start())
    assert client.sent == ["exists", "exists"]
    elsewhere = Commands(redis.Redis.from_url(redis_db_url))  # a pool of its own
    LivePublisher(elsewhere, "g99", clock=clock, remote=True).round_started(start())  # type: ignore[arg-type]
    assert elsewhere.sent == ["exists"]


def test_a_short_unwatched_bot_game_sends_nothing(real_redis: redis.Redis) -> None:
    client = Commands(real_redis)
    with publishing(client, "g7") as hooks:  # type: ignore[arg-type]
        assert hooks.on_round is not None and hooks.on_round_start is not None
        for _ in range(20):
            hooks.on_round_start(start())
            hooks.on_round(start(), {})
    assert client.sent == []
