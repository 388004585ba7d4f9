"""Browser tests: Playwright for Python driving Debian's chromium against the real
site of ``scripts/browser_site.py`` (gunicorn as the Procfile runs it, real ``rq
worker`` processes, a free database of the Redis on 127.0.0.1:6379 claimed for the
session, a SQLite database built by real batches, the fake LLM server in this
process).

Without chromium, Playwright or Redis the tests skip, saying which is missing; under
``CI=true`` they fail instead. Each test's last page is saved as
``test-artifacts/screenshots/<test name>.png``; ``shoot(name)`` saves more.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest
import redis

from snakebench.queueing import QueueError

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}

pytestmark = pytest.mark.slow


def unavailable(reason: str) -> NoReturn:
    """Skip on a laptop without the browser or Redis; under CI that is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _load_site_module() -> ModuleType:
    """``scripts/browser_site.py``, the set-up shared with ``scripts/screenshots.py``."""
    name = "snakebench_browser_site"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "browser_site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sitelib() -> ModuleType:
    """The helper module: constants (colours, the hostile payload) and :class:`Site`."""
    return _load_site_module()


@pytest.fixture(scope="session")
def site(sitelib: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The populated site, served; one per session (building it takes ~20 s)."""
    the_site = sitelib.Site(tmp_path_factory.mktemp("site"))
    try:
        the_site.open()
    except (redis.RedisError, QueueError) as exc:
        the_site.close()
        unavailable(f"Redis at {sitelib.REDIS_SERVER_URL} unavailable: {exc}")
    try:
        the_site.populate()
        the_site.serve()
    except BaseException:
        print(the_site.worker_logs(), the_site.web_log(), sep="\n", file=sys.stderr)
        the_site.close()
        raise
    try:
        yield the_site
    finally:
        the_site.close()


@pytest.fixture(scope="session")
def browser(sitelib: ModuleType) -> Iterator[Any]:
    """Debian's chromium, launched once for the session."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        unavailable(f"Playwright for Python is not installed ({exc}): pip install -e '.[test]'")
    if not os.access(sitelib.CHROMIUM, os.X_OK):
        unavailable(f"no chromium at {sitelib.CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(**sitelib.launch_options())
        except Error as exc:
            unavailable(f"chromium at {sitelib.CHROMIUM} does not start: {exc}")
        try:
            yield chromium
        finally:
            chromium.close()


def _file_name(test_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", test_name)


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """``shoot(page, name)``: a full-page screenshot to test-artifacts/screenshots."""

    def save(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{_file_name(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def device_scale_factor() -> float:
    """Override (parametrize) to render at another devicePixelRatio."""
    return 1


@pytest.fixture
def page(
    browser: Any,
    site: Any,
    request: pytest.FixtureRequest,
    shoot: Callable[[Any, str], Path],
    device_scale_factor: float,
) -> Iterator[Any]:
    """A fresh browser context and page on the site (``page.goto("/")`` works).

    Afterwards: the page is screenshotted, and the test fails if the page ran
    ``window.__pwned`` (the hostile rationale's script) or logged a JavaScript error.
    """
    context = browser.new_context(
        base_url=site.base_url, viewport=VIEWPORT, device_scale_factor=device_scale_factor
    )
    context.set_default_timeout(15_000)
    the_page = context.new_page()
    errors: list[str] = []
    the_page.on("pageerror", lambda exc: errors.append(f"{the_page.url}: {exc}"))
    the_page.on(
        "console",
        lambda msg: (
            errors.append(f"{the_page.url}: console.{msg.type}: {msg.text}")
            if msg.type == "error" and "favicon" not in (msg.location or {}).get("url", "")
            else None
        ),
    )
    try:
        yield the_page
        shoot(the_page, request.node.name)
        pwned = the_page.evaluate("() => window.__pwned")
        assert pwned is None, f"{the_page.url} ran the rationale's script (__pwned={pwned})"
        assert not errors, "\n".join(errors)
    finally:
        context.close()


@pytest.fixture
def workers(site: Any) -> Iterator[Any]:
    """The site, for a test that starts ``rq worker`` processes: every worker (and
    work horse) it started is stopped afterwards, by pid."""
    try:
        yield site
    finally:
        site.stop_workers()


@pytest.fixture
def other_origin() -> Iterator[Callable[[bytes], str]]:
    """``other_origin(html)``: serves the page on a new origin, ``http://localhost:PORT``
    (localhost, not 127.0.0.1: another origin than the site even on this machine, and
    each call another port); its URL. Every server is stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def serve(body: bytes) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://localhost:{server.server_address[1]}/"

    try:
        yield serve
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


# --- reading boards off a canvas ---------------------------------------------------------

# The colour of every cell of a board canvas, sampled at cell centres. Coordinates follow
# the canvas's data attributes (data-cell px per cell, data-width/-height in cells,
# data-y-up); the scale between the canvas's pixel size and width x cell covers a canvas
# sized for devicePixelRatio as well as one that is not.
_READ_BOARD = """canvas => {
  const cell = Number(canvas.dataset.cell), w = Number(canvas.dataset.width),
        h = Number(canvas.dataset.height), up = canvas.dataset.yUp === "true";
  const sx = canvas.width / (w * cell), sy = canvas.height / (h * cell);
  const ctx = canvas.getContext("2d");
  const hex = v => v.toString(16).padStart(2, "0");
  const cells = {};
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const row = up ? h - 1 - y : y;
      const px = Math.floor((x * cell + cell / 2) * sx);
      const py = Math.floor((row * cell + cell / 2) * sy);
      const d = ctx.getImageData(px, py, 1, 1).data;
      cells[x + "," + y] = "#" + hex(d[0]) + hex(d[1]) + hex(d[2]);
    }
  }
  return {cells, round: canvas.dataset.round, width: w, height: h,
          dpr: window.devicePixelRatio, scale: sx};
}"""


class Boards:
    """Boards as the canvas draws them and as a replay state says they must look."""

    def __init__(self, colours: dict[str, str]) -> None:
        self.colours = colours

    def drawn(self, canvas: Any) -> dict[str, Any]:
        """``{"cells": {"x,y": "#rrggbb"}, "round": ..., "width", "height", ...}``."""
        result: dict[str, Any] = canvas.evaluate(_READ_BOARD)
        return result

    def expected(self, state: dict[str, Any], width: int, height: int) -> dict[str, str]:
        """Every cell's colour for ``state``: empty, then apples, bodies, heads on top,
        snakes in id order (the drawing order of the contract in static/board.js)."""
        c = self.colours
        cells = {f"{x},{y}": c["empty"] for x in range(width) for y in range(height)}

        def put(cell: list[int], colour: str) -> None:
            x, y = cell
            if 0 <= x < width and 0 <= y < height:  # a head off the board (wall death)
                cells[f"{x},{y}"] = colour

        for apple in state.get("apples", []):
            put(apple, c["apple"])
        snakes = sorted(state.get("snakes", {}).items(), key=lambda item: int(item[0]))
        for sid, body in snakes:
            for part in body[1:]:
                put(part, c[f"body{sid}"])
        for sid, body in snakes:
            if body:
                put(body[0], c[f"head{sid}"])
        return cells

    def mismatches(self, canvas: Any, state: dict[str, Any], width: int, height: int) -> list[str]:
        """Cells whose drawn colour is not the state's, as readable lines."""
        drawn = self.drawn(canvas)
        assert (drawn["width"], drawn["height"]) == (width, height), drawn
        names = {colour: name for name, colour in self.colours.items()}
        want = self.expected(state, width, height)
        return [
            f"({cell}): drawn {got} ({names.get(got, '?')}), "
            f"want {want[cell]} ({names[want[cell]]})"
            for cell, got in sorted(drawn["cells"].items())
            if got != want[cell]
        ]


@pytest.fixture(scope="session")
def boards(sitelib: ModuleType) -> Boards:
    return Boards(sitelib.COLOURS)
