"""Registry, retry policy and error mapping, without a server."""

from __future__ import annotations

import random

import pytest

from snakebench.config import Settings
from snakebench.providers import (
    PROVIDER_DEFAULTS,
    MissingApiKeyError,
    ModelSpec,
    PermanentProviderError,
    RetryPolicy,
    TransientProviderError,
    api_key_for,
    make_client,
)
from snakebench.providers.anthropic_client import AnthropicClient
from snakebench.providers.http_errors import retry_after_seconds, status_error
from snakebench.providers.openai_compat import OpenAICompatClient
from snakebench.providers.openai_responses import OpenAIResponsesClient
from snakebench.providers.sdk_common import request_kwargs
from snakebench.services.catalog import CatalogError, check_entry

SECRET = "sk-live-abcdef0123456789"


def spec(provider: str, **kw: object) -> ModelSpec:
    return ModelSpec(name="m1", provider=provider, model_slug="slug", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("provider", "sdk_class", "variable"),
    [
        ("openai", OpenAICompatClient, "OPENAI_API_KEY"),
        ("anthropic", AnthropicClient, "ANTHROPIC_API_KEY"),
        ("openrouter", OpenAICompatClient, "OPENROUTER_API_KEY"),
        ("together", OpenAICompatClient, "TOGETHER_API_KEY"),
        ("google", OpenAICompatClient, "GEMINI_API_KEY"),
    ],
)
def test_each_provider_reads_its_own_variable(
    provider: str, sdk_class: type, variable: str
) -> None:
    client = make_client(spec(provider), Settings(), env={variable: SECRET})
    assert isinstance(client, sdk_class)
    assert SECRET not in repr(client)
    with pytest.raises(MissingApiKeyError, match=variable):
        make_client(spec(provider), Settings(), env={"SOMETHING_ELSE": SECRET})


def test_google_goes_through_geminis_openai_endpoint_with_max_tokens() -> None:
    """Gemini's OpenAI-compatible endpoint knows ``max_tokens`` (``max_completion_tokens``
    is OpenAI's own, for its reasoning models)."""
    client = make_client(spec("google"), Settings(), env={"GEMINI_API_KEY": SECRET})
    assert isinstance(client, OpenAICompatClient)
    assert str(client._sdk.base_url) == "https://generativelanguage.googleapis.com/v1beta/openai/"
    assert client._sdk.api_key == SECRET
    assert client._kwargs["max_tokens"] == 4096 and "max_completion_tokens" not in client._kwargs
    openai = make_client(spec("openai"), Settings(), env={"OPENAI_API_KEY": SECRET})
    assert isinstance(openai, OpenAICompatClient)
    assert openai._kwargs["max_completion_tokens"] == 4096 and "max_tokens" not in openai._kwargs


def test_responses_api_models_get_the_responses_client() -> None:
    env = {"OPENAI_API_KEY": SECRET}
    client = make_client(
        spec("openai", api="responses", max_completion_tokens=900), Settings(), env
    )
    assert isinstance(client, OpenAIResponsesClient)
    assert client._kwargs["max_output_tokens"] == 900
    assert isinstance(make_client(spec("openai", api="chat"), Settings(), env), OpenAICompatClient)


def test_only_openrouter_clients_send_attribution_headers() -> None:
    settings = Settings(openrouter_referer="https://bench.example", openrouter_title="Bench")
    routed = make_client(spec("openrouter"), settings, env={"OPENROUTER_API_KEY": SECRET})
    direct = make_client(spec("openai"), settings, env={"OPENAI_API_KEY": SECRET})
    assert isinstance(routed, OpenAICompatClient) and isinstance(direct, OpenAICompatClient)
    sent = routed._sdk.default_headers
    assert (sent["HTTP-Referer"], sent["X-Title"]) == ("https://bench.example", "Bench")
    assert "X-Title" not in direct._sdk.default_headers
    untitled = Settings(openrouter_title="")
    bare = make_client(spec("openrouter"), untitled, env={"OPENROUTER_API_KEY": SECRET})
    assert isinstance(bare, OpenAICompatClient)
    assert "X-Title" not in bare._sdk.default_headers and bare._sdk is not routed._sdk


def test_keys_come_only_from_the_named_variable() -> None:
    named = spec("openai", api_key_env="TEAM_KEY")
    assert api_key_for(named, {"TEAM_KEY": " k1 ", "OPENAI_API_KEY": "k2"}) == "k1"
    with pytest.raises(MissingApiKeyError) as caught:
        api_key_for(named, {"OPENAI_API_KEY": "k2", "TEAM_KEY": ""})
    assert str(caught.value) == "model 'm1' needs TEAM_KEY in the environment"


