"""Bradley-Terry ratings with bootstrap confidence intervals, ranked the way the arenas
rank: a model is only placed below another when their intervals say so.

The model: model i beats model j with probability ``1 / (1 + exp(s_j - s_i))``. The
strengths ``s`` maximise the likelihood of every rated game, a tie counting as half a
win each way (so a tie is evidence of equality, and two ties weigh exactly as one win
plus one loss), under a weak Gaussian prior (below). Games are first tallied into
cells (pair of models, outcome): the fit and the bootstrap work on those counts, so
their cost grows with the number of pairs, not of games.

Scale: Elo-like, ``rating = 1000 + (400 / ln 10) * s``, so 400 points are 10:1 odds,
anchored so that the mean rating of the models in the fit is 1000. Only differences
are identified by the data; anchoring on the mean privileges no model (anchoring on
one model, say the random bot, would give it a zero-width interval and load its
uncertainty onto everyone else), and the mean is exactly where the prior is centred,
so the anchor and the regularisation agree. Ratings compare within one fit only.

Regularisation: a Gaussian prior on each strength, mean 0, sd ``PRIOR_SD`` = 4 log-odds
(~695 points). Without it a model that won every game (a greedy bot against a random
one) would have an infinite rating. Its curvature, 1/16, is a quarter of what a single
game between equals contributes, so with dozens of games per model it moves a rating
by well under a percent of its interval; a perfect record ends up finite but far
ahead (~1,000 points for 100 straight wins against average opponents). Every resample
of a perfect record is perfect too, so its interval reflects the prior, not the data:
read such a rating as "at least".

Zero-game models get the anchor, 1000, and the prior's own interval (1000 -/+ ~1,360 at
95%): with no games the posterior is the prior. It is finite (JSON-friendly) and
wide, and by the rank rule such a model ranks 1 (nothing is known to be above it):
leaderboards should show ``games > 0`` only.

Intervals: percentile bootstrap over games, ``resamples`` times, seeded. Resampling
games with replacement is a multinomial draw over the cells. The point fit is damped
Newton; each resample is refitted from it by chord iterations (Newton steps with the
point fit's Hessian), batched across resamples, with damped Newton for the rare
resample where those stall. Same inputs and seed give bit-identical results (on one
numpy/BLAS build), which the published leaderboard needs to be reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
from scipy.special import expit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ELO_PER_UNIT = 400.0 / math.log(10.0)  # rating points per unit of log-odds strength
ANCHOR = 1000.0  # the mean rating of the models in a fit
PRIOR_SD = 4.0  # prior sd of a strength, log-odds units (~695 rating points)
PRIOR_PRECISION = 1.0 / PRIOR_SD**2
TOLERANCE = 1e-9  # a fit stops when no strength moves more (1.7e-7 rating points)
MAX_ITERATIONS = 100  # damped Newton; it takes 5-10
CHORD_ITERATIONS = 40  # chord steps shrink ~3x each: ~16 suffice for 100 x 100,000
# Drawing one game index costs ~5 ns, one multinomial cell ~130 ns: draw games while
# they are fewer than this many per cell, draw the multinomial over cells beyond.
GAMES_PER_CELL_FOR_MULTINOMIAL = 25
CHUNK_FLOATS = 2**22  # bounds the memory of one batch of resamples (~32 MB per array)


@dataclass(frozen=True)
class BTResult:
    """Ratings of ``names`` (input order) with their bootstrap interval and arena rank."""

    names: tuple[str, ...]
    rating: FloatArray  # point estimates on the Elo-like scale
    lower: FloatArray  # lower bootstrap percentile (2.5th at 95%)
    upper: FloatArray  # upper bootstrap percentile (97.5th at 95%)
    rank: IntArray  # 1 + number of models whose lower bound is above this upper bound
    games: IntArray  # games per model


@dataclass(frozen=True)
class Tally:
    """Games counted per cell, a cell being (pair of models, outcome for ``first``).

    Pairs are only those that played, ``first < second``; cells only those that
    occurred. ``cell_score`` is ``first``'s score in the cell: 1, 0.5 or 0.
    """

    n: int
    first: IntArray
    second: IntArray
    cell_pair: IntArray
    cell_score: FloatArray
    cell_count: IntArray

    def totals(self, counts: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
        """Per-pair points of ``first`` and games, from cell counts of shape (R, K)."""
        pairs = self.first.size
        weighted = counts * self.cell_score
        return _scatter(weighted, self.cell_pair, pairs), _scatter(counts, self.cell_pair, pairs)


def fit_bradley_terry(
    names: Sequence[str],
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    score_a: npt.ArrayLike,
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> BTResult:
    """Fit ratings to games (``model_a[g]`` v ``model_b[g]``, ``score_a[g]`` in {1, 0.5,
    0}, indices into ``names``) with ``confidence`` bootstrap intervals and ranks."""
    labels, a, b, score = _validate(names, model_a, model_b, score_a)
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    n = len(labels)
    tally = tally_games(n, a, b, score)
    point = fit_strengths(tally, tally.cell_count[None, :], np.zeros((1, n)))
    draws = _to_rating(_bootstrap(tally, point[0], resamples, np.random.default_rng(seed)))
    tail = (1.0 - confidence) / 2.0
    lower, upper = np.percentile(draws, [100.0 * tail, 100.0 * (1.0 - tail)], axis=0)
    games = (np.bincount(a, minlength=n) + np.bincount(b, minlength=n)).astype(np.int64)
    unrated = games == 0
    half_width = NormalDist().inv_cdf(1.0 - tail) * PRIOR_SD * ELO_PER_UNIT
    lower[unrated], upper[unrated] = ANCHOR - half_width, ANCHOR + half_width
    rating = _to_rating(point)[0]
    arrays = (rating, lower, upper, arena_ranks(lower, upper), games)
    for array in arrays:
        array.setflags(write=False)  # the result is frozen; so are its arrays
    return BTResult(labels, *arrays)


def arena_ranks(lower: npt.ArrayLike, upper: npt.ArrayLike) -> IntArray:
    """Rank = 1 + the number of models whose lower bound is above this one's upper bound.

    Models whose intervals overlap share a rank, so ranks can repeat and skip, and
    a model is never placed below another on noise alone.
    """
    low = np.asarray(lower, dtype=np.float64)
    high = np.asarray(upper, dtype=np.float64)
    if low.ndim != 1 or low.shape != high.shape:
        raise ValueError(f"lower and upper must be 1-D of one length: {low.shape}, {high.shape}")
    above = low.size - np.searchsorted(np.sort(low), high, side="right")
    return (1 + above).astype(np.int64)


def tally_games(n: int, a: IntArray, b: IntArray, score: FloatArray) -> Tally:
    """Count validated games into (pair, outcome) cells, each pair oriented low-high."""
    swap = a > b
    first, second = np.where(swap, b, a), np.where(swap, a, b)
    first_score = np.where(swap, 1.0 - score, score)
    outcome = (2.0 * first_score).astype(np.int64)  # 0 loss, 1 tie, 2 win
    cells, cell_count = np.unique((first * n + second) * 3 + outcome, return_counts=True)
    pair_keys, cell_pair = np.unique(cells // 3, return_inverse=True)
    return Tally(
        n=n,
        first=(pair_keys // n).astype(np.int64),
        second=(pair_keys % n).astype(np.int64),
        cell_pair=cell_pair.astype(np.int64),
        cell_score=(cells % 3) / 2.0,
        cell_count=cell_count.astype(np.int64),
    )


def fit_strengths(tally: Tally, counts: npt.NDArray[np.int64], start: FloatArray) -> FloatArray:
    """Maximum a posteriori strengths for each row of cell ``counts`` (R, K), from
    ``start`` (R, n), by damped Newton. Each row stops on its own once converged, so
    a row's result does not depend on the rows batched with it."""
    wins, games = tally.totals(counts)
    strengths = np.array(start, dtype=np.float64)
    active = np.arange(strengths.shape[0])
    for _ in range(MAX_ITERATIONS):
        if active.size == 0 or tally.n == 0:
            return strengths
        current, w, g = strengths[active], wins[active], games[active]
        gradient, hessian = _derivatives(tally, current, w, g)
        step = np.asarray(np.linalg.solve(hessian, gradient[..., None])[..., 0], np.float64)
        length = _step_length(tally, current, step, gradient, w, g)
        strengths[active] = current - length[:, None] * step
        active = active[~(np.abs(step).max(axis=1) < TOLERANCE)]  # NaN stays, and raises
    raise RuntimeError(f"Bradley-Terry fit did not converge in {MAX_ITERATIONS} iterations")


