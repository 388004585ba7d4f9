"""What every LLM provider client is: a model description, one call, and its errors.

The game loop only needs "prompt in, text and token counts out", so that is the
whole client interface. The error classes carry the one decision the caller must
make: retry (transient), give up on the game as void (transient, too often), or
fail the game because the configuration is wrong (permanent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Every request carries an output cap (a call without one has no worst case to reserve):
# the model's own ``max_completion_tokens``, else this.
DEFAULT_MAX_TOKENS = 4096
# Chat-template tokens around the one user message (role markers, separators); generous.
PROMPT_OVERHEAD_TOKENS = 64


@dataclass(frozen=True)
class ModelSpec:
    """One model as the benchmark knows it. Holds the NAME of the variable with the
    API key, never the key itself, so specs may be stored, logged and shipped to
    workers freely."""

    name: str
    provider: str
    model_slug: str
    base_url: str | None = None
    api_key_env: str | None = None
    price_input_per_m: float = 0.0
    price_output_per_m: float = 0.0
    max_completion_tokens: int | None = None
    # Extra request parameters for the provider: the typed options of
    # :mod:`snakebench.providers.model_options` (reasoning_effort, OpenRouter routing...)
    # and free-form fields (temperature...).
    extra: dict[str, Any] = field(default_factory=dict)
    # Which API of the provider: None for its native one (Chat Completions for
    # OpenAI-compatible providers, Messages for Anthropic), else "chat" or "responses".
    api: str | None = None

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Dollars for one call: prices are per million tokens."""
        return (
            input_tokens * self.price_input_per_m + output_tokens * self.price_output_per_m
        ) / 1e6

    @property
    def output_cap(self) -> int:
        """The most output tokens one call may bill: the cap every request carries."""
        return self.max_completion_tokens or DEFAULT_MAX_TOKENS

    def worst_cost(self, prompt: str) -> float:
        """The most one call with ``prompt`` can cost: what a spending cap reserves.

        No tokenizer in use counts more tokens than the text has UTF-8 bytes (each
        token stands for at least one byte), so the bytes plus the template overhead
        bound the input; the output is bounded by the cap the request carries.
        """
        input_bound = len(prompt.encode("utf-8")) + PROMPT_OVERHEAD_TOKENS
        return self.cost(input_bound, self.output_cap)


@dataclass(frozen=True, slots=True)
class Completion:
    """One reply. ``output_tokens`` includes ``reasoning_tokens`` (every provider bills
    reasoning as output), so the price-based cost needs only the first two counts.
    ``reasoning`` is what the provider shows of the model's reasoning (a Responses API
    summary, Claude's thinking, an OpenRouter ``reasoning`` field), never the answer;
    ``provider_cost`` is the USD the provider itself reported for the call (OpenRouter's
    usage accounting), None when it reported none. ``truncated``: the reply stopped at
    the output cap (a reasoning model can spend it all thinking and answer nothing)."""

    text: str
    input_tokens: int
    output_tokens: int
    reasoning: str = ""
    reasoning_tokens: int = 0
    provider_cost: float | None = None
    truncated: bool = False


class ProviderClient(Protocol):
    """One model behind one API. Implementations raise only :class:`ProviderError`."""

    def complete(self, prompt: str) -> Completion: ...


class ProviderError(Exception):
    """A call to a provider did not produce a reply."""


class TransientProviderError(ProviderError):
    """Worth retrying: rate limits (429), server errors (5xx), 408, timeouts and
    connection failures. ``retry_after`` is the server's requested wait in seconds;
    ``maybe_billed`` says the request may have reached the model and been billed though
    no reply came back (a timeout), so its spend stays on the books at its worst case."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, maybe_billed: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_billed = maybe_billed


class PermanentProviderError(ProviderError):
    """Retrying cannot help (bad key, unknown model, bad request): the game fails
    with this error stored so someone fixes the configuration."""


class MissingApiKeyError(PermanentProviderError):
    """The environment lacks the model's key; raised before any request is made."""

    def __init__(self, model: str, env_var: str) -> None:
        super().__init__(f"model {model!r} needs {env_var} in the environment")
        self.model = model
        self.env_var = env_var
