"""One model, one record: the leaderboard (web data, page, API, CLI), the model page
(data, page, API) and ``snakebench models list`` give every model the same games,
wins, losses, ties and apples, over the same games: its rated ones."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import typer
from flask.testing import FlaskClient
from typer.testing import Result

from snakebench.config import Settings
from snakebench.store import complete_game, create_game, get_model, list_models, upsert_model
from snakebench.store.rating_queries import retire_model
from snakebench.web import WebConfig, create_app, data

Counts = tuple[int, int, int, int, int]  # games, wins, losses, ties, apples
NO_GAMES: Counts = (0, 0, 0, 0, 0)

# (slot 0, slot 1, slot 0's result, status); slot 0 eats 3 apples, slot 1 eats 1.
GAMES = (
    ("greedy", "random", "won", "completed"),
    ("random", "greedy", "won", "completed"),
    ("greedy", "survivor", "tied", "completed"),
    ("greedy", "veteran", "won", "completed"),  # veteran is retired afterwards
    ("veteran", "random", "won", "completed"),
    ("greedy", "greedy", "won", "completed"),  # a model against itself
    ("greedy", "random", "won", "void"),
    ("survivor", "random", "lost", "failed"),
    ("random", "survivor", "won", "cancelled"),
)
EXPECTED: dict[str, Counts] = {
    "greedy": (3, 1, 1, 1, 7),
    "random": (2, 1, 1, 0, 4),
    "survivor": (1, 0, 0, 1, 1),
    "veteran": NO_GAMES,
}
OTHER = {"won": "lost", "lost": "won", "tied": "tied"}


def _record_games() -> None:
    upsert_model("veteran", provider="bot", model_slug="greedy")
    for seed, (first, second, result, status) in enumerate(GAMES):
        game = create_game(seed=seed, players=(first, second))
        complete_game(
            game.id,
            rounds=10,
            replay_path=None,
            total_cost=0.0,
            participants=[
                {"slot": 0, "result": result, "score": 3},
                {"slot": 1, "result": OTHER[result], "score": 1},
            ],
            status=status,
        )
    retire_model(get_model("veteran"))


@pytest.fixture
def client(
    redis_url: str, database_url: str, store_env: Callable[[str, str], Settings]
) -> FlaskClient:
    """An app on a store holding :data:`GAMES`, veteran retired after them."""
    store_env(database_url, redis_url)
    _record_games()
    return create_app(WebConfig(redis_url=redis_url, database_url=database_url)).test_client()


def _board_counts(row: dict[str, Any]) -> Counts:
    apples = round(row["apples_per_game"] * row["games"])
    return row["games"], row["wins"], row["losses"], row["ties"], apples


def _by_model(rows: list[dict[str, Any]]) -> dict[str, Counts]:
    return {row["model"]: _board_counts(row) for row in rows}


def _page_counts(client: FlaskClient, name: str) -> tuple[int, int, int, int]:
    body = client.get(f"/models/{name}").get_data(as_text=True)
    games = re.search(r'id="record-games">(\d+)<', body)
    wlt = re.search(r'id="record-wlt">(\d+) / (\d+) / (\d+)<', body)
    assert games and wlt, body
    return int(games[1]), int(wlt[1]), int(wlt[2]), int(wlt[3])


def _record_counts(record: dict[str, Any]) -> Counts:
    return record["games"], record["wins"], record["losses"], record["ties"], record["apples"]


def _described_counts(model: dict[str, Any]) -> Counts:
    """The record in ``snakebench models list --json`` and ``models show``."""
    keys = ("games_played", "wins", "losses", "ties", "apples_eaten")
    games, wins, losses, ties, apples = (int(model[key]) for key in keys)
    return games, wins, losses, ties, apples


def _cli_json(invoke: Callable[..., Result], *args: str) -> Any:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_view_of_a_model_gives_the_same_record(
    client: FlaskClient, cli_runner: Callable[[typer.Typer], Callable[..., Result]]
) -> None:
    from snakebench.cli.main import app

    invoke = cli_runner(app)
    boards = {
        "web data": _by_model(data.leaderboard()),
        "web data bt": _by_model(data.leaderboard(method="bt")),
        "api": _by_model(client.get("/api/leaderboard").json),  # type: ignore[arg-type]
        "cli": _by_model(_cli_json(invoke, "leaderboard", "--json")),
    }
    listed = {m["name"]: m for m in _cli_json(invoke, "models", "list", "--json", "--all")}
    names = [model.name for model in list_models()]
    assert set(EXPECTED) <= set(names)
    for name in names:
        expected = EXPECTED.get(name, NO_GAMES)
        for source, board in boards.items():
            assert board.get(name, NO_GAMES) == expected, (source, name)
        assert _record_counts(data.model_detail(name)["record"]) == expected, name
        api = client.get(f"/api/models/{name}").json
        assert api is not None and _record_counts(api["record"]) == expected, name
        assert _page_counts(client, name) == expected[:4], name
        assert _described_counts(listed[name]) == expected, name
        assert _described_counts(_cli_json(invoke, "models", "show", name)) == expected, name