def _derivatives(
    tally: Tally, s: FloatArray, wins: FloatArray, games: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Gradient (R, n) and Hessian (R, n, n) of the negative log posterior."""
    n, rows = tally.n, s.shape[0]
    gradient, p = _gradient(tally, s, wins, games)
    weight = games * p * (1.0 - p)
    hessian = np.zeros((rows, n * n))
    hessian[:, tally.first * n + tally.second] = -weight
    hessian[:, tally.second * n + tally.first] = -weight
    degree = _scatter(weight, tally.first, n) + _scatter(weight, tally.second, n)
    hessian[:, :: n + 1] = degree + PRIOR_PRECISION
    return gradient, hessian.reshape(rows, n, n)


def _gradient(
    tally: Tally, s: FloatArray, wins: FloatArray, games: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Gradient (R, n) of the negative log posterior, and each pair's P(first wins)."""
    p = expit(s[:, tally.first] - s[:, tally.second])
    residual = games * p - wins
    gradient = _scatter(residual, tally.first, tally.n) - _scatter(residual, tally.second, tally.n)
    gradient += PRIOR_PRECISION * s
    return gradient, p


def _step_length(
    tally: Tally,
    s: FloatArray,
    step: FloatArray,
    gradient: FloatArray,
    wins: FloatArray,
    games: FloatArray,
) -> FloatArray:
    """Full Newton steps near the optimum (Newton decrement below 0.1, where they
    converge quadratically and rounding would fool a line search); elsewhere halve the
    step until the objective drops enough (Armijo), which keeps far starts stable."""
    decrement = (gradient * step).sum(axis=1)
    length = np.ones(s.shape[0])
    far = np.flatnonzero(decrement > 0.1)
    if far.size == 0:
        return length
    s, step, wins, games = s[far], step[far], wins[far], games[far]
    before, trial = _objective(tally, s, wins, games), np.ones(far.size)
    for _ in range(60):
        after = _objective(tally, s - trial[:, None] * step, wins, games)
        short = after > before - 1e-4 * trial * decrement[far]
        if not short.any():
            break
        trial = np.where(short, trial / 2.0, trial)
    length[far] = trial
    return length


def _objective(tally: Tally, s: FloatArray, wins: FloatArray, games: FloatArray) -> FloatArray:
    """Negative log posterior per row: each pair's points and losses, plus the prior."""
    d = s[:, tally.first] - s[:, tally.second]
    nll = wins * np.logaddexp(0.0, -d) + (games - wins) * np.logaddexp(0.0, d)
    result: FloatArray = nll.sum(axis=1) + 0.5 * PRIOR_PRECISION * (s * s).sum(axis=1)
    return result


def _bootstrap(
    tally: Tally, point: FloatArray, resamples: int, rng: np.random.Generator
) -> FloatArray:
    """Strengths refitted on ``resamples`` resamples of the games, warm-started from
    the point estimate, in chunks that bound memory (the chunk size depends only on
    the inputs, so the random stream and the results are reproducible)."""
    n, total = tally.n, int(tally.cell_count.sum())
    if total == 0:
        return np.zeros((resamples, n))
    per_resample = max(n * n, total if _by_game(tally.cell_count) else tally.cell_count.size)
    chunk = max(1, min(256, CHUNK_FLOATS // per_resample))
    wins, games = tally.totals(tally.cell_count[None, :])
    inverse_hessian = np.linalg.inv(_derivatives(tally, point[None, :], wins, games)[1][0])
    out = np.empty((resamples, n))
    for begin in range(0, resamples, chunk):
        counts = draw_cells(tally.cell_count, min(chunk, resamples - begin), rng)
        out[begin : begin + counts.shape[0]] = refit(tally, counts, point, inverse_hessian)
    return out


def refit(
    tally: Tally, counts: npt.NDArray[np.int64], point: FloatArray, inverse_hessian: FloatArray
) -> FloatArray:
    """Strengths for resampled cell ``counts`` (R, K) by chord iterations: Newton steps
    with the point fit's Hessian, which a resample barely changes, so each iteration
    costs a gradient instead of a factorisation per resample. Rows whose steps stop
    shrinking (a resample far from the data, e.g. sparse pairs) or that do not
    converge in ``CHORD_ITERATIONS`` are refitted by damped Newton from the point."""
    wins, games = tally.totals(counts)
    s = np.tile(point, (counts.shape[0], 1))
    active, failed = np.arange(counts.shape[0]), []
    previous = np.full(counts.shape[0], np.inf)
    for _ in range(CHORD_ITERATIONS):
        step = _gradient(tally, s[active], wins[active], games[active])[0] @ inverse_hessian
        s[active] -= step
        size = np.abs(step).max(axis=1)
        shrinking = size < previous[active]  # False for NaN too
        previous[active] = size
        failed.append(active[~shrinking])
        active = active[shrinking & (size >= TOLERANCE)]
        if active.size == 0:
            break
    redo = np.concatenate([*failed, active])
    if redo.size:
        s[redo] = fit_strengths(tally, counts[redo], np.tile(point, (redo.size, 1)))
    return s


def _by_game(cell_count: IntArray) -> bool:
    return int(cell_count.sum()) < GAMES_PER_CELL_FOR_MULTINOMIAL * cell_count.size


def draw_cells(
    cell_count: IntArray, size: int, rng: np.random.Generator, by_game: bool | None = None
) -> npt.NDArray[np.int64]:
    """``size`` resamples of the games with replacement, as counts per cell (size, K):
    a multinomial over cells, drawn either game by game or cell by cell (the same
    distribution; whichever is cheaper unless ``by_game`` says)."""
    total, cells = int(cell_count.sum()), cell_count.size
    if by_game is None:
        by_game = _by_game(cell_count)
    if not by_game:
        drawn: npt.NDArray[np.int64] = rng.multinomial(total, cell_count / total, size=size)
        return drawn
    game_cell = np.repeat(np.arange(cells, dtype=np.int64), cell_count)
    picked = game_cell[rng.integers(0, total, size=(size, total))]
    picked += cells * np.arange(size, dtype=np.int64)[:, None]
    return np.bincount(picked.ravel(), minlength=size * cells).reshape(size, cells)


def _scatter(values: npt.NDArray[np.number], index: IntArray, size: int) -> FloatArray:
    """Row-wise sums of ``values`` (R, m) into ``size`` bins by ``index`` (m,)."""
    rows = values.shape[0]
    flat = (index[None, :] + size * np.arange(rows, dtype=np.int64)[:, None]).ravel()
    sums = np.bincount(flat, weights=values.ravel(), minlength=rows * size)
    return sums.reshape(rows, size).astype(np.float64, copy=False)  # int if empty


def _to_rating(strengths: FloatArray) -> FloatArray:
    """Strengths (R, n) to ratings, each row re-centred on the anchor."""
    centred = strengths - strengths.mean(axis=1, keepdims=True)
    ratings: FloatArray = ANCHOR + ELO_PER_UNIT * centred
    return ratings


def _validate(
    names: Sequence[str],
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    score_a: npt.ArrayLike,
) -> tuple[tuple[str, ...], IntArray, IntArray, FloatArray]:
    """Arrays of the games, or a one-line ValueError naming the problem."""
    labels = tuple(names)
    if not labels:
        raise ValueError("names is empty")
    if len(set(labels)) != len(labels):
        raise ValueError(
            f"names has duplicates: {sorted({x for x in labels if labels.count(x) > 1})}"
        )
    a, b = _indices("model_a", model_a, len(labels)), _indices("model_b", model_b, len(labels))
    score = np.asarray(score_a, dtype=np.float64)
    if not a.size == b.size == score.size or score.ndim != 1:
        raise ValueError(
            "model_a, model_b and score_a must be 1-D of one length: "
            f"{a.size}, {b.size}, {score.shape}"
        )
    bad = ~np.isin(score, (0.0, 0.5, 1.0))
    if bad.any():
        raise ValueError(
            f"score_a must be 1.0, 0.5 or 0.0; game {np.argmax(bad)} has {score[bad][0]}"
        )
    same = a == b
    if same.any():
        game = int(np.argmax(same))
        raise ValueError(f"game {game} pits model {a[game]} ({labels[a[game]]}) against itself")
    return labels, a, b, score


def _indices(label: str, values: npt.ArrayLike, n: int) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{label} must be 1-D, not of shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{label} must hold integer indices, not {array.dtype}")
    array = array.astype(np.int64)
    out = (array < 0) | (array >= n)
    if out.any():
        raise ValueError(f"{label} has index {array[out][0]} outside 0..{n - 1}")
    return array
