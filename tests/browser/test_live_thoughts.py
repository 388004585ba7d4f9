"""A game watched live with its thoughts (/live/<id>): a real ``rq worker`` plays a
fake-LLM model answering in 1.5 s, whose replies start with the hostile payload,
against a bot; chromium on the game's live page sees the waiting timer count, the
model's rationale appear (as text, its script never run), and is sent to the replay
when the game ends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from snakebench.fakellm.faults import FakeOptions

pytestmark = pytest.mark.slow


@pytest.fixture
def thinker(site: Any, sitelib: Any) -> Iterator[str]:
    """A model ``thinker`` on a fake server of its own that answers in 1.5 s, its
    replies led by the hostile payload."""
    server = sitelib.hostile_fake_server(FakeOptions(seed=9, latency_ms=1500)).start()
    try:
        site.add_fake_model("thinker", f"{sitelib.HOSTILE_PREFIX}greedy", on=server)
        yield "thinker"
    finally:
        server.stop()


def test_live_page_shows_thoughts_timer_then_the_replay(
    page: Any, workers: Any, thinker: str, sitelib: Any, shoot: Any
) -> None:
    game_id = workers.submit_game(thinker, "greedy", seed=700, max_rounds=6)
    page.goto(f"/live/{game_id}")
    expect(page.locator("#live-game-status")).to_have_attribute("data-status", "queued")
    model = page.locator('section.thought[data-slot="0"]')
    expect(model.locator(".rationale-round")).to_have_text("no move yet")
    page.evaluate("() => { window.__same_page = true; }")  # gone if the page reloads

    workers.start_workers(1)
    waiting = model.locator(".waiting")
    expect(waiting).to_be_visible(timeout=30_000)
    expect(waiting).to_contain_text(f"waiting for {thinker} for ")
    # The timer counts on between polls: one wait of 1.5 s shows at least "1 s".
    page.wait_for_function(
        """() => Number(document.querySelector('section.thought[data-slot="0"] .waiting')
                 .dataset.seconds) >= 1""",
        timeout=30_000,
    )
    expect(model.locator(".rationale")).to_contain_text(sitelib.HOSTILE_PAYLOAD, timeout=15_000)
    expect(model.locator(".rationale")).to_contain_text("My head is at")
    expect(model.locator(".rationale-round")).to_have_text(re.compile(r"round [1-6]"))
    expect(page.locator("#live-game-status")).to_have_attribute("data-status", "running")
    assert page.locator("section.thought script, section.thought img").count() == 0
    assert page.evaluate("() => window.__same_page") is True, "the page reloaded"
    shoot(page, "live-thoughts")

    page.wait_for_url(f"**/games/{game_id}", timeout=60_000)
    expect(page.locator("canvas#board[data-ready=true]")).to_be_visible()
    assert workers.sql("SELECT status FROM games WHERE id = ?", game_id) == [("completed",)]
