"""Who the placement ladder plays next (:mod:`snakebench.services.evaluation`): pure, no store.

The game that tells most about a new model's place is the one against the model whose
rating is closest to its own, weighted by how sure both ratings are, which is exactly
TrueSkill's match quality (:func:`match_quality`).

Three optional tactics, the original SnakeBench's, narrow the candidates first
(:class:`Tactics`; ``evaluate --tactic``, ``SNAKEBENCH_PLACEMENT_TACTICS``); match
quality still chooses among what they leave:

- ``price-band``: the first opponents are the models priced within :data:`PRICE_BAND`
  times the new model's, each met once, before the ladder looks further afield;
- ``rematch``: after a loss by at most :data:`REMATCH_MARGIN` apple to an opponent
  met for the first time, that opponent once more (a close loss may be a fluke);
- ``climb``: after a win, the next model up the ratings (conservative skill,
  mu - 3 sigma) from the one beaten.

When two apply, a rematch comes before a climb, and both before the price band.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import trueskill

from snakebench.config import PLACEMENT_TACTICS
from snakebench.ratings.trueskill_rating import ENVIRONMENT, conservative

MAX_GAMES_PER_OPPONENT = 2  # as the original ladder: a third game adds little
PRICE_BAND = 4.0  # price-band: opponents priced within this factor of the new model
REMATCH_MARGIN = 1  # rematch: a loss by at most this many apples


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


@dataclass(frozen=True)
class LastGame:
    """The new model's latest completed game: whom it played, its result (won, lost
    or tied) and its apples minus the opponent's."""

    opponent: str
    result: str
    margin: int


@dataclass(frozen=True)
class Tactics:
    """Which tactics a ladder plays with (``names``, from :data:`PLACEMENT_TACTICS`),
    and what they read: the latest completed game and each model's price (USD per
    million tokens, input plus output, by name)."""

    names: frozenset[str] = frozenset()
    last: LastGame | None = None
    prices: Mapping[str, float] = field(default_factory=dict)


def check_tactics(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` without repeats, in order; ValueError naming an unknown one."""
    for name in names:
        if name not in PLACEMENT_TACTICS:
            raise ValueError(f"tactic must be one of {', '.join(PLACEMENT_TACTICS)}, not {name!r}")
    return tuple(dict.fromkeys(names))


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
    tactics: Tactics | None = None,
) -> Rated | None:
    """The most informative next opponent for ``model``, or None if there is none.

    Pure and deterministic. Candidates are the active, non-retired models of ``pool``
    other than ``model``. Those already played ``cap`` times (``history``: opponent
    name -> completed games) are left out while any other remains; among the rest the
    rated ones (``games_played`` > 0, however they were rated: evaluations,
    tournaments, bot batches) come first, the unrated (a fresh store's bots) only when
    no uncapped rated model is left. When every candidate is capped, the least played
    ones stay. ``tactics`` may narrow those further (:func:`_narrowed`). Among what
    is left, the highest :func:`match_quality` wins; ties go to the name first in
    alphabetical order.
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
    if tactics is not None and tactics.names:
        fresh = _narrowed(model, others, fresh, history, tactics) or fresh
    return min(fresh, key=lambda m: (-round(match_quality(model, m), 12), m.name))


def _narrowed(
    model: Rated,
    others: list[Rated],
    fresh: list[Rated],
    history: Mapping[str, int],
    tactics: Tactics,
) -> list[Rated]:
    """The candidates the first tactic that applies keeps; empty when none applies."""
    last, names = tactics.last, tactics.names
    if last is not None and "rematch" in names and _close_loss(last, history):
        return [m for m in others if m.name == last.opponent]
    if last is not None and "climb" in names and last.result == "won":
        above = _next_up(last.opponent, others, fresh)
        if above:
            return above
    if "price-band" in names and model.name in tactics.prices:
        price = tactics.prices[model.name]
        return [
            m
            for m in fresh
            if history.get(m.name, 0) == 0
            and m.name in tactics.prices
            and _within_band(price, tactics.prices[m.name])
        ]
    return []


def _close_loss(last: LastGame, history: Mapping[str, int]) -> bool:
    """A loss by at most :data:`REMATCH_MARGIN` apples at a first meeting: a rematch
    is played once, never a third game."""
    return (
        last.result == "lost"
        and -last.margin <= REMATCH_MARGIN
        and history.get(last.opponent, 0) == 1
    )


def _next_up(beaten: str, others: list[Rated], fresh: list[Rated]) -> list[Rated]:
    """The candidates rated (conservatively) just above ``beaten``; empty when the
    beaten model is gone or none is above it."""
    found = [m for m in others if m.name == beaten]
    if not found:
        return []
    floor = _skill(found[0])
    above = [m for m in fresh if m.games_played > 0 and _skill(m) > floor]
    if not above:
        return []
    lowest = min(_skill(m) for m in above)
    return [m for m in above if _skill(m) == lowest]


def _skill(model: Rated) -> float:
    return conservative(model.trueskill_mu, model.trueskill_sigma)


def _within_band(price: float, other: float) -> bool:
    """Whether two prices are within :data:`PRICE_BAND` of each other (two free
    models are; a free and a paid one are not)."""
    return max(price, other) <= PRICE_BAND * min(price, other)
