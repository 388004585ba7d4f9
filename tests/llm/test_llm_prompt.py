from __future__ import annotations

from collections.abc import Callable

import pytest

from snakebench.engine import Death, Rules, SeededSpawner, new_game, render_board, step
from snakebench.fakellm.board import read_board
from snakebench.players.base import Turn
from snakebench.players.bots import bot_move
from snakebench.players.prompt import RATIONALE_LIMIT, truncate_middle
from snakebench.players.prompt_variants import build_prompt

MakeTurn = Callable[..., Turn]


def test_prompt_carries_everything_a_player_needs(make_turn: MakeTurn) -> None:
    turn = make_turn(max_rounds=120, apple_target=25)
    prompt = build_prompt(turn, "LEFT", "The apple at (1,1) looked close.")
    expected = [
        "10 cells wide and 10 cells tall",
        "Board size: 10x10",
        "(0,0) is the bottom-left cell and (9,9) is the top-right cell",
        "UP is y+1, DOWN is y-1, LEFT is x-1, RIGHT is x+1",
        "Turn: 5 / 120",  # round 4 played so far: this is the fifth turn
        "Apples: (1,1) (5,5) (9,0)",
        "Scores: you (snake 0): 2; snake 1: 1",
        "Your snake: ID 0",
        "Head: (3,4)",
        "Body (head first): (3,4) (3,3) (2,3)",
        "Enemy snake: ID 1",
        "Head: (7,7)",
        "Body (head first): (7,7) (7,8)",
        "Score: 1 (apples eaten)",
        render_board(turn.state, turn.rules),
        "Your previous move: LEFT",
        "The apple at (1,1) looked close.",
        "reaches 25 points",
        "after 120 turns",
        "the other snake wins, whatever the scores",
        "the higher score wins and equal scores are a draw",
        "the cell your own tail leaves this turn is free",
        "UP, DOWN, LEFT or RIGHT. That must be the final line",
    ]
    missing = [item for item in expected if item not in prompt]
    assert not missing, missing


def test_first_turn_says_so_and_is_written_for_the_right_snake(make_turn: MakeTurn) -> None:
    prompt = build_prompt(make_turn("1"), None, None)
    assert "first move of the game" in prompt
    assert "Your previous move" not in prompt
    assert "Your snake: ID 1" in prompt
    assert "Enemy snake: ID 0" in prompt
    assert "Scores: you (snake 1): 1; snake 0: 2" in prompt


def test_tie_rule_is_stated_when_double_deaths_are_draws(make_turn: MakeTurn) -> None:
    prompt = build_prompt(make_turn(double_death="tie"), None, None)
    assert "both snakes died in the same turn, it is a draw, whatever the scores" in prompt
    assert "higher score wins and equal scores are a draw." not in prompt.split("HOW THE")[1][:400]


def test_dead_enemy_is_shown_as_dead(make_turn: MakeTurn) -> None:
    turn = make_turn()
    state = turn.state._replace(alive={"0": True, "1": False}, deaths={"1": Death("wall", 3)})
    prompt = build_prompt(Turn("0", state, turn.rules), None, None)
    enemy = prompt.split("Enemy snake: ID 1")[1].split("\n\n")[0]
    assert "Status: dead (wall in turn 4)" in enemy
    assert "Body" not in enemy
    assert "(7,7)" not in enemy


def test_fifty_thousand_char_rationale_is_cut_in_the_middle(make_turn: MakeTurn) -> None:
    rationale = "A" * 20_000 + "M" * 10_000 + "Z" * 20_000
    prompt = build_prompt(make_turn(), "UP", rationale)
    assert "[... 40000 characters truncated ...]" in prompt
    assert "A" * 8000 in prompt and "A" * 8001 not in prompt
    assert "Z" * 2000 in prompt and "Z" * 2001 not in prompt
    assert "M" not in prompt.split("Your reasoning for it was:")[1].split("HOW TO DECIDE")[0]
    assert len(prompt) < len(build_prompt(make_turn(), "UP", "x")) + RATIONALE_LIMIT + 100


def test_truncate_middle_leaves_short_text_alone() -> None:
    assert truncate_middle("short") == "short"
    exact = "x" * RATIONALE_LIMIT
    assert truncate_middle(exact) == exact


@pytest.mark.parametrize("seed", range(6))
def test_fake_server_reads_back_the_board_it_was_shown(seed: int) -> None:
    """The prompt format is machine-readable: state and rules survive a round trip,
    and a bot plays the same move on the text as on the real board."""
    rules = Rules(width=8 + seed, height=7 + seed % 3, max_rounds=90, apple_target=12)
    state = new_game(rules, seed)
    spawn = SeededSpawner(seed)
    for _ in range(seed * 3):
        moves = {sid: bot_move("survivor", state, rules, sid, seed) for sid in state.alive_ids()}
        after = step(state, moves, rules, spawn)
        if after.over:
            break
        state = after
    for sid in state.snakes:
        board = read_board(build_prompt(Turn(sid, state, rules), "UP", "Body (head first): (0,0)"))
        assert board is not None
        assert board.snake_id == sid
        assert board.state.snakes == state.snakes
        assert board.state.apples == state.apples
        assert board.state.scores == state.scores
        assert board.state.round == state.round
        assert (board.rules.width, board.rules.height) == (rules.width, rules.height)
        assert (board.rules.max_rounds, board.rules.apple_target) == (90, 12)
        assert bot_move("greedy", board.state, board.rules, sid, 3) == bot_move(
            "greedy", state, rules, sid, 3
        )


def test_read_board_rejects_prompts_without_a_state_block() -> None:
    assert read_board("What is the capital of France?") is None
    assert read_board("=== GAME STATE ===\nBoard size: 5x5\n=== END OF GAME STATE ===") is None
