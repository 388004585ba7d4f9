"""The HTML pages, through Flask's test client, over a store of real bot games (the
``site`` fixture in conftest.py): every page's key elements, filters and pagination,
404 pages, escaping of hostile model text, static files."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from werkzeug.test import TestResponse

from snakebench.engine.replay import read_replay
from snakebench.store import Game, Model, Participant
from snakebench.web import data

from .conftest import (
    HOSTILE_ERROR,
    HOSTILE_MODEL,
    HOSTILE_RATIONALE,
    MakeClient,
    Site,
)

STATIC = Path(__file__).resolve().parents[2] / "snakebench" / "web" / "static"
TEMPLATES = STATIC.parent / "templates"
UPSTREAM = Path(__file__).resolve().parents[1] / "fixtures" / "upstream-replays"


def page(site: Site, url: str, status: int = 200) -> str:
    response: TestResponse = site.client.get(url)
    assert response.status_code == status, (url, response.status_code, response.data[:500])
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def rows_with(body: str, attribute: str) -> list[str]:
    """The values of ``attribute`` on the page's <tr> elements, in order."""
    return [html.unescape(v) for v in re.findall(rf'<tr {attribute}="([^"]*)"', body)]


def embedded_json(body: str, element_id: str) -> object:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', body, re.S
    )
    assert match, element_id
    return json.loads(match.group(1))


def assert_no_raw_markup(body: str) -> None:
    """Hostile text never appears as markup: only the site's own script tags (with a
    src, or the JSON data blocks) exist, and no injected <img>."""
    scripts = re.findall(r"<script\b[^>]*>", body)
    assert all(" src=" in tag or 'type="application/json"' in tag for tag in scripts), scripts
    assert "<img" not in body
    assert "alert(" not in body or "<script>alert(" not in body


# --- layout -----------------------------------------------------------------------------


def test_every_page_has_the_navigation_and_the_stylesheet(site: Site) -> None:
    for url in ("/", "/games", "/live", "/batches", f"/games/{site.completed[0]}"):
        body = page(site, url)
        for href in ('href="/"', 'href="/games"', 'href="/live"', 'href="/batches"'):
            assert href in body, (url, href)
        assert 'href="/rq/"' in body
        assert re.search(r'<link rel="stylesheet" href="/static/style\.css', body)
        assert "fonts.googleapis" not in body and "cdn" not in body.lower()


def test_static_files_are_served(site: Site) -> None:
    for name in ("style.css", "board.js", "replay.js", "live.js", "batch.js", "sortable.js"):
        response = site.client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.data == (STATIC / name).read_bytes()
    assert site.client.get("/static/board.js").mimetype in (
        "text/javascript",
        "application/javascript",
    )


def test_board_js_documents_the_drawing_contract() -> None:
    source = (STATIC / "board.js").read_text()
    head = source[: source.index("(function")]
    for term in ("data-cell", "data-y-up", "data-round", "#1d4ed8", "#60a5fa", "#c2410c",
                 "#fb923c", "#dc2626", "#f1f5f9", "height - 1 - y"):  # fmt: skip
        assert term in head, term


# --- leaderboard --------------------------------------------------------------------------


def test_leaderboard_lists_rated_models_with_links_and_chart(site: Site) -> None:
    body = page(site, "/")
    rows = rows_with(body, "data-model")
    expected = [row["model"] for row in data.leaderboard()]
    assert rows == expected
    assert {"greedy", "survivor", HOSTILE_MODEL} <= set(rows)
    assert '<table id="leaderboard" class="sortable"' in body
    assert 'href="/models/greedy"' in body
    assert '<svg id="rating-chart"' in body
    chart = body[body.index('<svg id="rating-chart"') :]
    assert chart.count('<circle class="point"') == len(expected)
    assert chart.count('<line class="interval"') == len(expected)
    assert "/static/sortable.js" in body


