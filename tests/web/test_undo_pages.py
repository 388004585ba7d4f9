"""Undone games on the web, over the real bot games of the ``site`` fixture: the
replay page's banner, the mark in lists and in the API, a model's evaluation reset on
its page, and ``/audit``; every word a person typed is shown escaped."""

from __future__ import annotations

from markupsafe import escape

from snakebench.services.undo import reset_evaluation, restore_game, undo_game
from snakebench.store import Evaluation, Game, Model, get_model

from .conftest import Site
from .test_pages import assert_no_raw_markup, page, rows_with

HOSTILE_REASON = '<script>alert("undo")</script><img src=x onerror=alert(5)>'
HOSTILE_ACTOR = "<b>mallory</b>"


def test_an_undone_game_has_a_banner_and_a_mark_in_lists(site: Site) -> None:
    game_id = site.completed[1]
    undo_game(game_id, reason=HOSTILE_REASON, actor=HOSTILE_ACTOR)

    body = page(site, f"/games/{game_id}")
    assert 'id="undone-banner"' in body
    assert escape(HOSTILE_REASON) in body
    assert escape(HOSTILE_ACTOR) in body
    assert "Undone on " in body and f"snakebench games restore {game_id}" in body
    assert_no_raw_markup(body)
    assert "<b>mallory" not in body
    other = page(site, f"/games/{site.completed[0]}")
    assert 'id="undone-banner"' not in other

    listing = page(site, f"/games?batch={site.batch_id}")
    ids = rows_with(listing, "data-game-id")
    row = listing.split(f'data-game-id="{game_id}"')[1].split("</tr>")[0]
    assert game_id in ids and 'class="badge undone"' in row
    assert listing.count('class="badge undone"') == 1

    api = site.client.get(f"/api/games/{game_id}").get_json()
    assert api["undone_at"] is not None and api["status"] == "completed"
    assert site.client.get(f"/api/games/{site.completed[0]}").get_json()["undone_at"] is None


def test_a_restored_game_loses_its_banner(site: Site) -> None:
    game_id = site.completed[2]
    undo_game(game_id, reason="r", actor="ops")
    restore_game(game_id, reason="fine after all", actor="ops")
    body = page(site, f"/games/{game_id}")
    assert 'id="undone-banner"' not in body and 'class="badge undone"' not in body


def test_the_audit_page_lists_every_change_newest_first(site: Site) -> None:
    empty = page(site, "/audit")
    assert 'id="audit-empty"' in empty
    assert 'href="/audit"' in empty and 'aria-current="page"' in empty
    first, second = site.completed[0], site.completed[1]
    undo_game(first, reason=HOSTILE_REASON, actor=HOSTILE_ACTOR)
    undo_game(second, reason="duplicate", actor="ops")
    restore_game(first, reason="", actor="ops")

    body = page(site, "/audit")
    assert rows_with(body, "data-audit-id") == ["3", "2", "1"]
    assert escape(HOSTILE_REASON) in body
    assert_no_raw_markup(body)
    assert f'href="/games/{second}"' in body
    for action in ("undo-game", "restore-game"):
        assert action in body
    # Each row shows the ratings it changed (the conservative rating, before → after).
    row = body.split('data-audit-id="2"')[1].split("</tr>")[0]
    assert 'class="rating-changes"' in row and "→" in row and 'href="/models/greedy"' in row
    # Linked from every page's navigation.
    assert 'href="/audit"' in page(site, "/games")


def test_a_model_page_shows_its_evaluation_reset(site: Site) -> None:
    model = get_model("survivor")
    Evaluation.create(model=model.id, batch=site.batch_id, games_target=3, status="finished")
    Model.update(test_status="ranked").where(Model.id == model.id).execute()
    assert 'id="evaluation-resets"' not in page(site, "/models/survivor")

    outcome = reset_evaluation("survivor", reason=HOSTILE_REASON, actor="ops")

    body = page(site, "/models/survivor")
    assert 'id="evaluation-resets"' in body
    assert f"{len(outcome.games)} placement games undone, back to untested (was ranked)" in body
    assert escape(HOSTILE_REASON) in body
    assert_no_raw_markup(body)
    assert all(Game.get_by_id(gid).undone_at is not None for gid in outcome.games)
    assert 'id="record-games">0<' in body
    greedy = page(site, "/models/greedy")
    assert 'id="evaluation-resets"' not in greedy


def test_the_originals_api_leaves_an_undone_game_out(site: Site) -> None:
    def listed() -> list[str]:
        body = site.client.get("/original/api/games?limit=100").get_json()
        return [game["game_id"] for game in body["games"]]

    def greedy_games() -> list[str]:
        body = site.client.get("/original/api/stats?model=greedy").get_json()
        return [game["game_id"] for game in body["aggregatedData"]["greedy"]["games"]]

    game_id = site.completed[0]
    assert game_id in listed() and game_id in greedy_games()
    total = site.client.get("/original/api/stats?simple=true").get_json()["totalGames"]

    undo_game(game_id, reason="r", actor="ops")

    assert game_id not in listed() and game_id not in greedy_games()
    assert site.client.get("/original/api/stats?simple=true").get_json()["totalGames"] == total - 1
