"""TrueSkill as the original SnakeBench rates: same parameters, same ranks, same score.

The original (``backend/services/trueskill_engine.py`` upstream) rates every completed
game as a two-team match with the ``trueskill`` package: mu 25, sigma 25/3, beta 25/6,
tau 0.5, draw probability 0.1; a win, tie and loss are ranks 0, 1 and 2; its
leaderboard sorts on the conservative score mu - 3 sigma and shows 50 times that as a
"display" rating. Keeping all of it means our numbers compare with theirs.

Pure: ratings in, ratings out. The store applies an update inside a game's completion
transaction (:mod:`snakebench.store.rating_queries`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import trueskill

MU = 25.0
SIGMA = MU / 3.0
BETA = MU / 6.0
TAU = 0.5
DRAW_PROBABILITY = 0.1
DISPLAY_MULTIPLIER = 50.0  # the original's UI number: 50 x (mu - 3 sigma)

RESULT_RANK = {"won": 0, "tied": 1, "lost": 2}

ENVIRONMENT = trueskill.TrueSkill(
    mu=MU, sigma=SIGMA, beta=BETA, tau=TAU, draw_probability=DRAW_PROBABILITY
)


class Skill(NamedTuple):
    """A model's TrueSkill belief: mean and standard deviation."""

    mu: float = MU
    sigma: float = SIGMA

    @property
    def exposed(self) -> float:
        """The conservative score the leaderboard sorts on: mu - 3 sigma."""
        return conservative(self.mu, self.sigma)

    @property
    def display(self) -> float:
        """The original's display rating (its ``elo_rating`` column)."""
        return self.exposed * DISPLAY_MULTIPLIER


def conservative(mu: float, sigma: float) -> float:
    """mu - 3 sigma: a skill the model is ~99.9% sure to exceed."""
    return mu - 3.0 * sigma


def rate_match(skills: Sequence[Skill], results: Sequence[str]) -> list[Skill]:
    """New skills after one game: one entry per player, ``results`` won|tied|lost.

    Each player is its own team, as upstream rates it. A result outside the three is
    an error here (upstream quietly counted it as a tie): a game must not be rated on a
    guess.
    """
    if len(skills) != len(results) or len(skills) < 2:
        raise ValueError("rate_match needs one result per player and at least two players")
    unknown = [r for r in results if r not in RESULT_RANK]
    if unknown:
        raise ValueError(f"results must be won|tied|lost, not {unknown[0]!r}")
    teams = [(ENVIRONMENT.create_rating(mu=s.mu, sigma=s.sigma),) for s in skills]
    ranks = [RESULT_RANK[r] for r in results]
    rated = ENVIRONMENT.rate(teams, ranks=ranks)
    return [Skill(float(team[0].mu), float(team[0].sigma)) for team in rated]
