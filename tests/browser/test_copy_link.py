"""The replay page's "Copy link" button in chromium: the game's address lands on the
clipboard through navigator.clipboard, through the textarea-and-execCommand fallback
when the browser offers no clipboard API, and is shown selected for a copy by hand
when both fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

NO_CLIPBOARD_API = (
    "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
)
NO_COPY_COMMAND = "document.execCommand = () => false;"


@pytest.fixture(scope="module")
def game_id(site: Any) -> str:
    ids: list[str] = site.game_ids("fake")
    return ids[0]


@pytest.fixture
def clipboard_page(browser: Any, site: Any) -> Iterator[Any]:
    """A second page of a fresh context allowed to read the clipboard (the page under
    test may have no clipboard API), and the context to open the page under test in."""
    context = browser.new_context(base_url=site.base_url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base_url)
    reader = context.new_page()
    reader.goto("/healthz")
    try:
        yield reader
    finally:
        context.close()


def read_clipboard(reader: Any) -> str:
    reader.bring_to_front()
    text: str = reader.evaluate("() => navigator.clipboard.readText()")
    return text


def open_game(context: Any, game_id: str, *scripts: str) -> Any:
    page = context.new_page()
    for script in scripts:
        page.add_init_script(script)
    page.goto(f"/games/{game_id}")
    expect(page.locator("#copy-link")).to_be_visible()
    return page


def test_copy_link_uses_the_clipboard_api(
    clipboard_page: Any, site: Any, game_id: str, shoot: Any
) -> None:
    page = open_game(clipboard_page.context, game_id)
    page.locator("#copy-link").click()
    expect(page.locator("#copy-link")).to_have_attribute("data-copied", "clipboard")
    expect(page.locator("#copy-link-status")).to_have_text("Link copied.")
    shoot(page, "copy-link-clipboard")
    assert read_clipboard(clipboard_page) == f"{site.base_url}/games/{game_id}"


def test_copy_link_falls_back_to_the_copy_command(
    clipboard_page: Any, site: Any, game_id: str
) -> None:
    page = open_game(clipboard_page.context, game_id, NO_CLIPBOARD_API)
    assert page.evaluate("() => navigator.clipboard") is None
    page.locator("#copy-link").click()
    expect(page.locator("#copy-link")).to_have_attribute("data-copied", "fallback")
    expect(page.locator("#copy-link-status")).to_have_text("Link copied.")
    assert page.locator("textarea").count() == 0  # the helper textarea is gone again
    assert read_clipboard(clipboard_page) == f"{site.base_url}/games/{game_id}"


def test_copy_link_shows_the_address_when_nothing_copies(
    clipboard_page: Any, site: Any, game_id: str
) -> None:
    page = open_game(clipboard_page.context, game_id, NO_CLIPBOARD_API, NO_COPY_COMMAND)
    manual = page.locator("#copy-link-manual")
    expect(manual).to_be_hidden()
    page.locator("#copy-link").click()
    expect(page.locator("#copy-link")).to_have_attribute("data-copied", "manual")
    expect(manual).to_be_visible()
    expect(manual).to_have_value(f"{site.base_url}/games/{game_id}")
    selected = page.evaluate(
        "() => { const m = document.getElementById('copy-link-manual');"
        " return m.value.substring(m.selectionStart, m.selectionEnd); }"
    )
    assert selected == f"{site.base_url}/games/{game_id}"
