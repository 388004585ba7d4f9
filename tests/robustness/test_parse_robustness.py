"""The reply parser never raises, whatever a model sends back, and says how it read it."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snakebench.engine import DIRECTIONS, Direction
from snakebench.players.parse import parse_move

PROFILE = settings.get_profile("robustness")
METHODS = ("final_line", "fallback", "none")
WORDS = [str(d) for d in DIRECTIONS]


def words(text: str) -> list[str]:
    """The direction words of ``text``, read independently of the parser's regex:
    split at every non-word character (Unicode's), keep ASCII tokens naming a
    direction in any case."""
    return [t.upper() for t in re.split(r"\W+", text) if t.isascii() and t.upper() in WORDS]


# Every code point, lone surrogates and control characters included.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
WHITESPACE = " \t" + LINE_BREAKS + "\u00a0\u1680\u2000\u2003\u200a\u202f\u205f\u3000"
# Text rich in near-misses: direction words, their prefixes and suffixes, breaks.
PIECES = st.sampled_from(
    [*WORDS, "up", "Down", "lEfT", "DOWNTOWN", "upset", "_", "UP_", "\u0131", "\u017f", "é", "1",
     " ", ".", "*", "`", *LINE_BREAKS]
)  # fmt: skip
NEAR_MISS = st.lists(st.one_of(PIECES, st.text(ANY_CHAR, max_size=3)), max_size=30).map("".join)


def check_consistent(text: str) -> tuple[Direction | None, str]:
    """``parse_move(text)`` returns a move exactly when its method is not ``none``,
    and the method matches where a direction word is in the text."""
    move, method = parse_move(text)
    assert method in METHODS
    assert (move is not None) == (method != "none")
    if move is not None:
        assert isinstance(move, Direction)
    stripped = text.rstrip()
    lines = stripped.splitlines()
    final = lines[-1] if lines else ""
    if method == "final_line":
        assert words(final)[-1] == move
    elif method == "fallback":
        assert not words(final)
        assert words("\n".join(lines[:-1]))[-1] == move
    else:
        assert not words(stripped)
    return move, method


@settings(PROFILE, max_examples=300)
@given(st.text(ANY_CHAR, max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    check_consistent(text)


@settings(PROFILE, max_examples=300)
@given(NEAR_MISS)
def test_near_misses_are_consistent(text: str) -> None:
    check_consistent(text)


@settings(PROFILE, max_examples=200)
@given(
    st.text(ANY_CHAR, max_size=100),
    st.sampled_from(WORDS),
    st.sampled_from([str.upper, str.lower, str.capitalize, str.swapcase]),
    st.text(WHITESPACE, max_size=5),
)
def test_final_line_that_is_a_direction_wins(
    prefix: str, word: str, case: object, trailing: str
) -> None:
    """Whatever came before, a reply whose last line is exactly a direction is that
    direction, read from the final line."""
    written = case(word)  # type: ignore[operator]
    assert parse_move(f"{prefix}\n{written}{trailing}") == (Direction(word), "final_line")
    assert parse_move(f"{prefix}\r\n{written}") == (Direction(word), "final_line")


@settings(PROFILE, max_examples=100)
@given(st.text(WHITESPACE, max_size=50))
def test_empty_and_whitespace_only_replies_have_no_move(text: str) -> None:
    assert parse_move(text) == (None, "none")


@pytest.mark.parametrize("value", [None, b"UP", 1, 1.5, ["UP"], {"move": "UP"}, Direction.UP])
def test_non_text_replies_never_raise(value: object) -> None:
    move, method = parse_move(value)  # type: ignore[arg-type]
    assert method in METHODS and (move is None) == (method == "none")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (None, "none")),
        ("DOWNTOWN", (None, "none")),
        ("downtown\nUPSET\nLEFTOVER RIGHTS", (None, "none")),
        ("UP DOWN LEFT RIGHT", (Direction.RIGHT, "final_line")),
        ("RIGHT\nLEFT\nDOWN\nUP and then LEFT", (Direction.LEFT, "final_line")),
        ("UP\nDOWN\nno idea", (Direction.DOWN, "fallback")),
        ("\x00UP\x00", (Direction.UP, "final_line")),
        ("UP\x1c", (Direction.UP, "final_line")),  # a file separator is a line break
        ("\ud800UP\udfff", (Direction.UP, "final_line")),  # lone surrogates
        ("\uff35\uff30", (None, "none")),
        (
            "UP\u00aa",
            (None, "none"),
        ),  # a Unicode letter glued on makes another word  # fullwidth UP is not an ASCII word
    ],
)
def test_examples(text: str, expected: tuple[Direction | None, str]) -> None:
    assert parse_move(text) == expected
    check_consistent(text)


MB = 1 << 20
HUGE = [
    ("1 MB of DOWNTOWN", "DOWNTOWN " * (MB // 9), (None, "none")),
    ("1 MB of one letter", "u" * MB, (None, "none")),
    ("1 MB of upupup", "up" * (MB // 2), (None, "none")),
    ("1 MB of newlines then LEFT", "\n" * MB + "LEFT", (Direction.LEFT, "final_line")),
    ("UP then 1 MB of noise", "UP\n" + "x" * MB, (Direction.UP, "fallback")),
    ("1 MB of directions on one line", "up down " * (MB // 8), (Direction.DOWN, "final_line")),
    ("1 MB of short lines", "no\n" * (MB // 3), (None, "none")),
    ("1 MB of control characters", "\x00\x01\x1b[" * (MB // 4), (None, "none")),
    ("1 MB of lone surrogates", "\ud800" * MB, (None, "none")),
]


@pytest.mark.parametrize(("name", "text", "expected"), HUGE, ids=[h[0] for h in HUGE])
def test_huge_replies_are_parsed_quickly(
    name: str, text: str, expected: tuple[Direction | None, str]
) -> None:
    started = time.perf_counter()
    result = parse_move(text)
    elapsed = time.perf_counter() - started
    assert result == expected, name
    assert elapsed < 5, f"{name}: {elapsed:.1f} s"  # a hang check, not a benchmark
