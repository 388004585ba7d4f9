"""Reasoning and provider-reported cost through the real SDKs against the fake provider:
OpenAI's Responses API (summaries, reasoning tokens, the output cap), reasoning on Chat
Completions (OpenAI's effort, OpenRouter's reasoning object and usage accounting, its
attribution headers) and Claude's thinking blocks."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from snakebench.config import Settings
from snakebench.fakellm.server import FakeLLMServer
from snakebench.fakellm.usage import REASONING_TOKENS, fake_cost
from snakebench.players.base import InfrastructureError, MoveDecision, Turn
from snakebench.players.llm import LLMPlayer
from snakebench.providers import ModelSpec, RetryPolicy, make_client
from snakebench.providers.openai_responses import OpenAIResponsesClient

StartServer = Callable[..., FakeLLMServer]
MakeTurn = Callable[..., Turn]
KEY_ENV = "FAKE_PROVIDER_KEY"
PRICE_IN, PRICE_OUT = 1.25, 10.0


def player(
    server: FakeLLMServer,
    *,
    provider: str = "openai",
    settings: Settings | None = None,
    attempts: int = 1,
    **fields: Any,
) -> LLMPlayer:
    """An LLM player on the fake: OpenAI-compatible providers at ``<url>/v1``, Claude at
    ``<url>``; ``fields`` are the ModelSpec's (api, extra, max_completion_tokens...)."""
    spec = ModelSpec(
        name=f"fake-{provider}",
        provider=provider,
        model_slug=f"fake-{provider}-slug",
        base_url=server.url if provider == "anthropic" else f"{server.url}/v1",
        api_key_env=KEY_ENV,
        price_input_per_m=PRICE_IN,
        price_output_per_m=PRICE_OUT,
        **fields,
    )
    client = make_client(spec, settings or Settings(move_timeout=5), {KEY_ENV: "sk-test"})
    retry = RetryPolicy(attempts, 0.01, 0.05, random.Random(1))
    return LLMPlayer(spec, client, seed=3, retry=retry, sleep=lambda _: None)


def priced(decision: MoveDecision) -> float:
    return (decision.input_tokens * PRICE_IN + decision.output_tokens * PRICE_OUT) / 1e6


