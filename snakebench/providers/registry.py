"""From a :class:`ModelSpec` to a working client: the known providers and their keys.

Keys are looked up here, at call time, and only in the environment variable the
spec (or the provider's default) names. They go straight into the SDK client and
never into a spec, an error message, a repr or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from snakebench.config import Settings
from snakebench.providers.base import MissingApiKeyError, ModelSpec, ProviderClient

# Sent to servers that want no key (Ollama, local vLLM): the SDK insists on one.
DUMMY_API_KEY = "not-needed"


@dataclass(frozen=True)
class ProviderDefaults:
    sdk: Literal["openai", "anthropic"]
    base_url: str | None  # None: the SDK's own default URL
    api_key_env: str | None  # None: the server needs no key
    needs_base_url: bool = False


PROVIDER_DEFAULTS: dict[str, ProviderDefaults] = {
    "openai": ProviderDefaults("openai", None, "OPENAI_API_KEY"),
    "anthropic": ProviderDefaults("anthropic", None, "ANTHROPIC_API_KEY"),
    "openrouter": ProviderDefaults("openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "ollama": ProviderDefaults("openai", "http://localhost:11434/v1", None),
    "together": ProviderDefaults("openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "google": ProviderDefaults(
        "openai", "https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY"
    ),
    "openai-compatible": ProviderDefaults("openai", None, None, needs_base_url=True),
}


def provider_defaults(provider: str) -> ProviderDefaults:
    try:
        return PROVIDER_DEFAULTS[provider]
    except KeyError:
        known = ", ".join(PROVIDER_DEFAULTS)
        raise ValueError(f"unknown provider {provider!r}; known providers: {known}") from None


def api_key_for(spec: ModelSpec, env: Mapping[str, str] | None = None) -> str:
    """The key from the variable the spec names (else the provider's default).
    A named variable that is unset is an error; no variable means no key needed."""
    env = os.environ if env is None else env
    variable = spec.api_key_env or provider_defaults(spec.provider).api_key_env
    if variable is None:
        return DUMMY_API_KEY
    key = env.get(variable, "").strip()
    if not key:
        raise MissingApiKeyError(spec.name, variable)
    return key


def make_client(
    spec: ModelSpec, settings: Settings, env: Mapping[str, str] | None = None
) -> ProviderClient:
    """A client for ``spec`` whose calls time out after ``settings.move_timeout``."""
    defaults = provider_defaults(spec.provider)
    base_url = spec.base_url or defaults.base_url
    if defaults.needs_base_url and not base_url:
        raise ValueError(f"model {spec.name!r}: provider {spec.provider!r} needs a base_url")
    api_key = api_key_for(spec, env)
    # The SDKs are imported here, not at the top: they take ~2 s to import, and a
    # worker that forks per job would pay that for every game, bot games included.
    if defaults.sdk == "anthropic":
        from snakebench.providers.anthropic_client import AnthropicClient

        return AnthropicClient(spec, base_url, api_key, settings.move_timeout)
    headers = attribution_headers(settings) if spec.provider == "openrouter" else None
    if spec.api == "responses":
        from snakebench.providers.openai_responses import OpenAIResponsesClient

        return OpenAIResponsesClient(spec, base_url, api_key, settings.move_timeout, headers)
    from snakebench.providers.openai_compat import OpenAICompatClient

    return OpenAICompatClient(spec, base_url, api_key, settings.move_timeout, headers)


def attribution_headers(settings: Settings) -> dict[str, str]:
    """OpenRouter's app attribution (its rankings and the key's activity page show the
    app by these): ``HTTP-Referer`` and ``X-Title`` from the settings; an empty
    setting sends no header."""
    headers = {"HTTP-Referer": settings.openrouter_referer, "X-Title": settings.openrouter_title}
    return {name: value for name, value in headers.items() if value}
