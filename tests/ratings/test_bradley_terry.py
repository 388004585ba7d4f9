"""Bradley-Terry ratings: the fit against a direct optimisation, the bootstrap's
coverage on synthetic games from known strengths, and the edge cases a leaderboard
meets (ties, perfect records, models without games, bad input)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.optimize import brentq, minimize

from snakebench.ratings import bradley_terry
from snakebench.ratings.bradley_terry import (
    ANCHOR,
    ELO_PER_UNIT,
    PRIOR_PRECISION,
    arena_ranks,
    draw_cells,
    fit_bradley_terry,
    fit_strengths,
    refit,
    tally_games,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def play(strengths: FloatArray, a: IntArray, b: IntArray, rng: np.random.Generator) -> FloatArray:
    """Scores of games a v b under Bradley-Terry, with ties: a tie takes probability
    from both win and loss equally, so a's expected score stays exactly P(a beats b)."""
    p = 1.0 / (1.0 + np.exp(strengths[b] - strengths[a]))
    tie = 0.2 * np.minimum(p, 1.0 - p)
    u = rng.random(a.size)
    return np.where(u < p - tie, 1.0, np.where(u < p + tie, 0.5, 0.0))


def round_robin(n: int, per_pair: int) -> tuple[IntArray, IntArray]:
    first, second = np.triu_indices(n, k=1)
    return np.repeat(first, per_pair).astype(np.int64), np.repeat(second, per_pair).astype(np.int64)


def to_rating(strengths: FloatArray) -> FloatArray:
    ratings: FloatArray = ANCHOR + ELO_PER_UNIT * (strengths - strengths.mean())
    return ratings


def names(n: int) -> list[str]:
    return [f"m{i}" for i in range(n)]


@pytest.mark.parametrize(("confidence", "low", "high"), [(0.95, 0.915, 0.975), (0.5, 0.43, 0.57)])
def test_intervals_cover_the_truth_as_often_as_they_claim(
    confidence: float, low: float, high: float
) -> None:
    """300 seeded trials of a 5-model round robin (30 games a pair, ties included):
    the share of intervals holding the true rating is close to ``confidence``. The
    50% level checks the calibration is not merely wide."""
    true = np.array([-1.0, -0.4, 0.0, 0.5, 0.9])
    a, b = round_robin(true.size, 30)
    truth = to_rating(true)
    covered = []
    for trial in range(300):
        score = play(true, a, b, np.random.default_rng(10_000 + trial))
        result = fit_bradley_terry(
            names(true.size), a, b, score, resamples=250, seed=trial, confidence=confidence
        )
        covered.append((result.lower <= truth) & (truth <= result.upper))
    assert low <= np.mean(covered) <= high


def test_recovers_the_order_of_known_strengths() -> None:
    rng = np.random.default_rng(7)
    true = np.linspace(-2.0, 2.0, 8)[rng.permutation(8)]
    a = rng.integers(0, 8, 6000)
    b = (a + rng.integers(1, 8, 6000)) % 8
    result = fit_bradley_terry(names(8), a, b, play(true, a, b, rng), resamples=200)
    assert list(np.argsort(result.rating)) == list(np.argsort(true))
    assert np.abs(result.rating - to_rating(true)).max() < 40
    assert result.rank[np.argmax(true)] == 1
    assert result.rank[np.argmin(true)] == 8  # 0.57 log-odds apart: every gap resolved
    assert result.rating.mean() == pytest.approx(ANCHOR, abs=1e-9)
    assert np.all(result.lower <= result.rating) and np.all(result.rating <= result.upper)


def test_point_fit_matches_a_direct_optimisation_over_games() -> None:
    """The tally into (pair, outcome) cells and the Newton fit give what scipy finds
    on the per-game penalised likelihood, games in both orientations."""
    rng = np.random.default_rng(3)
    true = rng.normal(0.0, 1.0, 6)
    a = rng.integers(0, 6, 400)
    b = (a + rng.integers(1, 6, 400)) % 6
    score = play(true, a, b, rng)

    def objective(s: FloatArray) -> tuple[float, FloatArray]:
        d = s[a] - s[b]
        p = 1.0 / (1.0 + np.exp(-d))
        value = -np.sum(score * np.log(p) + (1 - score) * np.log(1 - p))
        residual = p - score
        grad = np.bincount(a, residual, 6) - np.bincount(b, residual, 6)
        value += 0.5 * PRIOR_PRECISION * s @ s
        return float(value), grad + PRIOR_PRECISION * s

    reference = minimize(objective, np.zeros(6), jac=True, method="BFGS", tol=1e-12).x
    result = fit_bradley_terry(names(6), a, b, score, resamples=10)
    np.testing.assert_allclose(result.rating, to_rating(reference), atol=1e-4)


