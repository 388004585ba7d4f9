"""Who the placement ladder plays next (:mod:`snakebench.services.evaluation`): pure, no store.

The game that tells most about a new model's place is the one against the model whose
rating is closest to its own, weighted by how sure both ratings are, which is exactly
TrueSkill's match quality (:func:`match_quality`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import trueskill

from snakebench.ratings.trueskill_rating import ENVIRONMENT

MAX_GAMES_PER_OPPONENT = 2  # as the original ladder: a third game adds little


class Rated(Protocol):
    """What :func:`choose_opponent` reads of a model (a store row,
    :class:`snakebench.store.Model`, fits)."""

    @property
    def name(self) -> str: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def test_status(self) -> str: ...
    @property
    def games_played(self) -> int: ...
    @property
    def trueskill_mu(self) -> float: ...
    @property
    def trueskill_sigma(self) -> float: ...


def match_quality(a: Rated, b: Rated) -> float:
    """TrueSkill's draw probability for ``a`` v ``b`` (0..1): high when the means are
    close AND the sigmas small relative to beta, i.e. when the game's outcome is least
    predictable and so moves the new model's belief most."""
    rating = ENVIRONMENT.create_rating
    first, second = (rating(m.trueskill_mu, m.trueskill_sigma) for m in (a, b))
    return float(trueskill.quality_1vs1(first, second, env=ENVIRONMENT))


def choose_opponent(
    model: Rated,
    pool: Iterable[Rated],
    history: Mapping[str, int],
    *,
    cap: int = MAX_GAMES_PER_OPPONENT,
) -> Rated | None:
    """The most informative next opponent for ``model``, or None if there is none.

    Pure and deterministic. Candidates are the active, non-retired models of ``pool``
    other than ``model``. Those already played ``cap`` times (``history``: opponent
    name -> completed games) are left out while any other remains; among the rest the
    rated ones (``games_played`` > 0, however they were rated: evaluations,
    tournaments, bot batches) come first, the unrated (a fresh store's bots) only when
    no uncapped rated model is left. When every candidate is capped, the least played
    ones stay. Among those, the highest :func:`match_quality` wins; ties go to the
    name first in alphabetical order.
    """
    others = [
        m for m in pool if m.is_active and m.test_status != "retired" and m.name != model.name
    ]
    if not others:
        return None
    uncapped = [m for m in others if history.get(m.name, 0) < cap]
    fresh = [m for m in uncapped if m.games_played > 0] or uncapped
    if not fresh:
        least = min(history.get(m.name, 0) for m in others)
        fresh = [m for m in others if history.get(m.name, 0) == least]
    return min(fresh, key=lambda m: (-round(match_quality(model, m), 12), m.name))
