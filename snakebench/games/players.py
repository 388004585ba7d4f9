"""From a stored model to a player object for one game."""

from __future__ import annotations

from collections.abc import Mapping

from snakebench.config import Settings
from snakebench.options import INVALID_MOVE_POLICIES
from snakebench.players.base import Player
from snakebench.players.bots import make_bot
from snakebench.players.llm import InvalidPolicy, LLMPlayer
from snakebench.players.prompt_variants import DEFAULT_VARIANT, PromptVariant
from snakebench.providers import ModelSpec, RetryPolicy, make_client
from snakebench.store import Model


def make_player(
    model: Model,
    *,
    seed: int,
    invalid_policy: InvalidPolicy | str,
    settings: Settings,
    env: Mapping[str, str] | None = None,
    prompt: PromptVariant | None = None,
) -> Player:
    """A bot for ``provider == "bot"`` models, else an LLM player over its provider,
    prompted with ``prompt`` (None: the ``default`` variant).

    Building an LLM player reads its API key from the environment, so a missing
    key fails here, before any move is asked for.
    """
    if model.provider == "bot":
        return make_bot(model.model_slug, seed, name=model.name)
    if invalid_policy not in INVALID_MOVE_POLICIES:
        raise ValueError(f"invalid-move policy must be random or forfeit, not {invalid_policy!r}")
    spec = model_spec(model)
    return LLMPlayer(
        spec,
        make_client(spec, settings, env),
        seed=seed,
        invalid_policy=invalid_policy,
        retry=RetryPolicy.from_settings(settings),
        prompt=prompt or DEFAULT_VARIANT,
    )


def model_spec(model: Model) -> ModelSpec:
    """The provider-facing description of a stored model. It holds no secret: only
    the name of the environment variable that holds the key."""
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
        api=model.api,
    )
