"""What a fan looks for beside the ratings: the site's totals, and a model's games with
how strong each opponent was at the time.

An opponent's rank at the time of a game is its place on the TrueSkill leaderboard
(conservative rating mu - 3 sigma, as :mod:`snakebench.services.leaderboard` ranks)
just before that game was rated, among the models rated by then: one plus the number
of them rated strictly higher. It is read from the rating history (every rating
change, in the order the ratings were applied), so it agrees with ``ratings rebuild``.
A game never rated (void, failed, running, against a retired model) has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from snakebench.store import get_model
from snakebench.store.highlight_queries import (
    ModelGame,
    SiteTotals,
    model_games,
    rating_timeline,
    site_totals,
)
from snakebench.store.models import TRUESKILL_MU, TRUESKILL_SIGMA

UNRATED = TRUESKILL_MU - 3 * TRUESKILL_SIGMA  # a model's rating before its first game

__all__ = ["ModelGame", "SiteTotals", "model_games_with_ranks", "ranks_at", "site_totals"]


@dataclass(frozen=True)
class RankedGame:
    """A model's game with its opponent's rank at the time (None: not rated)."""

    game: ModelGame
    opponent_rank: int | None


def ranks_at(wanted: Mapping[str, int]) -> dict[str, int]:
    """For each game id in ``wanted``, the rank its model id had just before the game
    was rated (see the module's doc); games never rated are left out."""
    ratings: dict[int, float] = {}
    ranks: dict[str, int] = {}
    current: str | None = None
    for game_id, model_id, mu, sigma in rating_timeline():
        if game_id != current:
            current = game_id
            if game_id in wanted:
                ranks[game_id] = _rank(ratings, wanted[game_id])
            if len(ranks) == len(wanted):
                break
        ratings[model_id] = mu - 3 * sigma
    return ranks


def _rank(ratings: Mapping[int, float], model_id: int) -> int:
    mine = ratings.get(model_id, UNRATED)
    return 1 + sum(1 for other, rating in ratings.items() if other != model_id and rating > mine)


def model_games_with_ranks(name: str, limit: int) -> list[RankedGame]:
    """The newest ``limit`` games of the model ``name``, each with its opponent's rank
    at the time."""
    # A game against itself comes once per slot: keep the first.
    games = list({g.game_id: g for g in reversed(model_games(get_model(name).id, limit))}.values())
    games.reverse()
    wanted = {g.game_id: g.opponent_id for g in games if g.opponent_id is not None}
    ranks = ranks_at(wanted) if wanted else {}
    return [RankedGame(game, ranks.get(game.game_id)) for game in games]