def test_responses_api_keeps_the_summary_and_prices_reasoning_as_output(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    server = fake_server()
    extra = {"reasoning_effort": "high", "reasoning_summary": "auto"}
    responses = player(server, api="responses", extra=extra)
    assert isinstance(responses._client, OpenAIResponsesClient)
    decision = responses.choose(make_turn())
    assert decision.parse == "final_line" and not decision.invalid
    assert decision.reasoning.startswith("I checked which moves keep my snake alive")
    assert str(decision.move) in decision.reasoning
    assert decision.reasoning_tokens == REASONING_TOKENS["high"]
    assert decision.output_tokens > decision.reasoning_tokens  # the answer's tokens too
    assert decision.cost == pytest.approx(priced(decision))
    assert decision.provider_cost is None  # OpenAI reports no cost
    record = decision.record()
    assert list(record)[:3] == ["move", "rationale", "reasoning"]
    assert record["reasoning_tokens"] == REASONING_TOKENS["high"]
    assert "provider_cost" not in record
    assert server.stats()["models"]["fake-openai-slug"]["ok"] == 1


def test_responses_api_without_a_summary_still_counts_reasoning(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    server = fake_server()
    decision = player(server, api="responses", extra={"reasoning_effort": "low"}).choose(
        make_turn()
    )
    assert decision.reasoning == "" and "reasoning" not in decision.record()
    assert decision.reasoning_tokens == REASONING_TOKENS["low"]


def test_responses_api_honours_the_output_cap(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    """The cap goes out as max_output_tokens. A model whose reasoning takes it all
    answers nothing (status incomplete, as the real API): the move is invalid, billed
    at the cap, and the replay says it was cut off rather than malformed."""
    server = fake_server()
    capped = player(
        server, api="responses", max_completion_tokens=60, extra={"reasoning_effort": "max"}
    )
    decision = capped.choose(make_turn())
    assert decision.output_tokens == decision.reasoning_tokens == 60
    assert decision.invalid and decision.truncated and decision.retries == 0
    assert "[reply cut off at the output cap of 60 tokens; random move" in decision.rationale
    assert decision.record()["truncated"] is True


@pytest.mark.parametrize(
    ("provider", "fields"),
    [
        ("openai", {"extra": {"reasoning_effort": "high"}}),  # Chat: finish_reason length
        ("anthropic", {"extra": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}),
    ],
)
def test_a_reply_stopped_by_the_output_cap_is_marked_truncated(
    fake_server: StartServer, make_turn: MakeTurn, provider: str, fields: dict[str, Any]
) -> None:
    server = fake_server()
    decision = player(server, provider=provider, max_completion_tokens=100, **fields).choose(
        make_turn()
    )
    assert decision.truncated and decision.output_tokens == 100
    roomy = player(server, provider=provider, max_completion_tokens=4000, **fields)
    assert not roomy.choose(make_turn()).truncated


def test_responses_api_errors_are_retried_then_void(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    server = fake_server(rate_limit_rate=1.0, retry_after=0)
    with pytest.raises(InfrastructureError, match="HTTP 429"):
        player(server, api="responses", attempts=2).choose(make_turn())
    assert server.stats()["total"]["rate_limited"] == 2


def test_chat_completions_count_openai_reasoning_tokens(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    """OpenAI's Chat Completions report reasoning tokens but show no reasoning."""
    server = fake_server()
    decision = player(server, extra={"reasoning_effort": "medium"}).choose(make_turn())
    assert decision.reasoning_tokens == REASONING_TOKENS["medium"] and decision.reasoning == ""
    assert decision.cost == pytest.approx(priced(decision))


def test_openrouter_reports_its_cost_and_reasoning(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    server = fake_server()
    extra = {"reasoning": {"max_tokens": 100}, "transforms": ["middle-out"],
             "provider": {"sort": "price", "allow_fallbacks": False}}  # fmt: skip
    decision = player(server, provider="openrouter", extra=extra).choose(make_turn())
    assert decision.reasoning_tokens == 100
    assert str(decision.move) in decision.reasoning
    assert decision.provider_cost == pytest.approx(
        fake_cost(decision.input_tokens, decision.output_tokens)
    )
    assert decision.cost == pytest.approx(priced(decision))  # ours, beside theirs
    record = decision.record()
    assert record["provider_cost"] == decision.provider_cost and record["cost"] == decision.cost


def test_openrouter_reasoning_can_be_excluded(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    server = fake_server()
    extra = {"reasoning_effort": "low", "reasoning": {"exclude": True}}
    decision = player(server, provider="openrouter", extra=extra).choose(make_turn())
    assert decision.reasoning == "" and decision.reasoning_tokens == REASONING_TOKENS["low"]


def test_attribution_headers_go_to_openrouter_only(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    server = fake_server()
    settings = Settings(
        move_timeout=5, openrouter_referer="https://bench.example", openrouter_title="Bench X"
    )
    for _ in range(2):
        player(server, provider="openrouter", settings=settings).choose(make_turn())
    player(server, provider="openrouter").choose(make_turn())  # the default title
    player(server, settings=settings).choose(make_turn())  # OpenAI: no attribution
    attribution = server.stats()["attribution"]
    assert attribution["X-Title"] == {"Bench X": 2, "SnakeBench": 1}
    assert attribution["HTTP-Referer"] == {"https://bench.example": 2}
    assert server.stats()["total"]["requests"] == 4


def test_claude_thinking_is_kept_as_reasoning(
    fake_server: StartServer, make_turn: MakeTurn
) -> None:
    server = fake_server()
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    decision = player(server, provider="anthropic", extra=thinking).choose(make_turn())
    assert str(decision.move) in decision.reasoning
    assert decision.reasoning not in decision.rationale  # the answer is the text block only
    assert decision.reasoning_tokens == 0  # Claude reports no separate count
    assert decision.cost == pytest.approx(priced(decision))


def test_reasoning_content_of_deepseek_style_servers_is_read() -> None:
    """DeepSeek (and vLLM's reasoning parsers) put the reasoning in ``reasoning_content``;
    the SDK keeps such extra fields, the client reads them (the fake sends OpenRouter's
    ``reasoning`` instead, so the reply's JSON is built here)."""
    reply = (
        {"id": "x", "object": "chat.completion", "created": 0, "model": "deepseek-reasoner",
         "choices": [{"index": 0, "finish_reason": "stop", "message": {
             "role": "assistant", "content": "UP", "reasoning_content": "Up is free."}}],
         "usage": {"prompt_tokens": 10, "completion_tokens": 30, "total_tokens": 40,
                   "completion_tokens_details": {"reasoning_tokens": 28}}}
    )  # fmt: skip
    spec = ModelSpec(name="ds", provider="openai-compatible", model_slug="deepseek-reasoner",
                     base_url="http://127.0.0.1:9/v1")  # fmt: skip
    client = make_client(spec, Settings(), env={})
    completion = client._completion(reply)  # type: ignore[attr-defined]
    assert (completion.text, completion.reasoning) == ("UP", "Up is free.")
    assert (completion.output_tokens, completion.reasoning_tokens) == (30, 28)
    assert completion.provider_cost is None


def test_reasoning_left_out_of_completion_tokens_is_still_priced() -> None:
    """A server reporting thoughts only in total_tokens (some Gemini gateways): the
    output counted is what the total says the model produced."""
    reply = (
        {"id": "x", "object": "chat.completion", "created": 0, "model": "gemini-2.5-flash",
         "choices": [{"index": 0, "finish_reason": "stop",
                      "message": {"role": "assistant", "content": "LEFT"}}],
         "usage": {"prompt_tokens": 21, "completion_tokens": 2, "total_tokens": 83,
                   "completion_tokens_details": {"reasoning_tokens": 60}}}
    )  # fmt: skip
    spec = ModelSpec(name="g", provider="google", model_slug="gemini-2.5-flash")
    client = make_client(spec, Settings(), env={"GEMINI_API_KEY": "k"})
    completion = client._completion(reply)  # type: ignore[attr-defined]
    assert (completion.input_tokens, completion.output_tokens) == (21, 62)
    assert completion.reasoning_tokens == 60
