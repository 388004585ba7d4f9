"""``snakebench models add``'s API choice and typed request options: each flag stores
what its provider expects, and each refuses bad input in one line (exit 2). The same
checks hold for entries that do not come from flags (``check_entry``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from snakebench.providers.model_options import OPTIONS, request_extra
from snakebench.services.catalog import CatalogError, check_entry

from .conftest import Invoke

OneLineError = Callable[..., None]
OPENROUTER = ("--provider", "openrouter", "--model", "openai/gpt-5")
OPENAI = ("--provider", "openai", "--model", "gpt-5")
RESPONSES = (*OPENAI, "--api", "responses")

GOOD: list[tuple[tuple[str, ...], str | None, dict[str, Any]]] = [
    (RESPONSES, "responses", {}),
    ((*OPENAI, "--api", "chat"), "chat", {}),
    ((*OPENAI, "--reasoning-effort", "minimal"), None, {"reasoning_effort": "minimal"}),
    ((*RESPONSES, "--reasoning-effort", "high", "--reasoning-summary", "auto"), "responses",
     {"reasoning_effort": "high", "reasoning_summary": "auto"}),
    ((*OPENROUTER, "--transforms", "middle-out"), None, {"transforms": ["middle-out"]}),
    ((*OPENROUTER, "--provider-order", "openai, azure", "--provider-sort", "throughput"), None,
     {"provider": {"order": ["openai", "azure"], "sort": "throughput"}}),
    ((*OPENROUTER, "--provider-only", "openai", "--provider-ignore", "deepinfra,together"),
     None, {"provider": {"only": ["openai"], "ignore": ["deepinfra", "together"]}}),
    ((*OPENROUTER, "--no-allow-fallbacks", "--data-collection", "deny"), None,
     {"provider": {"allow_fallbacks": False, "data_collection": "deny"}}),
    ((*OPENROUTER, "--allow-fallbacks"), None, {"provider": {"allow_fallbacks": True}}),
    ((*OPENROUTER, "--reasoning-max-tokens", "2000", "--reasoning-exclude"), None,
     {"reasoning": {"max_tokens": 2000, "exclude": True}}),
    ((*OPENROUTER, "--reasoning-effort", "low", "--extra", 'provider={"order": ["x"]}'), None,
     {"reasoning_effort": "low", "provider": {"order": ["x"]}}),
    ((*OPENROUTER, "--extra", 'provider={"order": ["x"]}', "--provider-sort", "price"), None,
     {"provider": {"order": ["x"], "sort": "price"}}),
]  # fmt: skip


@pytest.mark.parametrize(("flags", "api", "extra"), GOOD, ids=[" ".join(g[0][4:]) for g in GOOD])
def test_typed_flags_store_what_the_provider_expects(
    cli: Invoke, flags: tuple[str, ...], api: str | None, extra: dict[str, Any]
) -> None:
    added = cli("models", "add", "m", *flags)
    assert added.exit_code == 0, added.output
    shown = json.loads(cli("models", "show", "m").stdout)
    assert (shown["api"], shown["extra"]) == (api, extra)


BAD: list[tuple[tuple[str, ...], str]] = [
    ((*OPENAI, "--api", "batch"), "api must be one of chat, responses, not 'batch'"),
    (("--provider", "anthropic", "--model", "c", "--api", "responses"),
     "api 'responses' needs an OpenAI-compatible provider"),
    ((*OPENAI, "--reasoning-effort", "extreme"),
     "reasoning_effort must be one of none, minimal, low, medium, high, xhigh, max"),
    (("--provider", "anthropic", "--model", "c", "--reasoning-effort", "low"),
     "reasoning_effort needs an OpenAI-compatible provider, not anthropic"),
    ((*RESPONSES, "--reasoning-summary", "long"),
     "reasoning_summary must be one of auto, concise, detailed, not 'long'"),
    ((*OPENAI, "--reasoning-summary", "auto"), "reasoning_summary needs the Responses API"),
    ((*OPENROUTER, "--transforms", ","), "transforms must be a non-empty list of names"),
    ((*OPENAI, "--transforms", "middle-out"),
     "transforms is an OpenRouter option; this model's provider is openai"),
    ((*OPENROUTER, "--provider-order", "a" * 65), "provider.order holds 'aaaa"),
    ((*OPENROUTER, "--provider-only", " , "), "provider.only must be a non-empty list"),
    ((*OPENROUTER, "--provider-ignore", "bad\tname"), "provider.ignore holds 'bad\\tname'"),
    ((*OPENAI, "--allow-fallbacks"), "provider.allow_fallbacks is an OpenRouter option"),
    ((*OPENROUTER, "--provider-sort", "cheapest"),
     "provider.sort must be one of price, throughput, latency, not 'cheapest'"),
    ((*OPENROUTER, "--data-collection", "maybe"),
     "provider.data_collection must be one of allow, deny, not 'maybe'"),
    ((*OPENROUTER, "--reasoning-max-tokens", "0"),
     "reasoning.max_tokens must be a whole number >= 1, not 0"),
    ((*OPENROUTER, "--reasoning-max-tokens", "100", "--reasoning-effort", "high"),
     "reasoning_effort and reasoning.effort/max_tokens both set a reasoning amount"),
    ((*OPENAI, "--reasoning-exclude"), "reasoning.exclude is an OpenRouter option"),
    ((*OPENROUTER, "--extra", 'provider={"order": ["a"], "speed": 1}'),
     "provider.speed is not an option; provider takes order, only, ignore"),
    ((*OPENROUTER, "--extra", "provider=fast"), "provider must be a mapping of order"),
    ((*OPENAI, "--extra", "provider=fast"), "provider is an OpenRouter option"),
]  # fmt: skip


@pytest.mark.parametrize(("flags", "message"), BAD, ids=[" ".join(b[0][4:]) for b in BAD])
def test_bad_typed_flags_are_one_line_usage_errors(
    cli: Invoke, one_line_error: OneLineError, flags: tuple[str, ...], message: str
) -> None:
    one_line_error(cli("models", "add", "m", *flags), "model m: ", message)
    assert cli("models", "show", "m").exit_code == 2  # nothing stored


def test_every_option_with_a_flag_is_covered_by_good_and_bad_cases() -> None:
    for option in OPTIONS:
        if option.flag:
            assert any(option.flag in " ".join(flags) for flags, _, _ in GOOD), option.key
            assert any(option.flag in " ".join(flags) for flags, _ in BAD), option.key


def entry(provider: str, extra: dict[str, Any], api: str | None = None) -> dict[str, Any]:
    return {"name": "m", "provider": provider, "model_slug": "s", "api": api, "extra": extra}


def test_options_without_a_flag_are_checked_in_entries() -> None:
    """A model list sets OpenRouter's reasoning effort inside its reasoning object."""
    good = check_entry(entry("openrouter", {"reasoning": {"effort": "xhigh", "exclude": False}}))
    assert good["extra"] == {"reasoning": {"effort": "xhigh", "exclude": False}}
    bad = {
        "reasoning.effort must be one of": {"reasoning": {"effort": "huge"}},
        "reasoning takes effort or max_tokens, not both": {
            "reasoning": {"effort": "low", "max_tokens": 5}
        },
        "reasoning.exclude must be true or false, not 'yes'": {"reasoning": {"exclude": "yes"}},
        "transforms must be a non-empty list of names, not 'middle-out'": {
            "transforms": "middle-out"
        },
        "provider.order holds 3, which is not a name": {"provider": {"order": [3]}},
    }
    for message, extra in bad.items():
        with pytest.raises(CatalogError, match=message):
            check_entry(entry("openrouter", extra))
    assert check_entry(entry("google", {"reasoning_effort": "low"}))["api"] is None
    with pytest.raises(CatalogError, match="api must be one of chat, responses, not 3"):
        check_entry(entry("openai", {}, api=3))  # type: ignore[arg-type]


def test_request_bodies_take_each_apis_shape() -> None:
    openai = {"reasoning_effort": "high", "reasoning_summary": "detailed", "temperature": 1}
    assert request_extra(openai, provider="openai", api="responses") == {
        "reasoning": {"effort": "high", "summary": "detailed"},
        "temperature": 1,
    }
    assert request_extra({"reasoning_effort": "low"}, provider="openai", api=None) == {
        "reasoning_effort": "low"
    }
    routed = {"reasoning_effort": "low", "reasoning": {"exclude": True}, "transforms": ["m"]}
    assert request_extra(routed, provider="openrouter", api=None) == {
        "reasoning": {"effort": "low", "exclude": True},
        "transforms": ["m"],
        "usage": {"include": True},
    }
    assert routed["reasoning"] == {"exclude": True}  # the model's own extra is left alone
