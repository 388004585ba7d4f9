"""Every page renders with its main element and without a JavaScript error; its
screenshot is the test's (test-artifacts/screenshots/test_page_renders[<page>].png)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

PAGES = {
    "leaderboard": ("/", "table#leaderboard"),
    "model": ("/models/greedy", "svg#rating-history"),
    "games": ("/games", "table#games"),
    "game": ("/games/{game}", "canvas#board[data-ready=true]"),
    "live": ("/live", "div#live-games"),
    "batches": ("/batches", "table#batches"),
    "batch": ("/batches/{batch}", "#batch-progress"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders(page: Any, site: Any, name: str) -> None:
    path, selector = PAGES[name]
    path = path.format(game=site.game_ids("fake")[0], batch=site.batches["bots"]["batch_id"])
    response = page.goto(path)
    assert response.status == 200, path
    expect(page.locator(selector)).to_be_attached()
    if name == "game":
        for _ in range(10):
            page.click("button#step-forward")


def test_games_list_links_to_every_game_it_shows(page: Any, site: Any) -> None:
    page.goto("/games")
    rows = page.locator("table#games tbody tr[data-game-id]")
    [(total,)] = site.sql("SELECT count(*) FROM games")
    expect(page.locator("#games-total")).to_contain_text(f"{total} games")
    assert rows.count() == min(total, 50)
    played = rows.filter(has=page.locator(".badge.completed")).first
    game_id = played.get_attribute("data-game-id")
    played.locator(f'a[href="/games/{game_id}"]').click()
    expect(page.locator("canvas#board")).to_have_attribute("data-ready", "true")
