"""A model's words are text, never markup: the ``hostile`` model's rationales start
with a ``<script>`` and an ``<img onerror>``. The viewer shows them literally, and no
page that shows the model or its games runs them (``window.__pwned`` stays undefined;
the ``page`` fixture checks that after every test)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


def test_a_script_in_a_rationale_shows_as_text(page: Any, site: Any, sitelib: Any) -> None:
    game_id = site.game_ids("hostile")[0]
    page.goto(f"/games/{game_id}")
    expect(page.locator("canvas#board")).to_have_attribute("data-ready", "true")
    for _ in range(3):
        page.click("button#step-forward")
        hostile = page.locator('#moves [data-slot="0"] .rationale')
        text = hostile.text_content() or ""
        assert text.startswith(sitelib.HOSTILE_PAYLOAD), text
        assert "<script>" in (page.locator("#moves").text_content() or "")
    assert page.locator("#moves script, #moves img").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    # Played to the end at top speed: every rationale went through the panel.
    page.select_option("select#speed", "8")
    page.click("button#play")
    last = page.locator("canvas#board").get_attribute("data-frames")
    expect(page.locator("canvas#board")).to_have_attribute("data-round", str(last), timeout=30_000)
    assert page.locator("main script, main img").count() == 0
    assert page.evaluate("() => window.__pwned") is None


@pytest.mark.parametrize(
    "where", ["leaderboard", "model", "games", "games-of-model", "batches", "batch"]
)
def test_pages_listing_the_hostile_model_stay_inert(page: Any, site: Any, where: str) -> None:
    batch = site.batches["hostile"]["batch_id"]
    path = {
        "leaderboard": "/",
        "model": "/models/hostile",
        "games": "/games",
        "games-of-model": "/games?model=hostile",
        "batches": "/batches",
        "batch": f"/batches/{batch}",
    }[where]
    response = page.goto(path)
    assert response.status == 200, path
    expect(page.locator("main")).to_contain_text("hostile")
    page.wait_for_timeout(300)  # an onerror fires once the broken image fails to load
    assert page.evaluate("() => window.__pwned") is None