def test_a_tie_counts_half_a_win_each_way() -> None:
    pair_a, pair_b = np.array([0, 0]), np.array([1, 1])
    two_ties = fit_bradley_terry(["x", "y"], pair_a, pair_b, np.array([0.5, 0.5]), resamples=50)
    win_and_loss = fit_bradley_terry(["x", "y"], pair_a, pair_b, np.array([1.0, 0.0]), resamples=50)
    np.testing.assert_allclose(two_ties.rating, [ANCHOR, ANCHOR], atol=1e-9)
    np.testing.assert_allclose(win_and_loss.rating, two_ties.rating, atol=1e-9)
    # 30 wins and 10 ties, half the games listed as y v x: 35 points of 40, so
    # P(x beats y) = 7/8 (400 log10 7 = 338 points apart), up to the prior's pull.
    x_first = np.tile([0, 1], 20)
    x_score = np.tile([1.0, 1.0, 1.0, 0.5], 10)
    score = np.where(x_first == 0, x_score, 1.0 - x_score)
    result = fit_bradley_terry(["x", "y"], x_first, 1 - x_first, score, resamples=50)
    gap = brentq(lambda d: 40 / (1 + np.exp(-d)) - 35 + PRIOR_PRECISION * d / 2, 0, 10)
    assert result.rating[0] - result.rating[1] == pytest.approx(ELO_PER_UNIT * gap, abs=1e-6)
    assert ELO_PER_UNIT * gap == pytest.approx(400 * np.log10(7), abs=5)


def test_same_inputs_and_seed_give_identical_results() -> None:
    rng = np.random.default_rng(11)
    a = rng.integers(0, 5, 500)
    b = (a + rng.integers(1, 5, 500)) % 5
    score = play(np.arange(5.0) / 2, a, b, rng)
    first = fit_bradley_terry(names(5), a, b, score, resamples=300, seed=4)
    again = fit_bradley_terry(names(5), a, b, score, resamples=300, seed=4)
    other = fit_bradley_terry(names(5), a, b, score, resamples=300, seed=5)
    for field in ("rating", "lower", "upper", "rank", "games"):
        assert getattr(first, field).tobytes() == getattr(again, field).tobytes()
    assert not np.array_equal(first.lower, other.lower)  # the seed is used
    np.testing.assert_array_equal(first.rating, other.rating)  # the point fit is not random


def test_a_perfect_record_gets_a_finite_rating() -> None:
    """A greedy bot that beat the random bot in all 60 games, beside two LLMs with
    mixed results: every figure finite, the bot first, the gap large."""
    a = np.array([0] * 60 + [1] * 20 + [0] * 20)
    b = np.array([2] * 60 + [2] * 20 + [1] * 20)
    score = np.concatenate([np.ones(60), np.tile([1.0, 0.0, 0.5, 1.0], 5), np.ones(20)])
    result = fit_bradley_terry(["greedy", "llm", "random"], a, b, score, resamples=200)
    for array in (result.rating, result.lower, result.upper):
        assert np.all(np.isfinite(array))
    assert result.rating[0] > result.rating[1] > result.rating[2]
    assert result.rating[0] - result.rating[2] > 800
    assert result.rank[0] == 1 and result.rank[2] > 1
    two = fit_bradley_terry(["a", "b"], np.zeros(30, int), np.ones(30, int), np.ones(30))
    assert np.all(np.isfinite(two.upper)) and two.rating[0] > two.rating[1] + 800


