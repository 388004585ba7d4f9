"""Bradley-Terry refit time: 100 models x 100,000 games, the point fit and the fit with
1,000 bootstrap resamples, each next to a baseline from the same run.

    python scripts/bench_ratings.py [--models 100] [--games 100000] [--resamples 1000]
                                    [--repeat 3] [--baseline-resamples 20]

Synthetic games between random pairs of models with known strengths (sd 1.5 log-odds,
~260 rating points; ~10% ties). Baselines: scipy's L-BFGS with an analytic gradient
on the same penalised likelihood, (1) over the individual games, as a direct
implementation would, and (2) over the per-pair tallies; the bootstrap baselines
resample the games and refit one resample at a time that way (timed on
``--baseline-resamples`` and extrapolated). Ours (``snakebench.ratings.bradley_terry``):
the tally, damped Newton for the point fit, then resamples drawn as cell counts and
refitted in batches by chord iterations; the resample draws are also timed alone. The
point rows print how far each fit lands from ours. Each row is the best of ``--repeat``
timings (other load on a shared machine only ever slows a run down).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import scipy
from benchlib import best_time
from scipy.optimize import minimize

from snakebench.ratings.bradley_terry import (
    ELO_PER_UNIT,
    PRIOR_PRECISION,
    Tally,
    draw_cells,
    fit_bradley_terry,
    fit_strengths,
    tally_games,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def synthetic_games(
    models: int, games: int, seed: int
) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
    """True strengths and games between uniformly random pairs; a tie takes equal
    probability from win and loss, so the expected score is the Bradley-Terry one."""
    rng = np.random.default_rng(seed)
    true = rng.normal(0.0, 1.5, models)
    a = rng.integers(0, models, games)
    b = (a + rng.integers(1, models, games)) % models
    p = 1.0 / (1.0 + np.exp(true[b] - true[a]))
    tie, u = 0.2 * np.minimum(p, 1.0 - p), rng.random(games)
    score = np.where(u < p - tie, 1.0, np.where(u < p + tie, 0.5, 0.0))
    return true - true.mean(), a, b, score


def lbfgs_games(n: int, a: IntArray, b: IntArray, score: FloatArray) -> FloatArray:
    """Baseline: the penalised likelihood summed game by game (numpy over games)."""

    def objective(s: FloatArray) -> tuple[float, FloatArray]:
        d = s[a] - s[b]
        value = np.sum(score * np.logaddexp(0, -d) + (1 - score) * np.logaddexp(0, d))
        residual = 1.0 / (1.0 + np.exp(-d)) - score
        grad = np.bincount(a, residual, n) - np.bincount(b, residual, n)
        return float(value + 0.5 * PRIOR_PRECISION * s @ s), grad + PRIOR_PRECISION * s

    return _lbfgs(objective, n)


def lbfgs_pairs(tally: Tally, counts: IntArray) -> FloatArray:
    """Baseline: the same likelihood over per-pair points and games."""
    wins, games = (x[0] for x in tally.totals(counts[None, :]))
    first, second, n = tally.first, tally.second, tally.n

    def objective(s: FloatArray) -> tuple[float, FloatArray]:
        d = s[first] - s[second]
        value = np.sum(wins * np.logaddexp(0, -d) + (games - wins) * np.logaddexp(0, d))
        residual = games / (1.0 + np.exp(-d)) - wins
        grad = np.bincount(first, residual, n) - np.bincount(second, residual, n)
        return float(value + 0.5 * PRIOR_PRECISION * s @ s), grad + PRIOR_PRECISION * s

    return _lbfgs(objective, n)


def _lbfgs(objective: Callable[[FloatArray], tuple[float, FloatArray]], n: int) -> FloatArray:
    options = {"gtol": 1e-8, "ftol": 1e-15, "maxiter": 10_000}
    result = minimize(objective, np.zeros(n), jac=True, method="L-BFGS-B", options=options)
    return np.asarray(result.x, dtype=np.float64)


def rating_gap(s: FloatArray, reference: FloatArray) -> float:
    return float(ELO_PER_UNIT * np.abs((s - s.mean()) - (reference - reference.mean())).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--games", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="timings per row; the best counts")
    parser.add_argument("--baseline-resamples", type=int, default=20)
    args = parser.parse_args()
    n = args.models
    true, a, b, score = synthetic_games(n, args.games, seed=1)
    tally = tally_games(n, a, b, score)
    print(
        f"{n} models, {args.games:,} games, {tally.first.size:,} pairs, "
        f"{tally.cell_count.size:,} (pair, outcome) cells, {np.mean(score == 0.5):.1%} ties; "
        f"{os.cpu_count()} cores, numpy {np.__version__}, scipy {scipy.__version__}"
    )
    rows = point_rows(args.repeat, n, a, b, score) + bootstrap_rows(args, tally, a, b, score)
    print(f"{'refit':60} {'fits':>6} {'seconds':>8} {'s per 1,000':>12} {'max |d rating|':>15}")
    for label, fits, seconds, gap in rows:
        print(f"{label:60} {fits:>6,} {seconds:>8.2f} {1000 * seconds / fits:>12.1f} {gap:>15}")
    result = fit_bradley_terry([f"m{i}" for i in range(n)], a, b, score, resamples=args.resamples)
    truth = 1000 + ELO_PER_UNIT * true
    inside = int(np.sum((result.lower <= truth) & (truth <= result.upper)))
    print(
        f"  * timed on {args.baseline_resamples} resamples, extrapolated\n"
        "  max |d rating|: largest difference from our point fit, rating points\n"
        f"  ours: truth inside the 95% interval for {inside}/{n} models; median width "
        f"{np.median(result.upper - result.lower):.0f} points; max |rating - truth| "
        f"{np.abs(result.rating - truth).max():.0f}; "
        f"{len(set(result.rank.tolist()))} distinct ranks"
    )


Row = tuple[str, int, float, str]


def point_rows(repeat: int, n: int, a: IntArray, b: IntArray, score: FloatArray) -> list[Row]:
    """One fit to all the games: the baselines, then ours (tallying included)."""

    def pairs_lbfgs() -> FloatArray:
        tally = tally_games(n, a, b, score)
        return lbfgs_pairs(tally, tally.cell_count)

    def pairs_newton() -> FloatArray:
        tally = tally_games(n, a, b, score)
        strengths: FloatArray = fit_strengths(tally, tally.cell_count[None, :], np.zeros((1, n)))
        return strengths.ravel()

    def games_lbfgs() -> FloatArray:
        return lbfgs_games(n, a, b, score)

    ours = pairs_newton()
    rows: list[Row] = []
    runs: list[tuple[str, Callable[[], FloatArray]]] = [
        ("baseline: L-BFGS over the games", games_lbfgs),
        ("baseline: tally + L-BFGS over the pairs", pairs_lbfgs),
        ("ours: tally + Newton over the pairs", pairs_newton),
    ]
    for label, run in runs:
        rows.append((label, 1, best_time(run, repeat), f"{rating_gap(run(), ours):.1e}"))
    return rows


def bootstrap_rows(
    args: argparse.Namespace, tally: Tally, a: IntArray, b: IntArray, score: FloatArray
) -> list[Row]:
    """The bootstrap: one-resample-at-a-time baselines (extrapolated), then ours."""
    n, few, resamples = tally.n, args.baseline_resamples, args.resamples

    def loop(fit: Callable[[IntArray], FloatArray]) -> Callable[[], None]:
        def run() -> None:
            rng = np.random.default_rng(0)
            for _ in range(few):
                fit(rng.integers(0, a.size, a.size))

        return run

    def by_pairs(pick: IntArray) -> FloatArray:
        picked = tally_games(n, a[pick], b[pick], score[pick])
        return lbfgs_pairs(picked, picked.cell_count)

    def draws() -> None:
        rng = np.random.default_rng(0)
        for begin in range(0, resamples, 50):
            draw_cells(tally.cell_count, min(50, resamples - begin), rng)

    rows: list[Row] = []
    by_games = loop(lambda pick: lbfgs_games(n, a[pick], b[pick], score[pick]))
    for label, run in (("games", by_games), ("pairs", loop(by_pairs))):
        seconds = best_time(run, args.repeat) * resamples / few
        rows.append(
            (
                f"baseline: {resamples:,} resamples, L-BFGS over the {label} *",
                resamples,
                seconds,
                "-",
            )
        )
    rows.append(
        (
            f"ours: drawing {resamples:,} resamples alone",
            resamples,
            best_time(draws, args.repeat),
            "-",
        )
    )
    names = [f"m{i}" for i in range(n)]
    total = best_time(
        lambda: fit_bradley_terry(names, a, b, score, resamples=resamples), args.repeat
    )
    rows.append(
        (f"ours: fit_bradley_terry, point + {resamples:,} resamples", resamples, total, "-")
    )
    return rows


if __name__ == "__main__":
    main()
