"""The README's screenshots of the web app, taken from a real site:

    python scripts/screenshots.py [--out docs/screenshots] [--only NAME ...]

A round robin of the three bots and two fake-LLM models (the project's fake LLM
server, no API key) is played by real ``rq worker`` processes, the web app is served
as the Procfile says, and Debian's chromium (through Playwright) saves
``leaderboard.png`` (the leaderboard, /), ``replay.png`` (the replay viewer,
/games/<id>, part-way through a fake-LLM game), ``audit.png`` (/audit, one game
undone), ``live-thoughts.png`` (a slow fake-LLM game followed on /live/<id> while a
worker plays it), ``model-page.png`` (a fake-LLM model's page, /models/<name>, with
its games) and ``board-preview.png`` (a game's social preview image). The set-up is
the browser tests'
(``scripts/browser_site.py``): it claims a free database of the Redis on 127.0.0.1:6379
and flushes it when done.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_site import ROOT, Site, launch_options

MODELS = ("greedy", "survivor", "random", "fake-greedy", "fake-survivor")
VIEWPORT = {"width": 1280, "height": 1000}
REPLAY_ROUND = 24  # the replay is shown after this many rounds


def populate(site: Site) -> str:
    """Play the round robin; the id of the longest fake-LLM v fake-LLM game."""
    site.add_fake_model("fake-greedy", "fake/greedy")
    site.add_fake_model("fake-survivor", "fake/survivor")
    site.cli(
        "tournament", *MODELS, "--games-per-pair", "4", "--mirror", "--seed", "41",
        "--max-rounds", "100", "--json",
    )  # fmt: skip
    site.start_workers(4, burst=True)
    site.wait_workers(timeout=600)
    rows = site.sql(
        """SELECT g.id FROM games g
           JOIN participants p0 ON p0.game_id = g.id AND p0.slot = 0
           JOIN participants p1 ON p1.game_id = g.id AND p1.slot = 1
           JOIN models m0 ON m0.id = p0.model_id
           JOIN models m1 ON m1.id = p1.model_id
           WHERE g.status = 'completed' AND m0.name = 'fake-survivor' AND m1.name = 'fake-greedy'
           ORDER BY g.rounds DESC, g.seed LIMIT 1"""
    )
    if not rows:
        raise SystemExit("no completed fake-survivor v fake-greedy game to show")
    game_id: str = rows[0][0]
    return game_id


def save(page: Page, out: Path, name: str, *, full_page: bool) -> None:
    path = out / name
    page.screenshot(path=str(path), full_page=full_page)
    wrote(path)


def wrote(path: Path) -> None:
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def shoot_leaderboard(page: Page, site: Site, game_id: str, out: Path) -> None:
    page.goto("/")
    page.locator("table#leaderboard").wait_for()
    save(page, out, "leaderboard.png", full_page=True)  # the table and the chart


def shoot_replay(page: Page, site: Site, game_id: str, out: Path) -> None:
    page.goto(f"/games/{game_id}")
    page.locator("canvas#board[data-ready=true]").wait_for()
    page.locator("#scrub").fill(str(REPLAY_ROUND))
    page.wait_for_function(
        f"() => document.getElementById('board').dataset.round === '{REPLAY_ROUND}'"
    )
    page.evaluate("() => window.scrollTo(0, 0)")  # the scrub scrolled the page
    save(page, out, "replay.png", full_page=False)  # the board and its controls


def shoot_audit(page: Page, site: Site, game_id: str, out: Path) -> None:
    """The audit log with one game undone (then restored, so the shots after this one
    see the site as it was)."""
    undone = site.sql(
        "SELECT id FROM games WHERE status = 'completed' AND id <> ? ORDER BY seed, id LIMIT 1",
        game_id,
    )[0][0]
    site.cli("games", "undo", undone, "--by", "ops", "--reason", "provider outage mid-game")
    page.goto("/audit")
    page.locator("table#audit").wait_for()
    save(page, out, "audit.png", full_page=False)
    site.cli("games", "restore", undone, "--by", "ops", "--reason", "screenshot taken")


# The live page's game: two fake models answering in 0.5 to 3.5 s; it is shown when one
# has answered while the other is still awaited.
THINKING = FakeOptions(seed=12, latency_ms=2000, jitter_ms=1500)
SHOWN_WAIT = 2  # seconds the awaited model has been thinking in the screenshot
SHOWN_ROUND = 5  # at least this many rounds played
_THOUGHTS_SHOWN = f"""() => {{
  const boxes = [...document.querySelectorAll("section.thought")];
  const waits = boxes.map(box => box.querySelector(".waiting"));
  return Number(document.getElementById("board").dataset.round) >= {SHOWN_ROUND}
    && boxes.every(box => box.querySelector(".rationale").textContent.trim())
    && waits.some(wait => wait.hidden)
    && waits.some(wait => Number(wait.dataset.seconds) >= {SHOWN_WAIT});
}}"""


def shoot_live(page: Page, site: Site, game_id: str, out: Path) -> None:
    """/live/<id> while a worker plays a slow fake-LLM game: both models' latest
    rationales, and how long the one being waited for has been thinking."""
    with FakeLLMServer(THINKING) as server:
        site.add_fake_model("slow-greedy", "fake/greedy", on=server)
        site.add_fake_model("slow-survivor", "fake/survivor", on=server)
        live_id = site.submit_game("slow-survivor", "slow-greedy", seed=77, max_rounds=60)
        site.start_workers(1)
        try:
            page.goto(f"/live/{live_id}")
            page.wait_for_function(_THOUGHTS_SHOWN, timeout=120_000)
            save(page, out, "live-thoughts.png", full_page=False)
        finally:
            site.stop_workers()


def shoot_model(page: Page, site: Site, game_id: str, out: Path) -> None:
    page.goto("/models/fake-survivor")
    page.locator("table#recent-games").wait_for()
    save(page, out, "model-page.png", full_page=True)  # the record, the chart, its games


def shoot_board_preview(page: Page, site: Site, game_id: str, out: Path) -> None:
    """The game page's social preview image (og:image), as a link's card shows it."""
    image = page.locator('meta[property="og:image"]')
    page.goto(f"/games/{game_id}")
    url = image.get_attribute("content")
    if not url:
        raise SystemExit(f"game {game_id}'s page has no og:image")
    page.goto(url)
    page.locator("img").wait_for()
    page.locator("img").screenshot(path=str(out / "board-preview.png"))
    wrote(out / "board-preview.png")


# Each screenshot by name, in the order they are taken; ``--only`` picks some. A new
# screenshot is one function here: (page, site, the shown game's id, the directory).
SHOTS: dict[str, Callable[[Page, Site, str, Path], None]] = {
    "leaderboard": shoot_leaderboard,
    "replay": shoot_replay,
    "audit": shoot_audit,
    "live": shoot_live,
    "model": shoot_model,
    "board-preview": shoot_board_preview,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--only", action="append", choices=sorted(SHOTS), help="take only this one (repeatable)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [name for name in SHOTS if not args.only or name in args.only]
    started = time.monotonic()
    with Site() as site:
        game_id = populate(site)
        site.serve()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**launch_options())
            context = browser.new_context(
                base_url=site.base_url, viewport=VIEWPORT, device_scale_factor=1
            )
            page = context.new_page()
            for name in chosen:
                SHOTS[name](page, site, game_id, args.out)
            browser.close()
    print(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
