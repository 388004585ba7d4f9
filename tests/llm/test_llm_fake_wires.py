"""The fake provider's Responses API, reasoning and usage accounting over plain HTTP:
the shapes the real APIs send, so a client that reads them reads the real ones."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from snakebench.fakellm.server import FakeLLMServer
from snakebench.fakellm.usage import REASONING_TOKENS, fake_cost, usage_tokens
from snakebench.players.parse import parse_move

StartServer = Callable[..., FakeLLMServer]
PROMPT = "no board here, but answer anyway"


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_responses_reply_with_a_summary_and_reasoning_usage(fake_server: StartServer) -> None:
    server = fake_server()
    reasoning = {"effort": "high", "summary": "auto"}
    body = {"model": "o-fake", "input": PROMPT, "reasoning": reasoning, "max_output_tokens": 5000}
    status, reply = post(f"{server.url}/v1/responses", body)
    assert status == 200 and reply["object"] == "response" and reply["status"] == "completed"
    reasoning, message = reply["output"]
    assert reasoning["type"] == "reasoning"
    [summary] = reasoning["summary"]
    assert summary["type"] == "summary_text" and "I" in summary["text"]
    assert message["type"] == "message" and message["role"] == "assistant"
    [text] = message["content"]
    assert text["type"] == "output_text" and parse_move(text["text"])[1] == "final_line"
    usage = reply["usage"]
    assert usage["input_tokens"] == usage_tokens(PROMPT)
    assert usage["output_tokens_details"]["reasoning_tokens"] == REASONING_TOKENS["high"]
    assert usage["output_tokens"] == usage_tokens(text["text"]) + REASONING_TOKENS["high"]
    assert usage["input_tokens_details"]["cached_tokens"] == 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_responses_input_as_message_items_and_no_summary_unless_asked(
    fake_server: StartServer,
) -> None:
    server = fake_server()
    items = [{"role": "user", "content": [{"type": "input_text", "text": PROMPT}]}]
    status, reply = post(f"{server.url}/v1/responses", {"model": "m", "input": items})
    assert status == 200 and [item["type"] for item in reply["output"]] == ["message"]
    assert reply["usage"]["output_tokens_details"]["reasoning_tokens"] == 0
    assert reply["usage"]["input_tokens"] == usage_tokens(PROMPT)


def test_responses_errors_have_openais_shape(fake_server: StartServer) -> None:
    server = fake_server()
    status, reply = post(f"{server.url}/v1/responses", {"model": "m"})
    assert status == 400 and reply["error"]["type"] == "invalid_request_error"
    limited = fake_server(rate_limit_rate=1.0)
    status, reply = post(f"{limited.url}/v1/responses", {"model": "m", "input": PROMPT})
    assert status == 429 and reply["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("include", [True, False])
def test_usage_accounting_puts_a_cost_in_chat_usage(
    fake_server: StartServer, include: bool
) -> None:
    server = fake_server()
    body = {"model": "m", "messages": [{"role": "user", "content": PROMPT}],
            "usage": {"include": include}}  # fmt: skip
    status, reply = post(f"{server.url}/v1/chat/completions", body)
    usage = reply["usage"]
    assert status == 200 and ("cost" in usage) is include
    if include:
        assert usage["cost"] == fake_cost(usage["prompt_tokens"], usage["completion_tokens"])


def test_openrouter_reasoning_object_and_attribution_headers(fake_server: StartServer) -> None:
    server = fake_server()
    body = {"model": "m", "messages": [{"role": "user", "content": PROMPT}],
            "reasoning": {"effort": "minimal"}}  # fmt: skip
    headers = {"X-Title": "Bench", "HTTP-Referer": "https://bench.example"}
    status, reply = post(f"{server.url}/v1/chat/completions", body, headers)
    assert status == 200 and reply["choices"][0]["message"]["reasoning"]
    details = reply["usage"]["completion_tokens_details"]
    assert details["reasoning_tokens"] == REASONING_TOKENS["minimal"]
    post(f"{server.url}/v1/chat/completions", body, {"x-title": "Bench"})
    assert server.stats()["attribution"] == {
        "X-Title": {"Bench": 2},
        "HTTP-Referer": {"https://bench.example": 1},
    }