def test_leaderboard_method_toggle_and_min_games(site: Site) -> None:
    body = page(site, "/?method=bt")
    assert 'data-method="bt"' in body
    assert rows_with(body, "data-model") == [r["model"] for r in data.leaderboard("bt")]
    assert re.search(r'<a href="/\?method=trueskill"[^>]*data-method="trueskill"', body)
    games = {r["model"]: r["games"] for r in data.leaderboard()}
    threshold = max(games.values())
    body = page(site, f"/?min_games={threshold}")
    assert set(rows_with(body, "data-model")) == {m for m, g in games.items() if g >= threshold}
    assert f'href="/?method=bt&amp;min_games={threshold}"' in body
    body = page(site, "/?min_games=100000")
    assert 'id="leaderboard-empty"' in body


@pytest.mark.parametrize("query", ["method=elo", "min_games=-1", "min_games=lots"])
def test_leaderboard_rejects_bad_arguments_with_a_message(site: Site, query: str) -> None:
    body = page(site, f"/?{query}", status=400)
    assert 'id="error"' in body


def test_leaderboard_on_an_empty_database_still_answers(make_client: MakeClient) -> None:
    response = make_client().get("/")
    assert response.status_code == 200
    assert b'href="/rq/"' in response.data


# --- model pages -------------------------------------------------------------------------


def test_model_page_shows_record_history_and_recent_games(site: Site) -> None:
    body = page(site, "/models/greedy")
    detail = data.model_detail("greedy")
    record = detail["record"]
    assert '<h1 id="model-name">greedy</h1>' in body
    assert f'<span class="value" id="record-games">{record["games"]}</span>' in body
    assert 'id="invalid-rate"' in body and 'id="record-cost"' in body
    history = detail["rating_history"]
    assert len(history) == record["games"] > 0
    assert '<svg id="rating-history" class="chart"' in body
    assert f'data-points="{len(history)}"' in body
    assert '<polygon class="band"' in body and '<polyline class="line"' in body
    assert '<table id="recent-games">' in body
    recent = rows_with(body, "data-game-id")
    assert recent == [g["id"] for g in detail["recent_games"]]
    for game_id in recent:
        assert f'href="/games/{game_id}"' in body


def test_model_without_games_has_an_empty_chart(site: Site) -> None:
    Model.update(is_active=True).where(Model.name == "random").execute()
    played = Participant.select(Participant.game).join(Model).where(Model.name == "random")
    Game.delete().where(Game.id.in_(played)).execute()
    body = page(site, "/models/random")
    assert 'data-points="0"' in body and "No rated games yet" in body


def test_unknown_model_is_an_html_404(site: Site) -> None:
    body = page(site, "/models/no-such-model", status=404)
    assert 'id="not-found"' in body and "no-such-model" in body


def test_model_names_with_slashes_have_pages(site: Site) -> None:
    from snakebench.store import upsert_model

    upsert_model("openai/gpt-x", provider="bot", model_slug="random")
    body = page(site, "/models/openai/gpt-x")
    assert '<h1 id="model-name">openai/gpt-x</h1>' in body


# --- games list ----------------------------------------------------------------------------


def test_games_list_links_every_game(site: Site) -> None:
    body = page(site, "/games")
    ids = rows_with(body, "data-game-id")
    listing = data.list_games(per_page=50)
    assert ids == [g["id"] for g in listing["games"]]
    assert len(ids) == Game.select().count() == 7
    for game_id in ids:
        assert f'href="/games/{game_id}"' in body
    assert '<table id="games">' in body and 'id="game-filters"' in body


def test_games_filters(site: Site) -> None:
    body = page(site, f"/games?batch={site.batch_id}")
    assert sorted(rows_with(body, "data-game-id")) == sorted([*site.completed, site.failed_id])
    body = page(site, "/games?status=failed")
    assert rows_with(body, "data-game-id") == [site.failed_id]
    assert '<option value="failed" selected>' in body
    body = page(site, "/games?status=running")
    assert rows_with(body, "data-game-id") == [site.running_id]
    winners = [g for g in data.list_games(model="greedy", result="won")["games"]]
    body = page(site, "/games?model=greedy&result=won")
    assert rows_with(body, "data-game-id") == [g["id"] for g in winners]
    body = page(site, f"/games?model={quote(HOSTILE_MODEL)}")
    assert rows_with(body, "data-game-id") == [site.hostile_model_game]
    body = page(site, "/games?model=&batch=&status=&result=")  # an empty form is no filter
    assert len(rows_with(body, "data-game-id")) == 7


