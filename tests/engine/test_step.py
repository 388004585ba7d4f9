"""Each rule of docs/RULES.md, on a hand-built board."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from snakebench.engine import (
    Cell,
    GameOverError,
    Rules,
    RulesError,
    SeededSpawner,
    forfeit,
    new_game,
    start_state,
    step,
)
from snakebench.engine.state import GameState

RULES = Rules(width=10, height=10, num_apples=2, max_rounds=100)


class FixedSpawner:
    """Spawns from a list, so a test knows where apples appear."""

    def __init__(self, cells: Sequence[Cell]) -> None:
        self.cells = list(cells)
        self.calls: list[tuple[int, int]] = []

    def __call__(
        self, round_index: int, rules: Rules, occupied: set[Cell], count: int
    ) -> list[Cell]:
        self.calls.append((round_index, count))
        free = [c for c in self.cells if c not in occupied][:count]
        for cell in free:
            self.cells.remove(cell)
        return free


def board(snakes: dict[str, list[Cell]], apples: list[Cell], **scores: int) -> GameState:
    return start_state(snakes, apples, {sid: scores.get(f"s{sid}", 0) for sid in snakes})


def play(state: GameState, moves: dict[str, str], rules: Rules = RULES, spawn=None) -> GameState:
    return step(state, moves, rules, spawn or FixedSpawner([(9, 9), (9, 8), (9, 7)]))


def test_moves_follow_the_coordinate_system() -> None:
    state = board({"0": [(5, 5)], "1": [(1, 1)]}, [(0, 9), (9, 0)])
    assert play(state, {"0": "UP", "1": "RIGHT"}).snakes == {"0": ((5, 6),), "1": ((2, 1),)}
    assert play(state, {"0": "DOWN", "1": "LEFT"}).snakes == {"0": ((5, 4),), "1": ((0, 1),)}


def test_eating_grows_scores_and_refills_at_the_end_of_the_list() -> None:
    state = board({"0": [(5, 5)], "1": [(1, 1)]}, [(5, 6), (0, 9)])
    spawner = FixedSpawner([(7, 7)])
    after = play(state, {"0": "UP", "1": "UP"}, spawn=spawner)
    assert after.snakes["0"] == ((5, 6), (5, 5))
    assert after.scores == {"0": 1, "1": 0}
    assert after.apples == ((0, 9), (7, 7))
    assert spawner.calls == [(0, 1)]
    assert after.round == 1 and not after.over


def test_wall_death_ends_the_game_and_the_survivor_wins_whatever_the_score() -> None:
    state = board({"0": [(9, 5)], "1": [(1, 1)]}, [(0, 9), (9, 0)], s0=5, s1=0)
    after = play(state, {"0": "RIGHT", "1": "UP"})
    assert after.results == {"0": "lost", "1": "won"}
    assert after.deaths["0"] == ("wall", 0)
    # The fatal round is not applied: nobody moves, scores stay.
    assert after.snakes == state.snakes and after.scores == state.scores
    assert after.alive == {"0": False, "1": True} and after.round == 1


def test_fatal_round_does_not_eat_apples() -> None:
    state = board({"0": [(9, 5)], "1": [(1, 1)]}, [(1, 2), (0, 9)])
    after = play(state, {"0": "RIGHT", "1": "UP"})
    assert after.apples == state.apples and after.scores == {"0": 0, "1": 0}


def test_head_to_head_kills_both_and_higher_score_wins() -> None:
    state = board({"0": [(4, 4)], "1": [(6, 4)]}, [(0, 9), (9, 0)], s0=3, s1=1)
    after = play(state, {"0": "RIGHT", "1": "LEFT"})
    assert after.deaths == {"0": ("head_collision", 0), "1": ("head_collision", 0)}
    assert after.results == {"0": "won", "1": "lost"}


def test_double_death_with_equal_scores_ties() -> None:
    state = board({"0": [(4, 4)], "1": [(6, 4)]}, [(0, 9), (9, 0)], s0=2, s1=2)
    assert play(state, {"0": "RIGHT", "1": "LEFT"}).results == {"0": "tied", "1": "tied"}


def test_tie_policy_calls_every_double_death_a_tie() -> None:
    rules = Rules(width=10, height=10, num_apples=2, double_death="tie")
    state = board({"0": [(4, 4)], "1": [(6, 4)]}, [(0, 9), (9, 0)], s0=3, s1=1)
    assert play(state, {"0": "RIGHT", "1": "LEFT"}, rules).results == {"0": "tied", "1": "tied"}


def test_wall_is_checked_before_head_to_head() -> None:
    # Both heads would land... one leaves the board, so no head-to-head happens.
    state = board({"0": [(0, 0)], "1": [(2, 1)]}, [(9, 9), (9, 8)])
    after = play(state, {"0": "LEFT", "1": "LEFT"})
    assert after.deaths == {"0": ("wall", 0)}
    assert after.results == {"0": "lost", "1": "won"}


def test_body_collision_with_the_other_snake() -> None:
    state = board({"0": [(3, 3), (3, 2), (3, 1)], "1": [(4, 2)]}, [(9, 9), (9, 8)])
    after = play(state, {"0": "UP", "1": "LEFT"})
    assert after.deaths == {"1": ("body_collision", 0)}
    assert after.results == {"0": "won", "1": "lost"}


def test_moving_into_the_cell_your_own_tail_leaves_is_safe() -> None:
    square = [(3, 3), (4, 3), (4, 2), (3, 2)]  # head, ..., tail below the head
    state = board({"0": square, "1": [(8, 8)]}, [(0, 9), (9, 0)])
    after = play(state, {"0": "DOWN", "1": "UP"})
    assert not after.over
    assert after.snakes["0"] == ((3, 2), (3, 3), (4, 3), (4, 2))


def test_tail_that_stays_because_its_snake_eats_kills() -> None:
    # Snake 1's tail would leave (5,4), but snake 1 eats, so its tail stays.
    state = board({"0": [(4, 4)], "1": [(5, 5), (5, 4)]}, [(5, 6), (0, 0)])
    after = play(state, {"0": "RIGHT", "1": "UP"})
    assert after.deaths == {"0": ("body_collision", 0)}


def test_length_two_snake_may_reverse_onto_its_neck() -> None:
    state = board({"0": [(3, 3), (3, 2)], "1": [(8, 8)]}, [(0, 9), (9, 0)])
    after = play(state, {"0": "DOWN", "1": "UP"})
    assert not after.over
    assert after.snakes["0"] == ((3, 2), (3, 3))


def test_longer_snake_reversing_dies() -> None:
    state = board({"0": [(3, 3), (3, 2), (3, 1)], "1": [(8, 8)]}, [(0, 9), (9, 0)])
    after = play(state, {"0": "DOWN", "1": "UP"})
    assert after.deaths == {"0": ("body_collision", 0)}


def test_two_length_one_snakes_swapping_cells_both_survive() -> None:
    state = board({"0": [(3, 3)], "1": [(4, 3)]}, [(0, 9), (9, 0)])
    after = play(state, {"0": "RIGHT", "1": "LEFT"})
    assert not after.over and after.snakes == {"0": ((4, 3),), "1": ((3, 3),)}


def test_snake_dying_on_a_body_still_blocks_others() -> None:
    # 0 runs into 1's moved body and 1 into 0's: both die, neither body vanishes.
    state = board(
        {"0": [(2, 2), (1, 2), (0, 2)], "1": [(3, 2), (3, 3), (2, 3), (2, 4)]}, [(9, 9), (9, 8)]
    )
    after = play(state, {"0": "UP", "1": "LEFT"})
    assert after.deaths == {"0": ("body_collision", 0), "1": ("body_collision", 0)}


def test_game_ends_at_max_rounds_by_score() -> None:
    rules = Rules(width=10, height=10, num_apples=2, max_rounds=2)
    state = board({"0": [(5, 5)], "1": [(1, 1)]}, [(5, 6), (0, 9)])
    state = play(state, {"0": "UP", "1": "UP"}, rules)
    assert not state.over
    state = play(state, {"0": "UP", "1": "UP"}, rules)
    assert state.round == 2 and state.results == {"0": "won", "1": "lost"}
    with pytest.raises(GameOverError):
        play(state, {"0": "UP", "1": "UP"}, rules)


def test_game_ends_when_a_snake_reaches_the_apple_target() -> None:
    rules = Rules(width=10, height=10, num_apples=2, apple_target=3)
    state = board({"0": [(5, 5)], "1": [(1, 1)]}, [(5, 6), (0, 9)], s0=2)
    after = play(state, {"0": "UP", "1": "UP"}, rules)
    assert after.scores["0"] == 3 and after.results == {"0": "won", "1": "lost"}


def test_missing_or_bad_move_is_refused() -> None:
    state = board({"0": [(5, 5)], "1": [(1, 1)]}, [(0, 9), (9, 0)])
    with pytest.raises(ValueError, match="snake 1"):
        play(state, {"0": "UP"})
    with pytest.raises(ValueError, match="snake 0"):
        play(state, {"0": "NORTH", "1": "UP"})


def test_three_snakes_play_on_after_a_death() -> None:
    rules = Rules(width=10, height=10, num_apples=1)
    state = board({"0": [(0, 5)], "1": [(5, 5)], "2": [(8, 8)]}, [(5, 6)])
    after = play(state, {"0": "LEFT", "1": "UP", "2": "DOWN"}, rules)
    assert after.deaths == {"0": ("wall", 0)}
    assert not after.over
    assert after.snakes["1"] == ((5, 6), (5, 5)) and after.scores["1"] == 1
    after = play(after, {"1": "UP", "2": "DOWN"}, rules)
    assert after.alive == {"0": False, "1": True, "2": True}


def test_forfeit_loses_to_the_other_snake() -> None:
    state = board({"0": [(5, 5)], "1": [(1, 1)]}, [(0, 9), (9, 0)], s0=4)
    after = forfeit(state, ["0"])
    assert after.results == {"0": "lost", "1": "won"}
    assert after.deaths["0"] == ("forfeit", 0)
    assert forfeit(state, ["0", "1"]).results == {"0": "tied", "1": "tied"}


def test_new_game_is_a_function_of_the_seed() -> None:
    rules = Rules()
    assert new_game(rules, 7) == new_game(rules, 7)
    assert new_game(rules, 7) != new_game(rules, 8)
    state = new_game(rules, 7)
    cells = [*state.apples, *(body[0] for body in state.snakes.values())]
    assert len(set(cells)) == rules.num_apples + 2
    assert all(0 <= x < 10 and 0 <= y < 10 for x, y in cells)


def test_seeded_spawner_avoids_occupied_cells_and_is_reproducible() -> None:
    rules = Rules(width=3, height=3, num_apples=2)
    occupied = {(0, 0), (1, 1), (2, 2), (0, 1), (1, 0)}
    first = SeededSpawner(5)(3, rules, occupied, 4)
    assert first == SeededSpawner(5)(3, rules, occupied, 4)
    assert len(first) == 4 and not set(first) & occupied
    # Fewer free cells than apples wanted: only the free ones are used.
    assert len(SeededSpawner(5)(3, rules, occupied | {(0, 2), (2, 0)}, 4)) == 2


@pytest.mark.parametrize(
    ("kwargs", "snakes", "message"),
    [
        ({"width": 1}, 2, "width must be at least 2"),
        ({"height": 0}, 2, "height must be at least 2"),
        ({"num_apples": -1}, 2, "num_apples"),
        ({"max_rounds": 0}, 2, "max_rounds"),
        ({"apple_target": 0}, 2, "apple_target"),
        ({"width": 2, "height": 2, "num_apples": 3}, 2, "too few"),
        ({}, 1, "at least 2 snakes"),
    ],
)
def test_rules_refuse_impossible_games(kwargs: dict[str, int], snakes: int, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        Rules(**kwargs).validate(snakes)  # type: ignore[arg-type]


def test_smallest_board_that_fits_plays() -> None:
    rules = Rules(width=2, height=2, num_apples=2, max_rounds=5)
    state = new_game(rules, 1)
    assert len(state.apples) == 2


def test_seeded_spawns_are_uniform_over_the_free_cells() -> None:
    """A fixed sample (no randomness in the test): 100,000 spawns on a board with a
    quarter of its cells taken must spread evenly, by a chi-square bound far from
    the edge (the statistic is ~46 here; 74 degrees of freedom)."""
    rules = Rules(width=10, height=10)
    occupied = {(x, y) for x in range(10) for y in range(10) if (x * 7 + y * 3) % 4 == 0}
    counts: dict[Cell, int] = {}
    draws = 100_000
    for seed in range(draws):
        (cell,) = SeededSpawner(seed)(seed % 150, rules, occupied, 1)
        counts[cell] = counts.get(cell, 0) + 1
    free = 100 - len(occupied)
    assert not occupied & set(counts) and len(counts) == free
    expected = draws / free
    chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
    assert chi2 < (free - 1) + 4 * (2 * (free - 1)) ** 0.5
