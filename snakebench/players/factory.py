"""From a stored model to a player object for one game."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from snakebench.config import Settings
from snakebench.players.base import Player
from snakebench.players.bots import make_bot

InvalidMovePolicy = Literal["random", "forfeit"]
INVALID_MOVE_POLICIES: tuple[InvalidMovePolicy, ...] = ("random", "forfeit")


def make_player(
    model: Any,
    *,
    seed: int,
    invalid_policy: str,
    settings: Settings,
    env: Mapping[str, str] | None = None,
) -> Player:
    """A bot for ``provider == "bot"`` models, else an LLM player over its provider.

    ``model`` is a :class:`snakebench.store.Model` row. Building an LLM player reads
    its API key from the environment, so a missing key fails here, before any move.
    """
    if model.provider == "bot":
        return make_bot(model.model_slug, seed, name=model.name)
    from snakebench.players.llm import LLMPlayer, RetryPolicy
    from snakebench.providers import make_client

    if invalid_policy not in INVALID_MOVE_POLICIES:
        raise ValueError(f"invalid-move policy must be random or forfeit, not {invalid_policy!r}")
    spec = model_spec(model)
    return LLMPlayer(
        spec,
        make_client(spec, settings, env),
        seed=seed,
        invalid_policy=invalid_policy,
        retry=RetryPolicy.from_settings(settings),
    )


def model_spec(model: Any) -> Any:
    """The provider-facing description of a stored model (no secrets: only the name
    of the environment variable that holds its key)."""
    from snakebench.providers import ModelSpec

    return ModelSpec(
        name=model.name,
        provider=model.provider,
        model_slug=model.model_slug,
        base_url=model.base_url,
        api_key_env=model.api_key_env,
        price_input_per_m=model.price_input_per_m,
        price_output_per_m=model.price_output_per_m,
        max_completion_tokens=model.max_completion_tokens,
        extra=dict(model.extra or {}),
    )
