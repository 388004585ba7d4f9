"""The leaderboard: every model's rating with its interval, record, apples and cost.

Two rating methods, both over a model's rated games (completed, two different models,
none retired), the very games its record (games, wins, losses, ties, apples, cost)
counts: :func:`snakebench.store.model_records` defines them once for every view.

- ``trueskill``, the original's: the rating is the conservative score mu - 3 sigma and
  the interval mu +/- 1.96 sigma; ranks follow the conservative score, as upstream.
- ``bt``, the arenas': Bradley-Terry by maximum likelihood with bootstrap 95% intervals;
  a model's rank is one plus the number of models whose lower bound is above its upper
  bound, so models whose intervals overlap share a rank.

"Cost per point" puts a price on skill: the model's cost per game divided by how far
its rating stands above the floor (the lowest rating of any rated model, shown or
hidden by ``min_games``, so the filter does not change anyone's price). Free models (bots)
cost nothing per point; the floor model has no points to pay for (``None``).
All statistics come from one aggregate query (:func:`snakebench.store.model_records`),
whatever the number of games.

A prompt experiment's view (``prompt_variant``): each model's record (games, W-L-T,
win rate, apples per game, invalid moves, cost) counts only its rated games in which
it was prompted with that variant, and only models with such games are listed. The
ratings, ranks and intervals stay those of every rated game: TrueSkill is one global
rating per model, and a Bradley-Terry fit over a subset would answer another question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from snakebench.games.prompts import prompt_variant as known_prompt_variant
from snakebench.ratings.bradley_terry import fit_bradley_terry
from snakebench.store import ModelRecord, model_records, models_named, rated_lineups

METHODS = ("trueskill", "bt")
Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval


class LeaderboardError(ValueError):
    """A leaderboard that cannot be computed as asked (unknown method, bad options)."""


@dataclass(frozen=True)
class Row:
    """One model's line on the leaderboard."""

    rank: int
    model: str
    rating: float
    lower: float
    upper: float
    games: int
    wins: int
    losses: int
    ties: int
    win_rate: float
    apples_per_game: float
    invalid_move_rate: float
    fallback_parse_rate: float
    cost: float
    cost_per_game: float
    cost_per_point: float | None
    apples: int  # apples eaten over its games, all together
    top_score: int  # the most apples it ate in one game

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def leaderboard(
    method: str = "trueskill",
    *,
    min_games: int = 0,
    resamples: int = 1000,
    seed: int = 0,
    prompt_variant: str | None = None,
) -> list[Row]:
    """The leaderboard, best first. Bradley-Terry fits every rated game (the filter
    ``min_games`` only hides rows), with ``resamples`` bootstrap samples from ``seed``:
    the same games and seed always give the same board. With ``prompt_variant`` the
    records are over the games played under it (see the module's doc)."""
    if method not in METHODS:
        raise LeaderboardError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if min_games < 0:
        raise LeaderboardError(f"min games must be zero or more, got {min_games}")
    if prompt_variant is not None:
        known_prompt_variant(prompt_variant)  # an unknown name is an error, not an empty board
    records = model_records()
    if method == "bt":
        ratings = _bradley_terry(sorted(records), resamples=resamples, seed=seed)
    else:
        ratings = _trueskill(sorted(records))
    return select_rows(_rows(records, ratings), min_games=min_games, prompt_variant=prompt_variant)


def select_rows(
    rows: Sequence[Row], *, min_games: int = 0, prompt_variant: str | None = None
) -> list[Row]:
    """The rows of a whole board (every rated model) that a view shows: with
    ``prompt_variant``, each model's record over its games under that variant and its
    rating as it is; then those with at least ``min_games`` games. For a caller that
    keeps whole boards (the web caches its Bradley-Terry fits)."""
    if prompt_variant is not None:
        ratings = {row.model: (row.rating, row.lower, row.upper, row.rank) for row in rows}
        floor = min((row.rating for row in rows), default=0.0)
        records = model_records(prompt_variant=prompt_variant)
        rows = sorted(
            (_row(name, record, ratings[name], floor) for name, record in records.items()
             if name in ratings),
            key=_order,
        )  # fmt: skip
    return [row for row in rows if row.games >= min_games]


_Ratings = dict[str, tuple[float, float, float, int]]  # name -> rating, lower, upper, rank


def _trueskill(names: Sequence[str]) -> _Ratings:
    skills = models_named(names)
    scored = {
        name: (
            skills[name].trueskill_mu - 3 * skills[name].trueskill_sigma,
            skills[name].trueskill_mu - Z95 * skills[name].trueskill_sigma,
            skills[name].trueskill_mu + Z95 * skills[name].trueskill_sigma,
        )
        for name in names
    }
    order = sorted(names, key=lambda name: (-scored[name][0], name))
    return {name: (*scored[name], index + 1) for index, name in enumerate(order)}


def _bradley_terry(names: Sequence[str], *, resamples: int, seed: int) -> _Ratings:
    index = {name: i for i, name in enumerate(names)}
    games = _pairings(index)
    result = fit_bradley_terry(
        names, games[:, 0], games[:, 1], games[:, 2] / 2.0, resamples=resamples, seed=seed
    )
    return {
        name: (
            float(result.rating[i]),
            float(result.lower[i]),
            float(result.upper[i]),
            int(result.rank[i]),
        )
        for i, name in enumerate(names)
    }


def _pairings(index: dict[str, int]) -> np.ndarray:
    """Rated games as rows (model a, model b, 2 x score of a), slot 0 as a."""
    lineups = rated_lineups()
    points = {"won": 2, "tied": 1, "lost": 0}
    rows = [
        (index[a], index[b], points[result_a])
        for (a, result_a), (b, _) in (lineup for lineup in lineups.values() if len(lineup) == 2)
        if a in index and b in index
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _rows(records: dict[str, ModelRecord], ratings: _Ratings) -> list[Row]:
    floor = min((rating for rating, *_ in ratings.values()), default=0.0)
    return sorted((_row(name, records[name], ratings[name], floor) for name in ratings), key=_order)


def _order(row: Row) -> tuple[int, float, str]:
    return (row.rank, -row.rating, row.model)


def _row(
    name: str, record: ModelRecord, rated: tuple[float, float, float, int], floor: float
) -> Row:
    rating, lower, upper, rank = rated
    games = max(record.games, 1)
    cost_per_game = record.cost / games
    above = rating - floor
    return Row(
        rank=rank,
        model=name,
        rating=rating,
        lower=lower,
        upper=upper,
        games=record.games,
        wins=record.wins,
        losses=record.losses,
        ties=record.ties,
        win_rate=(record.wins + 0.5 * record.ties) / games,
        apples_per_game=record.apples / games,
        invalid_move_rate=record.invalid_moves / max(record.moves, 1),
        fallback_parse_rate=record.fallback_parses / max(record.moves, 1),
        cost=record.cost,
        cost_per_game=cost_per_game,
        cost_per_point=cost_per_game / above if above > 0 else None,
        apples=record.apples,
        top_score=record.top_score,
    )
