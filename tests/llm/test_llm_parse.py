from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snakebench.engine import Direction
from snakebench.players.parse import parse_move

UP, DOWN, LEFT, RIGHT = Direction.UP, Direction.DOWN, Direction.LEFT, Direction.RIGHT


@pytest.mark.parametrize(
    ("text", "move", "method"),
    [
        # The final line wins over anything said before it.
        ("I considered UP and LEFT.\nRIGHT", RIGHT, "final_line"),
        ("Going left first...\n\nDOWN\n\n   \n", DOWN, "final_line"),
        # Markdown and punctuation around the word.
        ("reasoning\n**UP**", UP, "final_line"),
        ("reasoning\nMove: left.", LEFT, "final_line"),
        ("reasoning\n`DOWN`", DOWN, "final_line"),
        ("reasoning\n> Final answer: *Right*!", RIGHT, "final_line"),
        ("reasoning\n## up", UP, "final_line"),
        # Several directions on the last line: the last one named there wins.
        ("x\nNot UP, not LEFT, but DOWN", DOWN, "final_line"),
        ("LEFT or RIGHT? RIGHT", RIGHT, "final_line"),
        # Windows line endings and unicode line separators.
        ("think\r\nthink more\r\nLEFT\r\n", LEFT, "final_line"),
        ("go up\u2028that is all", UP, "fallback"),
        # Whole words only: DOWNTOWN, upset, UPWARD, move_up are not moves.
        ("DOWNTOWN", None, "none"),
        ("I am upset about the LEFTOVERS\nUPWARD", None, "none"),
        ("move_up", None, "none"),
        ("I will go UP.\nDOWNTOWN", UP, "fallback"),
        # Nothing usable on the final line: the last direction anywhere.
        ("First RIGHT, then maybe DOWN.\nThat is my answer.", DOWN, "fallback"),
        ("LEFT\nI'm confident.", LEFT, "fallback"),
        # No move at all.
        ("I am not sure yet.", None, "none"),
        ('{"error": "the model had a hiccup"}', None, "none"),
        ("", None, "none"),
        ("   \n\t\n", None, "none"),
        # Look-alike letters never make a move (dotless i, Turkish dotted I).
        ("R\u0131GHT", None, "none"),
        ("R\u0130ght", None, "none"),
        ("déjà vu, then up", UP, "final_line"),
    ],
)
def test_parse_move_table(text: str, move: Direction | None, method: str) -> None:
    assert parse_move(text) == (move, method)


def test_huge_reply_is_parsed_fast_and_reads_the_final_line() -> None:
    text = ("UPDOWN LEFTRIGHT " * 200_000) + "\n" + ("x" * 1_000_000) + "\nleft"
    started = time.perf_counter()
    assert parse_move(text) == (LEFT, "final_line")
    assert parse_move(text[: -len("\nleft")]) == (None, "none")
    assert time.perf_counter() - started < 2.0


def test_pathological_inputs_stay_linear() -> None:
    # Many near-misses ("UPU...", "DOW") that would hurt a backtracking pattern.
    text = "U" * 500_000 + "DOW" * 200_000 + "\n" + "RIGH" * 200_000
    started = time.perf_counter()
    assert parse_move(text) == (None, "none")
    assert time.perf_counter() - started < 2.0


@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    move, method = parse_move(text)
    assert method in ("final_line", "fallback", "none")
    assert (move is None) == (method == "none")
