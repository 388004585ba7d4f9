"""Prompt variants: the default is today's prompt byte for byte, the minimal one keeps
what programs read (the game state block, the answer format) and drops the advice, a
template from a file renders its sections, and a bad template is refused in one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from snakebench.fakellm.board import read_board
from snakebench.players.base import Turn
from snakebench.players.prompt import ANSWER_FORMAT, DECISION_PROCESS, STATE_BEGIN, STATE_END
from snakebench.players.prompt_variants import (
    BUILTIN_VARIANTS,
    DEFAULT_VARIANT,
    MAX_TEMPLATE_BYTES,
    PromptVariantError,
    build_prompt,
    make_variant,
)

GOLDEN = Path(__file__).parent / "golden"
MakeTurn = Callable[..., Turn]
MINIMAL = BUILTIN_VARIANTS["minimal"]
# The golden files hold build_prompt's output from before variants existed, on
# conftest.py's sample turn.


def test_default_variant_is_the_prompt_of_before_variants_byte_for_byte(
    make_turn: MakeTurn,
) -> None:
    """The golden files are build_prompt's output from before variants existed."""
    first = DEFAULT_VARIANT.render(make_turn("1", double_death="tie"), None, None)
    assert first == (GOLDEN / "default_first_turn.txt").read_text(encoding="utf-8")
    later = build_prompt(
        make_turn("0", max_rounds=120, apple_target=25),
        "LEFT",
        "The apple at (1,1) looked close.\n{not a placeholder} 100%",
    )
    assert later == (GOLDEN / "default_with_previous.txt").read_text(encoding="utf-8")


def test_minimal_variant_keeps_state_and_answer_format_and_drops_the_advice(
    make_turn: MakeTurn,
) -> None:
    turn = make_turn(max_rounds=120, apple_target=25)
    minimal = MINIMAL.render(turn, "LEFT", "Going for (1,1).")
    default = DEFAULT_VARIANT.render(turn, "LEFT", "Going for (1,1).")
    state = default[default.index(STATE_BEGIN) : default.index(STATE_END) + len(STATE_END)]
    assert state in minimal
    assert minimal.endswith(ANSWER_FORMAT + "\n")
    assert "Your previous move: LEFT" in minimal and "Going for (1,1)." in minimal
    assert DECISION_PROCESS not in minimal and "HOW TO DECIDE" not in minimal
    assert len(minimal) < len(default) * 0.7
    for rule in ("reaches 25 points or after 120 turns", "(0,0) is bottom-left", "UP is y+1"):
        assert rule in minimal


def test_minimal_variant_states_the_double_death_policy_of_the_game(make_turn: MakeTurn) -> None:
    by_score = MINIMAL.render(make_turn(double_death="score"), None, None)
    as_tie = MINIMAL.render(make_turn(double_death="tie"), None, None)
    assert "if both died, the higher score wins." in by_score
    assert "if both died, it is a draw." in as_tie


def test_the_fake_provider_reads_the_board_of_a_minimal_prompt(make_turn: MakeTurn) -> None:
    turn = make_turn("1")
    board = read_board(MINIMAL.render(turn, None, None))
    assert board is not None and board.snake_id == "1"
    assert board.state.snakes == turn.state.snakes and board.state.apples == turn.state.apples


def test_a_template_from_a_file_renders_its_sections(make_turn: MakeTurn) -> None:
    variant = make_variant(
        "terse-json",
        "Snake {snake_id}, answer in {{braces}} never.\n{state}\n{rules_brief}\n{answer_format}",
    )
    prompt = variant.render(make_turn("1"), "UP", "secret plan")
    assert prompt.startswith("Snake 1, answer in {braces} never.\n=== GAME STATE ===")
    assert "Your snake: ID 1" in prompt and "- Equal scores are a draw." in prompt
    assert prompt.endswith(ANSWER_FORMAT)
    assert "secret plan" not in prompt  # no {previous}: the reply is not shown back
    assert variant.placeholders == {"snake_id", "state", "rules_brief", "answer_format"}


def test_a_variant_is_known_by_the_hash_of_its_text() -> None:
    one = make_variant("x", "{state}{answer_format}")
    assert one.sha == make_variant("y", "{state}{answer_format}").sha
    assert one.sha != make_variant("x", "{state} {answer_format}").sha
    assert len(one.sha) == 64


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{state}\n{answer_format}\n{strategy}", "unknown placeholder {strategy}; known: {intro}"),
        ("{state}\n{answer_format}\n{}", "unknown placeholder {}"),
        ("{rules}\n{answer_format}", "the template must hold {state}"),
        ("{state}\nAnswer UP.", "the template must hold {answer_format}"),
        ("{state}{state}{answer_format}", "{state} may appear only once"),
        ("{state}{previous}{previous}{answer_format}", "{previous} may appear only once"),
        ("{state:>20}{answer_format}", "{state} takes no conversion or format spec"),
        ("{state!r}{answer_format}", "{state} takes no conversion or format spec"),
        ("{state}{answer_format} }", "not a valid format string (Single '}' encountered"),
        ("{state}{answer_format} {intro", "not a valid format string"),
        ("  \n ", "the template is empty"),
        ("{state}\n\x1b[2J{answer_format}", "control character U+001B on line 2"),
        ("{state}{answer_format}" + "é" * MAX_TEMPLATE_BYTES, "at most 20,000 are allowed"),
    ],
)
def test_a_bad_template_is_refused_naming_the_problem(template: str, message: str) -> None:
    with pytest.raises(PromptVariantError) as refused:
        make_variant("bad", template)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("name", ["", "Upper", "-dash-first", "a b", "x" * 41, "ü"])
def test_a_bad_variant_name_is_refused(name: str) -> None:
    with pytest.raises(PromptVariantError, match="prompt variant name"):
        make_variant(name, "{state}{answer_format}")
