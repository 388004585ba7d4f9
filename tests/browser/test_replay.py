"""The replay viewer, /games/<id>: stepping, scrubbing and playing draw exactly the
replay's frames (checked on the canvas pixels of every cell), the moves panel shows
the round's moves, and the events list the deaths."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def game(site: Any) -> dict[str, Any]:
    """A finished fake-LLM game (its moves carry rationales) and its replay as
    ``/api/games/<id>/replay`` serves it."""
    game_id = max(
        site.game_ids("fake"),
        key=lambda gid: len(site.get_json(f"/api/games/{gid}/replay")["frames"]),
    )
    replay = site.get_json(f"/api/games/{game_id}/replay")
    board = replay["game"]["board"]
    assert len(replay["frames"]) >= 8, "the test wants a game of several rounds"
    moves = [move for frame in replay["frames"] for move in frame["moves"].values()]
    assert any(move.get("reasoning") for move in moves), "fake-greedy's summaries are missing"
    return {"id": game_id, "replay": replay, "width": board["width"], "height": board["height"]}


def state_at(replay: dict[str, Any], position: int) -> dict[str, Any]:
    """The board after ``position`` rounds: the initial state, then frame by frame."""
    if position == 0:
        state: dict[str, Any] = replay["initial_state"]
        return state
    frame_state: dict[str, Any] = replay["frames"][position - 1]["state"]
    return frame_state


def open_viewer(page: Any, game_id: str) -> Any:
    page.goto(f"/games/{game_id}")
    canvas = page.locator("canvas#board")
    expect(canvas).to_have_attribute("data-ready", "true")
    return canvas


def check_position(page: Any, boards: Any, game: dict[str, Any], position: int) -> None:
    canvas = page.locator("canvas#board")
    expect(canvas).to_have_attribute("data-round", str(position))
    expect(page.locator("#round")).to_have_attribute("data-round", str(position))
    expect(page.locator("#scrub")).to_have_value(str(position))
    state = state_at(game["replay"], position)
    wrong = boards.mismatches(canvas, state, game["width"], game["height"])
    assert not wrong, f"position {position}:\n" + "\n".join(wrong)
    if position == 0:
        return
    moves = game["replay"]["frames"][position - 1]["moves"]
    for slot, move in moves.items():
        shown = page.locator(f'#moves [data-slot="{slot}"]')
        expect(shown).to_contain_text(move["move"])
        expect(shown.locator(":scope > pre.rationale")).to_have_text(move["rationale"])
        if "reasoning" in move:  # the Responses-API model's summary, shown apart
            expect(shown.locator("details.reasoning pre")).to_have_text(move["reasoning"])


@pytest.mark.parametrize("device_scale_factor", [1, 2])
def test_stepping_draws_each_frame_of_the_replay(
    page: Any, boards: Any, game: dict[str, Any], device_scale_factor: float
) -> None:
    open_viewer(page, game["id"])
    assert page.evaluate("window.devicePixelRatio") == device_scale_factor
    check_position(page, boards, game, 0)
    for position in range(1, 7):
        page.click("button#step-forward")
        check_position(page, boards, game, position)
    for position in (5, 4):
        page.click("button#step-back")
        check_position(page, boards, game, position)


def test_a_board_has_snakes_apples_and_empty_cells(
    page: Any, boards: Any, game: dict[str, Any], sitelib: Any
) -> None:
    """The colour check above means something: a frame shows every kind of cell."""
    canvas = open_viewer(page, game["id"])
    for _ in range(5):
        page.click("button#step-forward")
    colours = set(boards.drawn(canvas)["cells"].values())
    for kind in ("head0", "body0", "head1", "body1", "apple", "empty"):
        assert sitelib.COLOURS[kind] in colours, kind


def test_scrubbing_to_the_end_and_back(page: Any, boards: Any, game: dict[str, Any]) -> None:
    open_viewer(page, game["id"])
    last = len(game["replay"]["frames"])
    expect(page.locator("#scrub")).to_have_attribute("max", str(last))
    page.locator("#scrub").fill(str(last))
    check_position(page, boards, game, last)
    expect(page.locator("#round")).to_contain_text(f"{last} / {last}")
    page.click("button#step-forward")  # nothing beyond the last frame
    check_position(page, boards, game, last)
    page.locator("#scrub").fill("3")
    check_position(page, boards, game, 3)
    page.keyboard.press("ArrowRight")
    check_position(page, boards, game, 4)


def test_play_pause_and_speed(page: Any, boards: Any, game: dict[str, Any]) -> None:
    canvas = open_viewer(page, game["id"])
    page.select_option("select#speed", "8")
    page.click("button#play")
    page.wait_for_function(
        "() => Number(document.getElementById('board').dataset.round) >= 5", timeout=10_000
    )
    page.click("button#pause")
    paused = int(canvas.get_attribute("data-round"))
    page.wait_for_timeout(600)  # several 8x ticks (62 ms each)
    assert int(canvas.get_attribute("data-round")) == paused
    check_position(page, boards, game, paused)
    page.click("button#play")  # plays on from there, to the end
    last = len(game["replay"]["frames"])
    expect(canvas).to_have_attribute("data-round", str(last), timeout=20_000)
    check_position(page, boards, game, last)


def test_events_list_the_deaths(page: Any, site: Any) -> None:
    """A game that ended in a death: #events names it as the replay records it."""
    rows = site.sql(
        "SELECT game_id FROM participants WHERE death_reason IS NOT NULL ORDER BY game_id LIMIT 1"
    )
    assert rows, "some populated game should end in a death"
    game_id = rows[0][0]
    replay = site.get_json(f"/api/games/{game_id}/replay")
    deaths = replay["metadata"]["death_info"]
    assert deaths, replay["metadata"]
    open_viewer(page, game_id)
    events = page.locator("#events li[data-reason]")
    expect(events).to_have_count(len(deaths))
    for slot, info in deaths.items():
        event = page.locator(f'#events li[data-slot="{slot}"]')
        expect(event).to_have_attribute("data-reason", info["reason"])
        expect(event).to_contain_text(f"round {info['round']}")
