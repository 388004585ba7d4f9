"""What a batch can cost at most, worked out before any game is enqueued.

The bound is the one the spending caps reserve call by call
(:meth:`snakebench.providers.ModelSpec.worst_cost`), taken over a whole game: every round
played to ``max_rounds``, every prompt at the largest size the board allows (every cell
listed, in bytes) carrying back a previous reply as long as the output cap, every reply
at the model's output cap. Real games cost far less (most end early; a token is several
bytes). The one assumption: a reply read back costs no more input tokens than it cost
output tokens (the same text, the same tokenizer). The running cap makes no assumption:
it reserves each real prompt's bytes. The cap itself is held while games play, call
by call (:mod:`snakebench.games.spending`), whatever the estimate said.
"""

from __future__ import annotations

from collections.abc import Sequence

from snakebench.engine import Rules, new_game
from snakebench.games.players import model_spec
from snakebench.games.prompts import lineup_prompt
from snakebench.players.base import Turn
from snakebench.players.prompt import RATIONALE_LIMIT
from snakebench.players.prompt_variants import DEFAULT_VARIANT, PromptVariant
from snakebench.providers.base import PROMPT_OVERHEAD_TOKENS
from snakebench.store import Model


class BudgetError(ValueError):
    """The most a batch can cost exceeds its ``max_cost``."""


def prompt_bound(rules: Rules, reply_tokens: int, variant: PromptVariant = DEFAULT_VARIANT) -> int:
    """An upper bound on a move's input tokens with ``variant``'s prompts: the opening
    prompt's UTF-8 bytes, every cell of the board listed twice (bodies, heads, apples)
    at its longest coordinate text, and a previous reply of ``reply_tokens`` (at most
    the prompt's length limit, 4 bytes a character). A variant holds the board and the
    previous reply once at most (:mod:`snakebench.players.prompt_variants`)."""
    state = new_game(rules, 0, ("0", "1"))
    prompt = variant.render(Turn("0", state, rules), None, None)
    cell = len(f"({rules.width},{rules.height}) ")
    board = 2 * cell * rules.width * rules.height
    reply = min(reply_tokens, 4 * RATIONALE_LIMIT)
    return len(prompt.encode("utf-8")) + board + reply + 256 + PROMPT_OVERHEAD_TOKENS


def price_per_game(model: Model, rules: Rules, prompt_variant: str | None = None) -> float:
    """The most one game can cost ``model``: ``max_rounds`` calls at their worst case,
    prompted with ``prompt_variant`` (None: the model's own)."""
    variant = lineup_prompt(model, prompt_variant)
    if variant is None:  # a bot
        return 0.0
    spec = model_spec(model)
    per_call = spec.cost(prompt_bound(rules, spec.output_cap, variant), spec.output_cap)
    return per_call * rules.max_rounds


def estimate_cost(
    models: Sequence[Model], games: int, rules: Rules, prompt_variant: str | None = None
) -> float:
    """The most ``games`` games can cost in USD when each of ``models`` plays once per
    game (mirroring swaps sides, not who plays), prompted with ``prompt_variant``
    (None: each model's own)."""
    return games * sum(price_per_game(model, rules, prompt_variant) for model in models)


def check_budget(estimate: float, max_cost: float | None, *, force: bool = False) -> None:
    """Raise :class:`BudgetError` when the bound ``estimate`` is over ``max_cost``
    (unless forced: the cap then stops the batch when it is spent)."""
    if max_cost is not None and estimate > max_cost and not force:
        raise BudgetError(
            f"the batch may cost up to ${estimate:.2f} (its worst case), over --max-cost "
            f"${max_cost:.2f}: raise it, play fewer games, or add --force (the cap still "
            "holds while games play)"
        )
