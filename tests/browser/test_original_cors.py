"""The original's frontend runs on another origin (its Next.js site) and reads
``/original/api`` from the browser: a page on a configured origin may (a simple GET,
and one with a header that needs a CORS preflight), a page on any other origin may
not. Real chromium, the real app served over HTTP, real bot games in the store."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from snakebench.config import Settings
from snakebench.services.batches import BatchSpec, create_batch_games, run_batch_sync
from snakebench.web import WebConfig, create_app

pytestmark = pytest.mark.slow

NAME = "SNAKEBENCH_ORIGINAL_CORS_ORIGINS"
# Both fetches, their outcome put in the title: the simple one, then one whose extra
# header makes the browser ask first (OPTIONS).
PAGE = """<!doctype html><html><body><script>
const api = "{api}/original/api";
async function read(path, headers) {{
  try {{
    const response = await fetch(api + path, {{headers}});
    return String(response.status) + ":" + (await response.json()).totalGames;
  }} catch (error) {{
    return "blocked";
  }}
}}
(async () => {{
  const plain = await read("/stats?simple=true", {{}});
  const preflighted = await read("/models", {{"X-Requested-With": "snakebench-frontend"}});
  document.title = "done " + plain + " " + preflighted;
}})();
</script></body></html>"""


@pytest.fixture
def api(store: Settings) -> Iterator[str]:
    """The app on a free loopback port over a store with two completed bot games."""
    batch = create_batch_games(BatchSpec("greedy", "random", count=2, seed=5, max_rounds=20))
    run_batch_sync(batch.id, settings=store)
    app = create_app(WebConfig(redis_url=store.redis_url, database_url=store.database_url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def frontend(api: str, other_origin: Callable[[bytes], str]) -> Callable[[], str]:
    """``frontend()``: a new origin serving the page that reads the API."""
    return lambda: other_origin(PAGE.format(api=api).encode())


def outcome(browser: Any, origin: str) -> str:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(origin)
        page.wait_for_function("() => document.title.startsWith('done')", timeout=15_000)
        title: str = page.title()
        return title
    finally:
        context.close()


def test_a_configured_origins_page_reads_the_api(
    browser: Any, frontend: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed, other = frontend(), frontend()
    monkeypatch.setenv(NAME, f"https://snakebench.com,{allowed.rstrip('/')}")
    assert outcome(browser, allowed) == "done 200:2 200:2"
    assert outcome(browser, other) == "done blocked blocked"


def test_no_origin_may_read_it_by_default(
    browser: Any, frontend: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(NAME, raising=False)
    assert outcome(browser, frontend()) == "done blocked blocked"
