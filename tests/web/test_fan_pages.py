"""What a fan of the original looks for, over real bot games (the ``site`` fixture):
the leaderboard's site totals with the top-apples match linked and each model's top
score and apples, ``/api/totals``, a model's games with the opponent and its rank at
the time, and the replay page's copy-link button."""

from __future__ import annotations

import html
import re

from snakebench.store import Game, Model, Participant
from snakebench.store.rating_queries import rated_game_ids
from snakebench.web import data

from .conftest import HOSTILE_MODEL, MakeClient, Site
from .test_pages import assert_no_raw_markup, page, rows_with


def table_cells(body: str, table_id: str, key: str) -> dict[str, list[str]]:
    """Each row of the table ``table_id`` by its ``key`` attribute: its cells' text."""
    table = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', body, re.S)
    assert table, table_id
    rows = re.findall(rf'<tr {key}="([^"]*)">(.*?)</tr>', table.group(1), re.S)
    return {
        html.unescape(value): [
            " ".join(html.unescape(re.sub(r"<[^>]+>", "", cell)).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for value, row in rows
    }


def test_api_totals_count_the_games(site: Site) -> None:
    response = site.client.get("/api/totals")
    assert response.status_code == 200
    totals = response.json
    assert totals is not None
    completed = Game.select().where(Game.status == "completed")
    assert totals["games"] == completed.count() == 4  # 3 of the batch, 1 of the hostile model
    players = Participant.select(Participant.model).where(Participant.game.in_(completed))
    assert totals["models"] == len({p.model_id for p in players}) == 4
    top = max(p.score for p in Participant.select().where(Participant.game.in_(completed)))
    assert totals["top_score"] == top > 0
    apples = {
        game.id: sum(p.score for p in game.participants)
        for game in completed.where(Game.replay_path.is_null(False))
    }
    assert totals["top_game_apples"] == max(apples.values()) == apples[totals["top_game_id"]]
    assert totals["total_cost"] == sum(g.total_cost for g in Game.select())


def test_leaderboard_header_links_the_top_apples_match(site: Site) -> None:
    body = page(site, "/")
    totals = data.site_totals()
    assert f'<span class="value" id="total-games">{totals["games"]}</span>' in body
    assert f'<span class="value" id="total-models">{totals["models"]}</span>' in body
    assert f'<span class="value" id="top-score">{totals["top_score"]}</span>' in body
    link = re.search(r'<a id="top-apples-match" href="([^"]+)"[^>]*>(\d+) apples</a>', body)
    assert link, body
    assert link.group(1) == f"/games/{totals['top_game_id']}"
    assert int(link.group(2)) == totals["top_game_apples"]
    assert 'id="total-cost">$' in body
    # the linked game is the one: its two scores make the apples
    game_page = page(site, link.group(1))
    scores = re.findall(r'<span class="mono" id="score-\d">(\d+)</span>', game_page)
    assert sum(int(score) for score in scores) == totals["top_game_apples"]


def test_leaderboard_shows_each_models_top_score_and_apples(site: Site) -> None:
    body = page(site, "/")
    rows = table_cells(body, "leaderboard", "data-model")
    assert rows
    rated = (
        Participant.select(Participant, Model)
        .join(Model)
        .where(Participant.game.in_(rated_game_ids()))
    )
    for model, cells in rows.items():
        scores = [p.score for p in rated if p.model.name == model]
        # after Apples / game (column 9): Apples, Top score
        assert int(cells[10]) == sum(scores), (model, cells)
        assert int(cells[11]) == max(scores), (model, cells)
    api = {row["model"]: row for row in site.client.get("/api/leaderboard").json or []}
    assert {m: (r["apples"], r["top_score"]) for m, r in api.items()} == {
        m: (int(c[10]), int(c[11])) for m, c in rows.items()
    }


def test_model_page_lists_its_games_from_its_side(site: Site) -> None:
    body = page(site, "/models/greedy")
    rows = table_cells(body, "recent-games", "data-game-id")
    detail = data.model_detail("greedy")
    assert list(rows) == [g["game_id"] for g in detail["games"]]
    assert list(rows) == [g["id"] for g in detail["recent_games"]]  # the same games
    games = {g["game_id"]: g for g in detail["games"]}
    assert site.failed_id in rows and site.running_id in rows and site.queued_id in rows
    for game_id in site.completed:
        cells = rows[game_id]
        g = games[game_id]
        assert f'href="/games/{game_id}"' in body
        assert cells[2] == "survivor"  # the opponent
        assert g["opponent_rank"] is not None and cells[3] == f"#{g['opponent_rank']}"
        assert cells[4] == g["result"]
        assert cells[5] == f"{g['score']} \u2013 {g['opponent_score']}"
        assert cells[6] == f"{g['rounds']} / {g['max_rounds']}"
        assert cells[7].endswith(" s") and g["wall_seconds"] is not None
        if g["death_reason"]:
            assert cells[8].startswith(g["death_reason"])
        else:
            assert cells[8] == "-"
        assert cells[9].startswith("$")
    # games never rated have no rank, and show their status
    assert rows[site.failed_id][3] == "-" and rows[site.failed_id][4] == "failed"
    assert rows[site.queued_id][3] == "-" and rows[site.queued_id][7] == "-"
    assert 'href="/models/survivor"' in body


def test_the_first_rated_game_met_an_unranked_field(site: Site) -> None:
    """Before the site's first rated game (one of greedy's) nobody had a rating, so the
    opponent stood first of one."""
    first_rated = min(
        Game.select().where(Game.id.in_(rated_game_ids())), key=lambda g: g.rating_seq
    )
    assert first_rated.id in site.completed
    games = {g["game_id"]: g for g in data.model_detail("greedy")["games"]}
    assert games[first_rated.id]["opponent_rank"] == 1


def test_model_games_escape_a_hostile_opponent(site: Site) -> None:
    body = page(site, "/models/random")
    rows = table_cells(body, "recent-games", "data-game-id")
    assert rows[site.hostile_model_game][2] == HOSTILE_MODEL
    assert html.escape(HOSTILE_MODEL, quote=False) in body
    assert f">{html.escape(HOSTILE_MODEL)}</a>" in body  # the opponent's link, as text
    assert_no_raw_markup(body)


def test_model_api_carries_the_games(site: Site) -> None:
    body = site.client.get("/api/models/survivor").json
    assert body is not None
    assert {g["opponent"] for g in body["games"]} == {"greedy"}
    assert [g["game_id"] for g in body["games"]] == rows_with(
        page(site, "/models/survivor"), "data-game-id"
    )
    top = max(g["score"] for g in body["games"] if g["game_id"] in site.completed)
    assert body["record"]["top_score"] == top
    assert f'id="record-top-score">{top}</span>' in page(site, "/models/survivor")


def test_replay_page_has_a_copy_link_button(site: Site) -> None:
    game_id = site.completed[0]
    body = page(site, f"/games/{game_id}")
    assert f'<button type="button" id="copy-link" data-path="/games/{game_id}"' in body
    assert 'src="/static/copy_link.js?v=' in body
    assert 'id="copy-link-status" role="status"' in body
    script = site.client.get("/static/copy_link.js")
    assert script.status_code == 200 and b"navigator.clipboard" in script.data
    script.close()
    # a game without a replay gets the button too: its address is still worth sharing
    assert 'id="copy-link"' in page(site, f"/games/{site.queued_id}")


def test_an_empty_site_has_totals_but_no_match_to_link(make_client: MakeClient) -> None:
    client = make_client()
    body = client.get("/").get_data(as_text=True)
    assert '<span class="value" id="total-games">0</span>' in body
    assert '<span class="value" id="top-score">0</span>' in body
    assert 'id="top-apples-none"' in body and 'id="top-apples-match"' not in body
    assert client.get("/api/totals").json == {
        "games": 0, "models": 0, "top_score": 0, "total_cost": 0.0, "top_game_id": None,
        "top_game_apples": 0,
    }  # fmt: skip