def test_keyless_servers_get_a_dummy_key() -> None:
    assert api_key_for(spec("ollama"), {}) == "not-needed"
    local = spec("openai-compatible", base_url="http://127.0.0.1:8000/v1")
    assert isinstance(make_client(local, Settings(), env={}), OpenAICompatClient)


def test_openai_compatible_needs_a_base_url() -> None:
    with pytest.raises(ValueError, match="needs a base_url"):
        make_client(spec("openai-compatible"), Settings(), env={})


def test_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        make_client(spec("skynet"), Settings(), env={})
    for name in PROVIDER_DEFAULTS:
        assert name in str(caught.value)


def test_sdk_clients_are_shared_per_endpoint_and_key() -> None:
    env = {"OPENROUTER_API_KEY": SECRET}
    a = make_client(spec("openrouter"), Settings(), env)
    b = make_client(spec("openrouter", extra={"temperature": 0.2}), Settings(), env)
    c = make_client(spec("openrouter"), Settings(), {"OPENROUTER_API_KEY": "other"})
    assert isinstance(a, OpenAICompatClient) and isinstance(b, OpenAICompatClient)
    assert isinstance(c, OpenAICompatClient)
    assert a._sdk is b._sdk
    assert a._sdk is not c._sdk


def test_extra_splits_into_sdk_kwargs_and_extra_body() -> None:
    def create(
        *, model: str, messages: list[object], temperature: float = 1.0, **_: object
    ) -> None:
        """Stands in for an SDK create method."""

    kwargs = request_kwargs({"temperature": 0.1, "provider": {"order": ["x"]}}, create)
    assert kwargs == {"temperature": 0.1, "extra_body": {"provider": {"order": ["x"]}}}
    with pytest.raises(ValueError, match="model"):
        request_kwargs({"model": "other"}, create)


@pytest.mark.parametrize(
    ("status", "transient"),
    [(400, False), (401, False), (403, False), (404, False), (422, False), (408, True),
     (409, True), (429, True), (500, True), (502, True), (503, True), (529, True)],
)  # fmt: skip
def test_status_codes_are_sorted(status: int, transient: bool) -> None:
    error = status_error("m", status, f"bad things with key {SECRET}\nmore", secret=SECRET)
    assert isinstance(error, TransientProviderError if transient else PermanentProviderError)
    assert SECRET not in str(error) and "\n" not in str(error)
    assert str(error).startswith(f"model 'm': HTTP {status}:")


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds({"Retry-After": "2"}) == 2.0
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after_seconds({"Retry-After": date}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"Retry-After": "-3"}) is None
    assert retry_after_seconds({}) is None


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy(10, base_delay=1.0, max_delay=30.0, rng=random.Random(4))
    for retry in range(8):
        ceiling = min(30.0, 2.0**retry)
        delays = [policy.delay(retry) for _ in range(300)]
        assert all(0 <= d <= ceiling for d in delays)
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9
    assert policy.delay(10_000) <= 30.0


def test_retry_after_is_a_floor_capped_by_max_delay() -> None:
    policy = RetryPolicy(3, base_delay=0.01, max_delay=4.0, rng=random.Random(0))
    assert 2.0 <= policy.delay(0, retry_after=2.0) <= 4.0
    assert policy.delay(0, retry_after=60.0) == 4.0


def test_policy_from_settings() -> None:
    settings = Settings(provider_retries=5, retry_base_delay=0.5, retry_max_delay=9.0)
    policy = RetryPolicy.from_settings(settings)
    assert (policy.attempts, policy.base_delay, policy.max_delay) == (5, 0.5, 9.0)
    with pytest.raises(ValueError):
        RetryPolicy(0, 1.0, 1.0)


@pytest.mark.parametrize(
    "extra",
    [
        {"extra_body": {"max_output_tokens": 100_000}},  # past the cap a budget reserved
        {"extra_body": {"max_tokens": 100_000}},
        {"n": 5},  # five choices: five times the bill
    ],
)
def test_extra_cannot_lift_the_output_cap_or_multiply_the_bill(extra: dict[str, object]) -> None:
    with pytest.raises(CatalogError, match="may not set"):
        check_entry({"name": "m", "provider": "openai", "model_slug": "gpt", "extra": extra})
    with pytest.raises(ValueError, match="may not set"):
        request_kwargs(extra, lambda **kwargs: None)
