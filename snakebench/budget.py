"""What a batch will cost, estimated before any game is enqueued.

The estimate only has to be good enough to stop an expensive mistake (the wrong model,
a zero too many in ``--count``) before it costs anything; the budget itself is
enforced as games end, from the real costs they record (see ``run_stored_game``).
A model that has completed games is estimated by its own average; one that has not,
from its prices and a typical move's tokens over the longest possible game.
"""

from __future__ import annotations

from collections.abc import Sequence

from snakebench.players.factory import model_spec
from snakebench.store import Model, model_average_costs

# A typical move: the prompt (board, rules, history) in, a short rationale out.
INPUT_TOKENS_PER_MOVE = 1_500
OUTPUT_TOKENS_PER_MOVE = 400


class BudgetError(ValueError):
    """The estimated cost of a batch exceeds its ``max_cost``."""


def price_per_game(model: Model, max_rounds: int) -> float:
    """A game's cost from the model's prices, counting one move per round for every
    round: an upper bound, since most games end early."""
    if model.provider == "bot":
        return 0.0
    # The LLM player prices each real move with the same ModelSpec.cost.
    per_move = model_spec(model).cost(INPUT_TOKENS_PER_MOVE, OUTPUT_TOKENS_PER_MOVE)
    return per_move * max_rounds


def estimate_cost(models: Sequence[Model], games: int, max_rounds: int) -> float:
    """The estimated cost in USD of ``games`` games in which each of ``models`` plays
    once per game (mirroring swaps sides but not who plays, so it does not matter)."""
    averages = model_average_costs([model.id for model in models])
    per_game = sum(
        averages[model.id] if model.id in averages else price_per_game(model, max_rounds)
        for model in models
    )
    return per_game * games


def check_budget(estimate: float, max_cost: float | None, *, force: bool = False) -> None:
    """Raise :class:`BudgetError` when ``estimate`` is over ``max_cost`` (unless forced)."""
    if max_cost is not None and estimate > max_cost and not force:
        raise BudgetError(
            f"estimated cost ${estimate:.2f} exceeds --max-cost ${max_cost:.2f}; "
            "raise the budget, play fewer games, or add --force to dispatch anyway"
        )