@pytest.mark.parametrize(
    "query",
    [
        "status=exploded",
        "model=nobody",
        "batch=nope",
        "result=won",
        "page=0",
        "page=x",
        "page=99999999999999999999",
    ],
)
def test_games_bad_filters_are_400_with_the_form(site: Site, query: str) -> None:
    body = page(site, f"/games?{query}", status=400)
    assert 'id="error"' in body and 'id="game-filters"' in body


def test_games_pagination(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from snakebench.web import pages

    monkeypatch.setattr(pages, "PER_PAGE", 3)
    all_ids = [g["id"] for g in data.list_games(per_page=50)["games"]]
    seen: list[str] = []
    for number in (1, 2, 3):
        body = page(site, f"/games?page={number}")
        seen += rows_with(body, "data-game-id")
        assert f"page {number} / 3" in body
        assert ('id="prev-page"' in body) is (number > 1)
        assert ('id="next-page"' in body) is (number < 3)
    assert seen == all_ids
    body = page(site, "/games?page=2&status=completed")
    assert 'href="/games?page=1&amp;status=completed"' in body
    assert 'href="/games?page=3&amp;status=completed"' not in body  # 4 completed: 2 pages
    body = page(site, "/games?page=9")
    assert rows_with(body, "data-game-id") == [] and 'id="games-empty"' in body


# --- the replay viewer -------------------------------------------------------------------------


def test_game_page_has_the_viewer_and_its_replay(site: Site) -> None:
    game_id = site.completed[1]
    body = page(site, f"/games/{game_id}")
    for element in ('<canvas id="board"', 'id="play"', 'id="pause"', 'id="step-back"',
                    'id="step-forward"', 'id="speed"', 'id="round"', 'id="moves"',
                    'id="events"'):  # fmt: skip
        assert element in body, element
    replay = embedded_json(body, "replay-data")
    assert replay == data.game_replay(game_id)
    assert isinstance(replay, dict)
    frames = len(replay["frames"])
    assert re.search(rf'<input type="range" id="scrub" min="0" max="{frames}"', body)
    canvas = re.search(r"<canvas id=\"board\"[^>]*>", body)
    assert canvas
    tag = canvas.group(0)
    assert 'data-y-up="true"' in tag and 'data-cell="40"' in tag and 'data-round="0"' in tag
    assert f'data-replay-url="/api/games/{game_id}/replay"' in tag
    assert "/static/board.js" in body and "/static/replay.js" in body


def test_game_events_list_the_deaths(site: Site) -> None:
    for game_id in site.completed:
        body = page(site, f"/games/{game_id}")
        events = body[body.index('id="events"') :]
        events = events[: events.index("</ul>")]
        for p in data.game_detail(game_id)["participants"]:
            if p["death_reason"]:
                assert f'data-slot="{p["slot"]}" data-reason="{p["death_reason"]}"' in events
                assert f"died in round {p['death_round']}: {p['death_reason']}" in events


def test_hostile_rationale_is_escaped(site: Site) -> None:
    body = page(site, f"/games/{site.hostile_game}")
    assert HOSTILE_RATIONALE not in body
    assert_no_raw_markup(body)
    replay = embedded_json(body, "replay-data")
    assert isinstance(replay, dict)
    assert replay["frames"][0]["moves"]["0"]["rationale"] == HOSTILE_RATIONALE
    assert body.index('id="replay-data"') > body.index("</main>")  # no script in <main>
    block = body[body.index('id="replay-data"') :]
    assert "\\u003cscript\\u003e" in block  # tojson escapes <, > and & inside script


def test_rationales_go_in_with_text_content_only() -> None:
    source = (STATIC / "replay.js").read_text() + (STATIC / "live.js").read_text()
    source += (STATIC / "batch.js").read_text()
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source
    assert "document.write" not in source
    assert "pre.textContent = move.rationale" in source


def test_hostile_model_name_is_escaped_everywhere(site: Site) -> None:
    escaped = html.escape(HOSTILE_MODEL, quote=True)
    for url in ("/", "/games", f"/games/{site.hostile_model_game}",
                f"/models/{quote(HOSTILE_MODEL, safe='')}"):  # fmt: skip
        body = page(site, url)
        assert HOSTILE_MODEL not in body, url
        assert escaped in body or html.escape(HOSTILE_MODEL, quote=False) in body, url
        assert_no_raw_markup(body)
    body = page(site, "/")
    assert HOSTILE_MODEL in rows_with(body, "data-model")


def test_game_without_replay(site: Site) -> None:
    body = page(site, f"/games/{site.queued_id}")
    assert 'id="no-replay"' in body and "not started" in body
    assert '<canvas id="board"' not in body
    body = page(site, f"/games/{site.running_id}")
    assert 'href="/live"' in body and 'id="no-replay"' in body


def test_failed_game_shows_its_error_escaped(site: Site) -> None:
    body = page(site, f"/games/{site.failed_id}")
    assert html.escape(HOSTILE_ERROR) in body and HOSTILE_ERROR not in body
    assert 'id="game-error"' in body
    assert_no_raw_markup(body)


def test_game_with_an_unreadable_replay_still_has_a_page(site: Site) -> None:
    path = Path(Game.get_by_id(site.completed[2]).replay_path or "")
    path.write_text("{not json", encoding="utf-8")
    body = page(site, f"/games/{site.completed[2]}")
    assert 'id="no-replay"' in body


def test_unknown_game_is_an_html_404(site: Site) -> None:
    body = page(site, "/games/does-not-exist", status=404)
    assert 'id="not-found"' in body


def test_unknown_page_is_an_html_404(site: Site) -> None:
    body = page(site, "/no/such/page", status=404)
    assert 'id="not-found"' in body


# --- live -----------------------------------------------------------------------------------


def test_live_page_shows_running_games(site: Site) -> None:
    body = page(site, "/live")
    assert '<div id="live-games"' in body and 'data-url="/api/live"' in body
    assert f'<canvas class="board" data-game-id="{site.running_id}"' in body
    assert 'data-y-up="true"' in body and 'data-round="7"' in body
    assert 'width="192" height="144"' in body  # 8 x 6 cells of 24 px
    initial = embedded_json(body, "live-data")
    assert isinstance(initial, list) and [g["game_id"] for g in initial] == [site.running_id]
    assert initial[0]["state"]["snakes"]["0"] == [[1, 1], [1, 2]]
    assert re.search(r'id="live-empty" hidden', body)
    assert "/static/board.js" in body and "/static/live.js" in body


def test_live_page_without_games_says_so(site: Site) -> None:
    Game.update(status="completed").where(Game.id == site.running_id).execute()
    body = page(site, "/live")
    assert '<p class="empty" id="live-empty">' in body
    assert "<canvas" not in body
    assert embedded_json(body, "live-data") == []


# --- batches ----------------------------------------------------------------------------------


def test_batches_list_with_progress_bars(site: Site) -> None:
    body = page(site, "/batches")
    ids = rows_with(body, "data-batch-id")
    assert ids == [b["batch_id"] for b in data.list_batches()]
    assert site.batch_id in ids and len(ids) == 2
    assert body.count('class="progress"') == 2
    assert 'data-done="4" data-total="4"' in body
    assert f'href="/batches/{site.batch_id}"' in body and "web-batch" in body


def test_batch_page_counts_progress_and_failures(site: Site) -> None:
    body = page(site, f"/batches/{site.batch_id}")
    assert re.search(
        rf'<div class="progress progress-big" id="batch-progress" '
        rf'data-url="/api/batches/{site.batch_id}" data-finished="true" '
        rf'data-done="4" data-total="4"',
        body,
    )
    assert '<span class="value" data-count="completed" id="count-completed">3</span>' in body
    assert '<span class="value" data-count="failed" id="count-failed">1</span>' in body
    assert 'id="throughput"' in body and 'id="batch-cost"' in body
    assert rows_with(body, "data-game-id") == [site.failed_id]
    assert html.escape(HOSTILE_ERROR) in body and HOSTILE_ERROR not in body
    assert_no_raw_markup(body)
    assert "/static/batch.js" in body


def test_active_batch_page_polls(site: Site) -> None:
    from snakebench.services.batches import BatchSpec, create_batch_games

    batch = create_batch_games(BatchSpec("greedy", "random", count=2, seed=1))
    body = page(site, f"/batches/{batch.id}")
    assert 'data-finished="false" data-done="0" data-total="2"' in body
    assert '<span class="value" data-count="queued" id="count-queued">2</span>' in body
    assert 'id="no-failures"' in body and '<table id="failures" hidden>' in body


def test_unknown_batch_is_an_html_404(site: Site) -> None:
    body = page(site, "/batches/nope", status=404)
    assert 'id="not-found"' in body


# --- packaging ---------------------------------------------------------------------------------


def test_templates_and_static_files_are_package_data() -> None:
    import tomllib

    config = tomllib.loads((STATIC.parents[2] / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["snakebench.web"]
    shipped = {
        path for pattern in patterns for path in STATIC.parent.glob(pattern) if path.is_file()
    }
    wanted = {p for p in (*STATIC.iterdir(), *TEMPLATES.iterdir()) if p.is_file()}
    assert wanted and wanted <= shipped


# --- board.js against the engine's replay reader ---------------------------------------------

_POSITIONS = """
const fs = require("fs");
global.window = {};
eval(fs.readFileSync(process.argv[1], "utf8"));
const out = {};
for (const file of process.argv.slice(2)) {
  const replay = JSON.parse(fs.readFileSync(file, "utf8"));
  out[file] = window.SnakeBoard.positions(replay).map(p => ({state: p.state, moves: p.moves}));
}
process.stdout.write(JSON.stringify(out));
"""


def test_board_js_reads_both_replay_forms_as_the_engine_does() -> None:
    """The viewer's positions are the engine parser's rounds for all 26 upstream
    replays (old pre-move frames and new post-move frames alike)."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("no node to run board.js with")
    files = sorted(str(p) for p in UPSTREAM.glob("*.json"))
    assert len(files) == 26
    done = subprocess.run(
        [node, "-e", _POSITIONS, str(STATIC / "board.js"), *files],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    shown = json.loads(done.stdout)
    conventions = set()
    for file in files:
        replay = read_replay(file)
        conventions.add(replay.convention)
        positions = shown[file]
        assert len(positions) == replay.rounds_played + 1, file
        assert positions[0]["state"] == replay.initial
        for index, recorded in enumerate(replay.rounds):
            assert positions[index + 1]["moves"] == recorded.moves, (file, index)
            if recorded.after is not None:
                assert positions[index + 1]["state"] == recorded.after, (file, index)
    assert conventions == {"pre", "post"}


def test_an_old_form_replay_scrubs_over_its_rounds(site: Site) -> None:
    """A replay in the older form (pre-move frames and a trailing final frame): the
    scrub ends at rounds_played, not at the number of frames."""
    old = next(p for p in sorted(UPSTREAM.glob("*.json")) if read_replay(p).convention == "pre")
    played = read_replay(old).rounds_played
    frames = len(json.loads(old.read_text())["frames"])
    assert frames == played + 1
    game_id = site.completed[1]
    Game.update(replay_path=str(old)).where(Game.id == game_id).execute()
    body = page(site, f"/games/{game_id}")
    assert re.search(rf'<input type="range" id="scrub" min="0" max="{played}"', body)
