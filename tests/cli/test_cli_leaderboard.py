"""``snakebench leaderboard``, ``ratings rebuild`` and ``models retire`` on real games."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from snakebench.store import Game, Model, Participant, RatingChange

from .conftest import Invoke


@pytest.fixture
def played(cli: Invoke) -> Invoke:
    """Bots' games: greedy and survivor each against random, mirrored, seeded."""
    for a, b in (("greedy", "random"), ("survivor", "random"), ("greedy", "survivor")):
        result = cli(
            "dispatch", "--model-a", a, "--model-b", b, "--count", "12", "--mirror",
            "--seed", "7", "--max-rounds", "60", "--sync", "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    return cli


def _rows(cli: Invoke, *args: str) -> list[dict[str, Any]]:
    result = cli("leaderboard", "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_trueskill_board_follows_the_stored_conservative_ratings(played: Invoke) -> None:
    rows = _rows(played)
    assert [r["rank"] for r in rows] == [1, 2, 3] and rows[-1]["model"] == "random"
    for row in rows:
        model = Model.get(Model.name == row["model"])
        assert row["rating"] == pytest.approx(model.trueskill_mu - 3 * model.trueskill_sigma)
        assert row["lower"] < model.trueskill_mu < row["upper"]
        assert row["games"] == 24 and row["wins"] + row["losses"] + row["ties"] == 24
    assert sum(r["wins"] for r in rows) == sum(r["losses"] for r in rows)


def test_bradley_terry_separates_the_bots_from_random(played: Invoke) -> None:
    rows = {r["model"]: r for r in _rows(played, "--method", "bt", "--resamples", "200")}
    for strong in ("greedy", "survivor"):
        assert rows[strong]["lower"] > rows["random"]["upper"]
        assert rows[strong]["rank"] < rows["random"]["rank"]
    assert _rows(played, "--method", "bt", "--resamples", "200") == list(
        _rows(played, "--method", "bt", "--resamples", "200")
    )


def test_same_seed_same_board_and_csv_matches_json(played: Invoke) -> None:
    first = _rows(played, "--method", "bt", "--resamples", "100", "--seed", "3")
    again = _rows(played, "--method", "bt", "--resamples", "100", "--seed", "3")
    assert first == again
    text = played("leaderboard", "--csv", "--method", "bt", "--resamples", "100", "--seed", "3")
    parsed = list(csv.DictReader(io.StringIO(text.stdout)))
    assert [r["model"] for r in parsed] == [r["model"] for r in first]
    assert float(parsed[0]["rating"]) == pytest.approx(first[0]["rating"])


def test_min_games_hides_rows_and_void_games_do_not_count(played: Invoke) -> None:
    assert _rows(played, "--min-games", "25") == []
    game = Game.select().where(Game.status == "completed").first()
    Game.update(status="void").where(Game.id == game.id).execute()
    rows = _rows(played)
    lineup = {p.model.name for p in Participant.select().where(Participant.game == game.id)}
    assert {r["model"]: r["games"] for r in rows if r["model"] in lineup} == dict.fromkeys(
        lineup, 23
    )


def test_rebuild_check_agrees_then_spots_a_tampered_rating(played: Invoke) -> None:
    check = played("ratings", "rebuild", "--check")
    assert check.exit_code == 0 and "from 36 rated games" in check.stdout
    assert "difference from the stored ratings: 0" in check.stdout
    Model.update(trueskill_sigma=1.0).where(Model.name == "greedy").execute()
    assert played("ratings", "rebuild", "--check").exit_code == 1
    assert played("ratings", "rebuild").exit_code == 0
    assert played("ratings", "rebuild", "--check").exit_code == 0


def test_retire_excludes_a_model_and_restore_brings_it_back(played: Invoke) -> None:
    before = {r["model"]: r for r in _rows(played)}
    result = played("models", "retire", "random")
    assert result.exit_code == 0 and "rebuilt from 12 rated games" in result.stdout
    after = {r["model"]: r for r in _rows(played)}
    assert set(after) == {"greedy", "survivor"} and after["greedy"]["games"] == 12
    assert played("models", "retire", "random").exit_code == 2  # already retired
    assert played("play", "random", "greedy").exit_code == 2  # retired models do not play
    assert RatingChange.select().count() == 24
    assert played("models", "restore", "random").exit_code == 0
    restored = {r["model"]: r for r in _rows(played)}
    assert restored == before


def test_empty_and_bad_input(cli: Invoke) -> None:
    assert "no rated games yet" in cli("leaderboard").stdout
    bad = cli("leaderboard", "--method", "elo")
    assert bad.exit_code == 2 and "trueskill, bt" in bad.output
    both = cli("leaderboard", "--json", "--csv")
    assert both.exit_code == 2 and "one of --json and --csv" in both.output
    assert cli("leaderboard", "--min-games", "-1").exit_code == 2
    unknown = cli("models", "retire", "nobody")
    assert unknown.exit_code == 2 and "nobody" in unknown.output