def test_a_model_without_games_gets_the_anchor_and_the_prior_interval() -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 3, 300)
    b = (a + rng.integers(1, 3, 300)) % 3
    score = play(np.array([0.0, 0.5, 1.0]), a, b, rng)
    without = fit_bradley_terry(names(3), a, b, score, resamples=100)
    result = fit_bradley_terry([*names(3), "idle"], a, b, score, resamples=100)
    assert result.games[3] == 0
    assert result.rating[3] == pytest.approx(ANCHOR)
    assert result.lower[3] == pytest.approx(ANCHOR - 1.959964 * 4 * ELO_PER_UNIT, abs=0.01)
    assert result.upper[3] == pytest.approx(ANCHOR + 1.959964 * 4 * ELO_PER_UNIT, abs=0.01)
    assert result.rank[3] == 1  # nothing is known to be above it
    np.testing.assert_allclose(result.rating[:3], without.rating, atol=1e-9)
    np.testing.assert_allclose(result.lower[:3], without.lower, atol=1e-9)
    np.testing.assert_array_equal(result.rank[:3], without.rank)
    empty = fit_bradley_terry(["x", "y"], np.array([], int), np.array([], int), np.array([]))
    np.testing.assert_array_equal(empty.rating, [ANCHOR, ANCHOR])
    assert np.all(np.isfinite(empty.lower)) and list(empty.games) == [0, 0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_a": [0, 1], "model_b": [1], "score_a": [1.0, 0.0]}, "one length"),
        ({"model_a": [0, 3], "model_b": [1, 0], "score_a": [1.0, 0.0]}, "model_a has index 3"),
        ({"model_a": [0, 1], "model_b": [1, -1], "score_a": [1.0, 0.0]}, "model_b has index -1"),
        ({"model_a": [0, 1], "model_b": [1, 2], "score_a": [1.0, 0.3]}, "game 1 has 0.3"),
        ({"model_a": [0, 2], "model_b": [1, 2], "score_a": [1.0, 0.0]}, "model 2 .m2. against"),
        ({"model_a": [0.0], "model_b": [1], "score_a": [1.0]}, "integer indices"),
        ({"names": ["x", "x"]}, "duplicates"),
        ({"resamples": 0}, "resamples"),
        ({"confidence": 1.0}, "confidence"),
    ],
)
def test_bad_input_is_a_one_line_value_error(kwargs: dict[str, object], message: str) -> None:
    call: dict[str, object] = {
        "names": names(3),
        "model_a": [0],
        "model_b": [1],
        "score_a": [1.0],
    } | kwargs
    options = {key: call.pop(key) for key in ("resamples", "confidence") if key in call}
    with pytest.raises(ValueError, match=message) as raised:
        fit_bradley_terry(
            call["names"],  # type: ignore[arg-type]
            call["model_a"],  # type: ignore[arg-type]
            call["model_b"],  # type: ignore[arg-type]
            call["score_a"],  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )
    assert "\n" not in str(raised.value)


def test_arena_ranks_on_a_hand_example() -> None:
    lower = [1100, 1050, 900, 800]
    upper = [1200, 1150, 1000, 1060]
    # m0, m1 overlap: both first. m2 is below both; m3 below m0 only (1060 < 1100,
    # but m1's lower bound 1050 is not above 1060).
    assert list(arena_ranks(lower, upper)) == [1, 1, 3, 2]
    assert list(arena_ranks([10.0], [20.0])) == [1]
    with pytest.raises(ValueError, match="one length"):
        arena_ranks([1.0, 2.0], [3.0])


def test_both_ways_of_drawing_resamples_have_the_multinomial_moments() -> None:
    """Game by game and cell by cell are the same distribution: mean count c and
    variance c (1 - c / total) per cell."""
    counts = np.array([1, 5, 20, 74], dtype=np.int64)
    expected_var = counts * (1 - counts / counts.sum())
    for by_game in (True, False):
        drawn = draw_cells(counts, 20_000, np.random.default_rng(0), by_game=by_game)
        assert np.all(drawn.sum(axis=1) == counts.sum())
        np.testing.assert_allclose(drawn.mean(axis=0), counts, rtol=0.03)
        np.testing.assert_allclose(drawn.var(axis=0), expected_var, rtol=0.06)


def test_bootstrap_refits_agree_with_newton_on_dense_and_sparse_games(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chord iterations reach the same optimum as damped Newton for every
    resample, including those they hand over to Newton (sparse games)."""
    handed_over: list[int] = []

    def counted(tally: object, counts: IntArray, start: FloatArray) -> FloatArray:
        handed_over.append(counts.shape[0])
        return fit_strengths(tally, counts, start)  # type: ignore[arg-type]

    monkeypatch.setattr(bradley_terry, "fit_strengths", counted)
    rng = np.random.default_rng(2)
    for n, games, fallback in ((6, 3000, False), (40, 400, True)):
        handed_over.clear()
        a = rng.integers(0, n, games)
        b = (a + rng.integers(1, n, games)) % n
        tally = tally_games(n, a, b, play(rng.normal(0.0, 1.0, n), a, b, rng))
        point = fit_strengths(tally, tally.cell_count[None, :], np.zeros((1, n)))[0]
        wins, played = tally.totals(tally.cell_count[None, :])
        hessian = bradley_terry._derivatives(tally, point[None, :], wins, played)[1][0]
        counts = draw_cells(tally.cell_count, 200, rng)
        chord = refit(tally, counts, point, np.linalg.inv(hessian))
        newton = fit_strengths(tally, counts, np.tile(point, (200, 1)))
        np.testing.assert_allclose(chord, newton, atol=1e-7)
        assert (0 < sum(handed_over) < 200) if fallback else not handed_over
