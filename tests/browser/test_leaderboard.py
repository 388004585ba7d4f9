"""The leaderboard, /: every model that played, a rating chart, sortable columns, and
the way from a model to one of its games."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

PLAYED = {"greedy", "random", "survivor", "fake-greedy", "hostile"}

# A column's cells as the sort reads them: data-sort when present, else the text.
_COLUMN = """(table, index) => Array.from(table.tBodies[0].rows).map(row => {
  const cell = row.cells[index];
  return {model: row.dataset.model,
          value: cell.hasAttribute("data-sort") ? cell.dataset.sort : cell.textContent.trim(),
          name: row.cells[1].textContent.trim()};
})"""


def column(page: Any, header: str) -> list[dict[str, str]]:
    table = page.locator("table#leaderboard")
    headers = [text.strip() for text in table.locator("thead th").all_text_contents()]
    values: list[dict[str, str]] = table.evaluate(_COLUMN, headers.index(header))
    return values


def test_leaderboard_lists_the_models_with_a_rating_chart(page: Any) -> None:
    page.goto("/")
    rows = page.locator("table#leaderboard tbody tr[data-model]")
    models = set(rows.evaluate_all("rows => rows.map(row => row.dataset.model)"))
    assert models >= PLAYED, models
    chart = page.locator("svg#rating-chart")
    expect(chart).to_be_visible()
    for model in PLAYED:  # a dot and an interval per model
        expect(chart.locator(f'g[data-model="{model}"] circle')).to_have_count(1)
        expect(chart.locator(f'g[data-model="{model}"] line')).to_have_count(1)
    ranks = [int(row["value"]) for row in column(page, "Rank")]
    assert ranks == sorted(ranks), "rows start in rank order"


@pytest.mark.parametrize("header", ["Games", "Win rate", "Model"])
def test_clicking_a_header_sorts_by_it(page: Any, header: str) -> None:
    page.goto("/")
    before = column(page, header)
    th = page.locator("table#leaderboard thead th", has_text=re.compile(f"^{header}$"))
    th.click()
    expect(th).to_have_attribute("aria-sort", "ascending")
    ascending = column(page, header)
    th.click()
    expect(th).to_have_attribute("aria-sort", "descending")
    descending = column(page, header)

    def key(row: dict[str, str]) -> Any:
        return row["value"].casefold() if header == "Model" else float(row["value"])

    assert [key(r) for r in ascending] == sorted(key(r) for r in before)
    assert [key(r) for r in descending] == sorted((key(r) for r in before), reverse=True)
    for row in ascending + descending:  # whole rows move, not single cells
        assert row["name"] == row["model"], row
    assert sorted(r["model"] for r in ascending) == sorted(r["model"] for r in before)


def test_from_the_leaderboard_to_a_model_to_one_of_its_games(page: Any) -> None:
    page.goto("/")
    page.locator('table#leaderboard tr[data-model="fake-greedy"] a').first.click()
    expect(page).to_have_url(re.compile(r"/models/fake-greedy$"))
    expect(page.locator("#model-name")).to_have_text("fake-greedy")
    history = page.locator("svg#rating-history")
    expect(history).to_be_visible()
    assert int(history.get_attribute("data-points") or 0) == 4  # its four games
    expect(history.locator("circle[data-game-id]")).to_have_count(4)
    games = page.locator("table#recent-games tbody tr[data-game-id]")
    expect(games).to_have_count(4)
    first = games.first
    game_id = first.get_attribute("data-game-id")
    first.locator(f'a[href="/games/{game_id}"]').click()
    expect(page).to_have_url(re.compile(f"/games/{game_id}$"))
    expect(page.locator("canvas#board")).to_have_attribute("data-ready", "true")
    expect(page.locator("h1")).to_contain_text("fake-greedy")
