"""The engine keeps its invariants whatever moves it is given.

Games start from :func:`new_game` (random seed, board size, apples, snake count) or
from :func:`start_state` with a hand-placed long snake, and are played with random
move sequences, legal or suicidal; every round is checked against the previous one.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snakebench.engine import (
    DELTAS,
    DIRECTIONS,
    GameOverError,
    GameState,
    Rules,
    SeededSpawner,
    forfeit,
    new_game,
    start_state,
    step,
)

PROFILE = settings.get_profile("robustness")
MOVE = st.sampled_from([str(d) for d in DIRECTIONS])


@st.composite
def games(draw: st.DrawFn) -> tuple[Rules, GameState, int]:
    """Rules, the seeded start and the seed: 2 or 3 snakes, boards from 2x2."""
    snakes = draw(st.integers(2, 3))
    width = draw(st.integers(2, 12))
    height = draw(st.integers(2, 12))
    cells = width * height
    assume_room = max(0, min(8, cells - snakes))
    rules = Rules(
        width=width,
        height=height,
        num_apples=draw(st.integers(0, assume_room)),
        max_rounds=draw(st.integers(1, 80)),
        apple_target=draw(st.integers(1, 12)),
        double_death=draw(st.sampled_from(["score", "tie"])),
    )
    seed = draw(st.integers(0, 2**64 - 1))
    ids = tuple(str(i) for i in range(snakes))
    return rules, new_game(rules, seed, ids), seed


def check_round(before: GameState, moves: dict[str, str], after: GameState, rules: Rules) -> None:
    """Every invariant that links a state to the next one."""
    assert after.round == before.round + 1
    assert set(after.snakes) == set(before.snakes)
    # Dead snakes stay dead, and keep their death.
    for sid, is_alive in before.alive.items():
        if not is_alive:
            assert not after.alive[sid]
            assert after.deaths[sid] == before.deaths[sid]
            assert after.snakes[sid] == before.snakes[sid]
    # Scores only grow, by at most one a round.
    for sid, score in before.scores.items():
        assert score <= after.scores[sid] <= score + 1
    new_deaths = {sid for sid in after.deaths if sid not in before.deaths}
    for sid in new_deaths:
        assert not after.alive[sid]
        assert after.deaths[sid].round == before.round
        assert after.deaths[sid].reason in ("wall", "head_collision", "body_collision")
    fatal = bool(new_deaths) and len(before.snakes) == 2
    if fatal:
        # Nobody's move is applied, nothing is eaten, the game is over.
        assert after.snakes == before.snakes
        assert after.apples == before.apples
        assert after.scores == before.scores
        assert after.over
        return
    width, height = rules.width, rules.height
    for sid in before.alive_ids():
        body, old = after.snakes[sid], before.snakes[sid]
        if not after.alive[sid]:
            assert body == old  # died where it stood (three or more snakes)
            assert after.scores[sid] == before.scores[sid]
            continue
        dx, dy = DELTAS[moves[sid]]
        assert body[0] == (old[0][0] + dx, old[0][1] + dy)
        assert all(0 <= x < width and 0 <= y < height for x, y in body)
        ate = body[0] in before.apples
        # Length grows exactly when the head lands on an apple, and so does the score.
        assert len(body) == len(old) + (1 if ate else 0)
        assert after.scores[sid] == before.scores[sid] + (1 if ate else 0)
        assert body[1:] == (old if ate else old[:-1])
        assert len(set(body)) == len(body)  # a living snake never overlaps itself
    check_apples(after, rules)


def check_apples(state: GameState, rules: Rules) -> None:
    """Apples: distinct, on the board, never under a living snake, and as many as the
    rules ask while free cells remain."""
    apples = state.apples
    assert len(set(apples)) == len(apples)
    assert all(0 <= x < rules.width and 0 <= y < rules.height for x, y in apples)
    occupied = {cell for body in state.snakes.values() for cell in body}
    assert not occupied & set(apples)
    free = rules.width * rules.height - len(occupied) - len(apples)
    assert len(apples) == rules.num_apples or (len(apples) < rules.num_apples and free == 0)


Chooser = Callable[[GameState, str], "str | None"]


def play(rules: Rules, state: GameState, seed: int, moves: list[str] | Chooser) -> GameState:
    """Play ``moves`` (a list dealt round-robin over the living snakes, or a function
    of the state and snake id) until the game ends or the moves run out, checking
    every round. Returns the last state."""
    spawn = SeededSpawner(seed)
    if callable(moves):
        choose = moves
    else:
        feed = iter(moves)

        def choose(_state: GameState, _sid: str) -> str | None:
            return next(feed, None)

    check_apples(state, rules)
    while not state.over:
        chosen = {}
        for sid in state.alive_ids():
            move = choose(state, sid)
            if move is None:
                return state
            chosen[sid] = move
        snapshot = copy.deepcopy(state)
        after = step(state, chosen, rules, spawn)
        assert state == snapshot  # states are never changed in place
        check_round(state, chosen, after, rules)
        state = after
    return state


def check_end(state: GameState, rules: Rules) -> None:
    assert state.results is not None
    assert set(state.results) == set(state.snakes)
    ended_by_rule = (
        max(state.scores.values()) >= rules.apple_target
        or state.round >= rules.max_rounds
        or sum(state.alive.values()) <= 1
    )
    assert ended_by_rule
    with pytest.raises(GameOverError):
        step(state, dict.fromkeys(state.snakes, "UP"), rules, SeededSpawner(0))


@settings(PROFILE, max_examples=150)
@given(games(), st.lists(MOVE, max_size=240))
def test_random_moves_keep_invariants(game: tuple[Rules, GameState, int], moves: list[str]) -> None:
    rules, state, seed = game
    final = play(rules, state, seed, moves)
    if final.over:
        check_end(final, rules)


@settings(PROFILE, max_examples=40)
@given(games(), st.integers(0, 2**32 - 1))
def test_long_random_games_end_cleanly(game: tuple[Rules, GameState, int], move_seed: int) -> None:
    """Whole games to the end: moves from a seeded generator that mostly avoids walls
    and bodies and heads for an apple, so snakes live long and grow."""
    rules, state, seed = game
    rng = random.Random(move_seed)

    def choose(now: GameState, sid: str) -> str:
        head = now.snakes[sid][0]
        goal = now.apples[int(sid) % len(now.apples)] if now.apples else head
        taken = {cell for body in now.snakes.values() for cell in body[:-1]}
        safe = []
        for move in DIRECTIONS:
            dx, dy = DELTAS[move]
            x, y = head[0] + dx, head[1] + dy
            if 0 <= x < rules.width and 0 <= y < rules.height and (x, y) not in taken:
                safe.append((abs(x - goal[0]) + abs(y - goal[1]), str(move)))
        if not safe or rng.random() < 0.05:
            return str(rng.choice(DIRECTIONS))
        if rng.random() < 0.7:
            return min(safe)[1]
        return rng.choice(safe)[1]

    final = play(rules, state, seed, choose)
    assert final.over
    check_end(final, rules)


@settings(PROFILE, max_examples=60)
@given(
    st.integers(2, 10),
    st.integers(3, 10),
    st.integers(0, 2**32 - 1),
    st.lists(MOVE, max_size=60),
)
def test_long_snake_start_keeps_invariants(
    width: int, height: int, seed: int, moves: list[str]
) -> None:
    """A snake as long as a column (``start_state``): tight turns, self-collisions."""
    column = [(0, y) for y in range(height)]
    other = (width - 1, 0)
    rules = Rules(width=width, height=height, num_apples=1, max_rounds=200, apple_target=50)
    free = [(x, y) for y in range(height) for x in range(1, width) if (x, y) != other]
    state = start_state({"0": column, "1": [other]}, free[:1])
    final = play(rules, state, seed, moves)
    if final.over:
        check_end(final, rules)


@settings(PROFILE, max_examples=60)
@given(
    games(),
    st.lists(MOVE, max_size=40),
    st.one_of(
        st.text(max_size=8).filter(lambda s: s not in DELTAS),
        st.sampled_from(["up", "Up", " UP", "UP\n", "NORTH", ""]),
        st.none(),
        st.integers(),
    ),
)
def test_illegal_moves_raise_and_change_nothing(
    game: tuple[Rules, GameState, int], moves: list[str], bad: object
) -> None:
    """A move that is not a direction, or a living snake without a move, is a
    ValueError naming the choices, and the state is untouched."""
    rules, state, seed = game
    state = play(rules, state, seed, moves)
    if state.over:
        return
    alive = state.alive_ids()
    snapshot = copy.deepcopy(state)
    wrong = {sid: "UP" for sid in alive}
    wrong[alive[-1]] = bad  # type: ignore[assignment]
    with pytest.raises(ValueError, match="UP, DOWN, LEFT, RIGHT"):
        step(state, wrong, rules, SeededSpawner(seed))
    missing = {sid: "UP" for sid in alive[1:]}
    with pytest.raises(ValueError, match="UP, DOWN, LEFT, RIGHT"):
        step(state, missing, rules, SeededSpawner(seed))
    assert state == snapshot


@settings(PROFILE, max_examples=40)
@given(games(), st.lists(MOVE, max_size=40), st.data())
def test_forfeit_ends_the_game(
    game: tuple[Rules, GameState, int], moves: list[str], data: st.DataObject
) -> None:
    rules, state, seed = game
    state = play(rules, state, seed, moves)
    if state.over:
        with pytest.raises(GameOverError):
            forfeit(state, list(state.snakes))
        return
    quitters = data.draw(st.lists(st.sampled_from(state.alive_ids()), min_size=1, unique=True))
    after = forfeit(state, quitters)
    assert after.over and after.round == state.round + 1
    assert after.scores == state.scores and after.snakes == state.snakes
    for sid in quitters:
        assert not after.alive[sid] and after.deaths[sid].reason == "forfeit"
        assert after.results is not None and after.results[sid] in ("lost", "tied")
