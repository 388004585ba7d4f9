"""Text from models, providers, replay files and the database reaches the operator's
terminal as written and nothing more: no escape sequence in it retitles, clears or
recolours the terminal, no Rich markup in it becomes a style or a hyperlink, and names
are checked on the way in (issue 15, "terminal safety")."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from snakebench.cli.terminal import SafeConsole, clean, frame_view
from snakebench.engine import Rules, new_game
from snakebench.store import Model, open_store

from .conftest import Invoke

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "upstream-replays").glob("*.json"))
MARKUP = "[link=https://evil.example]click[/link][red]x[/red]"
# A window title (OSC 0), clear screen, a colour (CSI), an 8-bit CSI, a bell, a
# right-to-left override, then markup.
HOSTILE = f"\x1b]0;PWNED\x1b\\\x1b[2J\x1b[31mred\x9b2J\x07\u202eevil {MARKUP}"
CONTROLS = ("\x1b", "\x9b", "\x07", "\u202e")


def assert_inert(output: str) -> None:
    """No control character of the hostile text, and its markup shown literally."""
    for char in CONTROLS:
        assert char not in output, f"{char!r} reached the terminal: {output[-500:]!r}"
    assert MARKUP in output, output[-2000:]


def test_clean_keeps_text_and_layout_and_drops_controls() -> None:
    assert clean("naïve 🐍\ttab\nline") == "naïve 🐍\ttab\nline"
    assert clean(HOSTILE) == f"]0;PWNED\\[2J[31mred2Jevil {MARKUP}"


def test_a_frame_on_a_real_terminal_carries_only_our_styles() -> None:
    """What `snakebench play` and `replay show` draw, on a terminal: rich's own colour
    codes (SGR, ``ESC [ ... m``) and nothing of the model's."""
    state = new_game(Rules(width=6, height=5), 1, ("0", "1"))
    moves = {"0": {"move": "UP", "rationale": HOSTILE}, "1": {"move": HOSTILE, "rationale": ""}}
    sink = io.StringIO()
    console = SafeConsole(file=sink, force_terminal=True, color_system="truecolor", width=200)
    console.print(frame_view(state, Rules(width=6, height=5), {"0": HOSTILE, "1": "b"}, moves))
    output = sink.getvalue()
    assert "\x1b]" not in output and "\x1b[2J" not in output and "\x9b" not in output
    assert "\x1b[31m" not in output and "\u202e" not in output and "\x07" not in output
    assert "]8;" not in output  # no OSC 8 hyperlink from the markup
    assert "[link=https://evil.example]click[/link]" in output


def test_replay_show_prints_hostile_names_and_rationales_inertly(
    cli: Invoke, tmp_path: Path
) -> None:
    data = json.loads(FIXTURES[0].read_text())
    data["players"]["0"]["name"] = HOSTILE
    data["frames"][0]["moves"]["0"]["rationale"] = HOSTILE
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    result = cli("replay", "show", str(path), "--delay", "0")
    assert result.exit_code == 0, result.output
    assert_inert(result.output)


@pytest.fixture
def hostile_model(cli: Invoke) -> str:
    """A bot stored under the hostile name, as only a direct database write (or a row
    from before names were checked) can store it, that has played a game."""
    cli("models", "list")  # creates the database and the bots
    open_store()
    Model.create(name=HOSTILE, provider="bot", model_slug="greedy")
    return HOSTILE


def test_play_models_list_and_leaderboard_show_a_hostile_name_inertly(
    cli: Invoke, hostile_model: str
) -> None:
    played = cli("play", hostile_model, "random", "--seed", "1", "--max-rounds", "5")
    assert played.exit_code == 0, played.output
    assert_inert(played.output)
    for command in (["models", "list"], ["leaderboard"], ["models", "show", hostile_model]):
        result = cli(*command)
        assert result.exit_code == 0, (command, result.output)
        for char in CONTROLS:
            assert char not in result.output, (command, char)


def test_an_error_naming_a_hostile_model_is_one_inert_line(cli: Invoke) -> None:
    result = cli("play", f"ghost{HOSTILE}", "random")
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: unknown model")
    assert_inert(line)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("evil\x1b[2J", "not printable"),
        ("two\nlines", "not printable"),
        ("rtl\u202eoverride", "not printable"),
        ("n" * 129, "129 characters long; at most 128"),
    ],
)
def test_models_add_refuses_names_a_terminal_would_not_show_as_written(
    cli: Invoke, name: str, reason: str
) -> None:
    result = cli("models", "add", name, "--provider", "openai", "--model", "m")
    assert result.exit_code == 2 and reason in result.output
    assert len(result.output.strip().splitlines()) == 1
    slug = cli("models", "add", "fine", "--provider", "openai", "--model", name)
    assert slug.exit_code == 2 and reason in slug.output


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "ftp://host/x", "http://", "not a url"]
)
def test_base_urls_are_http_or_https_only(cli: Invoke, url: str) -> None:
    result = cli("models", "add", "m", "--provider", "openai-compatible", "--model", "m",
                 "--base-url", url)  # fmt: skip
    assert result.exit_code == 2 and "base_url must be an http:// or https:// URL" in result.output
