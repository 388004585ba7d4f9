"""LLM provider clients (official OpenAI and Anthropic SDKs); the offline fake server
they can talk to is :mod:`snakebench.fakellm`."""

from snakebench.providers.base import (
    Completion,
    MissingApiKeyError,
    ModelSpec,
    PermanentProviderError,
    ProviderClient,
    ProviderError,
    TransientProviderError,
)
from snakebench.providers.registry import PROVIDER_DEFAULTS, api_key_for, make_client
from snakebench.providers.retry import RetriesExhaustedError, RetryPolicy, call_with_retries

__all__ = [
    "PROVIDER_DEFAULTS",
    "Completion",
    "MissingApiKeyError",
    "ModelSpec",
    "PermanentProviderError",
    "ProviderClient",
    "ProviderError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "TransientProviderError",
    "api_key_for",
    "call_with_retries",
    "make_client",
]
