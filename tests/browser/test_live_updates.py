"""Pages that follow work in progress without a reload: a batch's progress while real
workers play it, and the live page's boards while a (slow) fake-LLM game runs."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

# 30 short bot games. (Not survivor v survivor: a model playing itself fails when its
# rating is recorded, and its games stay "running".)
BATCH = [
    "--model-a", "greedy", "--model-b", "survivor", "--count", "30", "--seed", "500",
    "--max-rounds", "100", "--name", "watched",
]  # fmt: skip


def watch(page: Any, progress: Any, until: int, timeout: float) -> list[int]:
    """The values #batch-progress's data-done takes until it shows ``until``, which it
    must reach and not pass."""
    seen = [int(progress.get_attribute("data-done") or 0)]
    deadline = time.monotonic() + timeout
    while seen[-1] < until:
        assert time.monotonic() < deadline, f"the page showed {seen} within {timeout:.0f} s"
        page.wait_for_timeout(100)
        done = int(progress.get_attribute("data-done") or 0)
        if done != seen[-1]:
            seen.append(done)
    assert seen[-1] == until, f"the page showed {seen}, past {until}"
    return seen[1:]


def test_batch_page_moves_while_workers_play(page: Any, workers: Any, shoot: Any) -> None:
    batch = workers.submit(*BATCH)
    page.goto(f"/batches/{batch['batch_id']}")
    progress = page.locator("#batch-progress")
    expect(progress).to_have_attribute("data-total", "30")
    expect(progress).to_have_attribute("data-done", "0")
    page.evaluate("() => { window.__same_page = true; }")  # gone if the page reloads
    shoot(page, "batch-before")

    # A worker that stops after 10 games: the page must show 10 done, then the rest.
    workers.start_workers(1, max_jobs=10)
    seen = watch(page, progress, until=10, timeout=60)
    shoot(page, "batch-moving")
    workers.start_workers(1)
    seen += watch(page, progress, until=30, timeout=120)
    assert seen == sorted(seen), f"progress went back: {seen}"
    assert 10 in seen and seen[-1] == 30, seen  # it stood at 10 on the way
    assert page.evaluate("() => window.__same_page") is True, "the page reloaded"
    expect(progress).to_have_attribute("data-finished", "true", timeout=10_000)
    expect(page.locator('[data-count="completed"]')).to_have_text("30")
    expect(page.locator("#batch-progress-label")).to_contain_text("30 / 30")


def test_live_page_draws_a_running_game(
    page: Any, workers: Any, boards: Any, sitelib: Any, shoot: Any
) -> None:
    page.goto("/live")
    expect(page.locator("div#live-games")).to_be_attached()
    expect(page.locator("#live-empty")).to_be_visible()
    expect(page.locator("canvas[data-game-id]")).to_have_count(0)

    # A fake-LLM game at ~200 ms per move: 100 rounds take ~20 s or more.
    batch = workers.submit(
        "--model-a", "slow-fake", "--model-b", "greedy", "--count", "1", "--seed", "600",
        "--max-rounds", "100", "--priority", "high", "--name", "slow",
    )  # fmt: skip
    [(game_id,)] = workers.sql("SELECT id FROM games WHERE batch_id = ?", batch["batch_id"])
    workers.start_workers(1)
    canvas = page.locator(f'canvas[data-game-id="{game_id}"]')
    expect(canvas).to_be_visible(timeout=30_000)
    expect(page.locator("#live-empty")).to_be_hidden()
    first = int(canvas.get_attribute("data-round") or 0)
    page.wait_for_function(
        f"() => Number(document.querySelector('canvas[data-game-id=\"{game_id}\"]')"
        f".dataset.round) >= {first + 2}",
        timeout=15_000,
    )
    colours = set(boards.drawn(canvas)["cells"].values())
    for kind in ("head0", "head1", "apple", "empty"):
        assert sitelib.COLOURS[kind] in colours, kind
    card = page.locator(f'.live-card[data-game-id="{game_id}"]')
    expect(card).to_contain_text("slow-fake")
    expect(card.locator(f'a[href="/games/{game_id}"]')).to_be_visible()
    shoot(page, "live-running")  # the test's own screenshot comes after the cancel

    workers.dispatch("cancel", batch["batch_id"])
    expect(canvas).to_have_count(0, timeout=15_000)
    expect(page.locator("#live-empty")).to_be_visible()
