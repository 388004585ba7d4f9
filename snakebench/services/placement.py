"""Scheduled placement: start the evaluation of every new model without anyone
typing ``snakebench evaluate``, as the original's cron service does.

A sweep (:func:`place_new_models`, scheduled by ``jobs.cron`` every
``SNAKEBENCH_PLACEMENT_EVERY`` seconds) takes the models never evaluated
(:func:`snakebench.store.evaluation_queries.never_evaluated`: active, ``untested``,
not one of the built-in bots), oldest first, and starts the usual placement ladder
(:func:`snakebench.services.evaluation.start_evaluation`) for each, with
``SNAKEBENCH_PLACEMENT_GAMES`` games and the ``SNAKEBENCH_PLACEMENT_TACTICS``, on the
low-priority queue, until ``SNAKEBENCH_PLACEMENT_MAX_MODELS`` are started.

Each ladder's worst case (:func:`worst_case`, the bound ``dispatch --max-cost`` uses,
over every game the ladder may create, replacements included, each against the
dearest possible opponent) must fit in what is left of the sweep's
``SNAKEBENCH_PLACEMENT_BUDGET``; a model that does not fit is skipped and named,
and a cheaper one after it may still start. The spending caps still hold while the
games play, whatever the estimate said.

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import redis

from snakebench.config import Settings
from snakebench.engine import Rules
from snakebench.games.simulation import GameParams
from snakebench.providers.base import ProviderError
from snakebench.services.budget import price_per_game
from snakebench.services.evaluation import (
    EvaluationError,
    advance,
    max_games_for,
    start_evaluation,
)
from snakebench.store import BOT_MODELS, Model
from snakebench.store.evaluation_queries import never_evaluated, pool

log = logging.getLogger(__name__)
PRIORITY = "low"  # scheduled ladders give way to the games an operator asked for


@dataclass
class Sweep:
    """What one sweep did: the evaluations it started (model, id, worst case) and the
    models it left, with why; ``committed`` is the worst case of those started."""

    budget: float
    started: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    committed: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"budget": self.budget, "committed": round(self.committed, 6),
                "started": self.started, "skipped": self.skipped}  # fmt: skip


def worst_case(model: Model, games: int, rules: Rules, opponents: list[Model]) -> float:
    """The most a ladder of ``games`` games for ``model`` can cost (USD): every game it
    may create (:func:`snakebench.services.evaluation.max_games_for`) at the model's
    worst case plus the dearest opponent's."""
    dearest = max((price_per_game(m, rules) for m in opponents if m.id != model.id), default=0.0)
    return max_games_for(games) * (price_per_game(model, rules) + dearest)


def place_new_models(connection: redis.Redis, settings: Settings) -> Sweep:
    """Start the placement of new models within the sweep's budget (see the module)."""
    sweep = Sweep(budget=settings.placement_budget)
    params = GameParams(max_rounds=100)  # what `snakebench evaluate` plays by default
    for model in never_evaluated(excluded=BOT_MODELS):
        if len(sweep.started) >= settings.placement_max_models:
            break
        try:
            _place(model, sweep, params, settings, connection)
        except REFUSALS as exc:  # e.g. a missing API key, a removed prompt variant
            sweep.skipped.append({"model": model.name, "reason": str(exc)})
    _log(sweep)
    return sweep


# What makes one model's placement impossible, not the sweep's: it is skipped, named.
REFUSALS = (EvaluationError, LookupError, ValueError, ProviderError)


def _place(
    model: Model, sweep: Sweep, params: GameParams, settings: Settings, connection: redis.Redis
) -> None:
    """Start ``model``'s ladder if its worst case fits what is left of the budget."""
    cost = worst_case(model, settings.placement_games, params.rules(), pool())
    if sweep.committed + cost > sweep.budget:
        left = sweep.budget - sweep.committed
        sweep.skipped.append({"model": model.name, "reason": (
            f"its ladder may cost up to ${cost:.2f}, over the ${left:.2f} left of "
            "SNAKEBENCH_PLACEMENT_BUDGET")})  # fmt: skip
        return
    ev = start_evaluation(
        model.name, settings.placement_games, params=params, priority=PRIORITY,
        settings=settings, tactics=settings.placement_tactics,
    )  # fmt: skip
    advance(ev.id, connection, settings=settings)
    sweep.committed += cost
    sweep.started.append({"model": model.name, "evaluation_id": ev.id,
                          "worst_case": round(cost, 6)})  # fmt: skip


def _log(sweep: Sweep) -> None:
    for started in sweep.started:
        log.info("placement: evaluation %s of %s started (worst case $%.2f)",
                 started["evaluation_id"], started["model"], started["worst_case"])  # fmt: skip
    for skipped in sweep.skipped:
        log.warning("placement: %s not placed: %s", skipped["model"], skipped["reason"])
