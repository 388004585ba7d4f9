"""A move's Chat Completions request, built once per model and posted through the SDK
client (snakebench.providers.chat_request), against what the SDK's own
``chat.completions.create`` sends and returns: the same request (method, URL, headers,
JSON body) and the same completion read from the same reply, for every kind of model
option. Both go through one real SDK client over an in-memory transport (an SDK client
given its own HTTP client keeps the SDK's ``post``; the lean keep-alive path that stands
in for it otherwise is held to it in test_chat_transport.py)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

try:  # the HTTP library under the installed openai SDK: httpx2 from openai 3, httpx before
    import httpx2
except ImportError:  # pragma: no cover
    import httpx as httpx2  # type: ignore[no-redef]

from snakebench.providers import ModelSpec
from snakebench.providers.base import Completion, ProviderError
from snakebench.providers.openai_compat import OpenAICompatClient

PROMPT = 'You are snake 0.\n\n=== GAME STATE ===\n"quotes", \\ and ünïcode\n\nUP'

SPECS = [
    ModelSpec("plain", "openai-compatible", "m-plain", "http://fake.test/v1"),
    ModelSpec("openai", "openai", "gpt-x", "http://fake.test/v1", max_completion_tokens=900),
    ModelSpec(
        "tuned",
        "together",
        "m-tuned",
        "http://fake.test/v1",
        extra={"temperature": 0.2, "top_p": 0.9, "seed": 3, "stop": ["\n\n\n"]},
    ),
    ModelSpec(
        "thinks",
        "openai",
        "o-x",
        "http://fake.test/v1",
        extra={"reasoning_effort": "high", "metadata": {"run": "a"}},
    ),
    ModelSpec(
        "routed",
        "openrouter",
        "vendor/m",
        "https://openrouter.example/api/v1",
        extra={
            "provider": {"sort": "price", "data_collection": "deny"},
            "transforms": ["middle-out"],
            "reasoning": {"effort": "low"},
            "usage": {"include": True},
        },
    ),
    ModelSpec(
        "extras",
        "openai-compatible",
        "m-extras",
        "http://fake.test/v1",
        extra={
            "extra_headers": {"X-Custom": "1"},
            "extra_query": {"api-version": "2025-01-01"},
            "extra_body": {"top_k": 5},
            "logit_bias": {"50256": -100},
        },
    ),
]

REPLIES: list[dict[str, Any]] = [
    {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Go right.\nRIGHT"},
            }
        ],
        "usage": {"prompt_tokens": 700, "completion_tokens": 20, "total_tokens": 720},
    },
    {
        "id": "c2",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "length",
                "message": {"role": "assistant", "content": None, "reasoning": "hmm..."},
            }
        ],
        "usage": {
            "prompt_tokens": "700",
            "completion_tokens": 90.0,
            "total_tokens": 800,
            "completion_tokens_details": {"reasoning_tokens": "85"},
            "cost": 0.0012,
        },
    },
    {
        "choices": [{"message": {"content": "UP", "reasoning_content": "think"}}],
        "usage": {"prompt_tokens": 5, "total_tokens": 9, "cost": True},
    },
    {"choices": [], "error": {"message": "upstream overloaded"}},
    {"object": "error"},
    {
        "choices": [{"message": {"content": ["not", "text"]}, "finish_reason": None}],
        "usage": {"prompt_tokens": "many", "completion_tokens": 3, "total_tokens": 2.5},
    },
    {"choices": [{"message": {"content": "LEFT"}}]},
    [{"choices": [{"message": {"content": "LEFT"}}]}],
]


class Recorder:
    """An in-memory HTTP server: records each request, answers with ``reply`` as JSON
    (or the bytes ``raw``) under ``content_type``."""

    def __init__(
        self,
        reply: Any,
        status: int = 200,
        *,
        content_type: str = "application/json",
        raw: bytes | None = None,
    ) -> None:
        self.status, self.content_type = status, content_type
        self.body = raw if raw is not None else json.dumps(reply).encode()
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        headers = {"content-type": self.content_type}
        return httpx2.Response(self.status, content=self.body, headers=headers)


def clients(spec: ModelSpec, server: Recorder) -> tuple[OpenAICompatClient, openai.OpenAI]:
    """The client under test, its SDK client swapped for one over ``server``."""
    client = OpenAICompatClient(spec, spec.base_url, "sk-test", 30.0, {"X-Title": "bench"})
    client._sdk = openai.OpenAI(
        base_url=spec.base_url,
        api_key="sk-test",
        max_retries=0,
        timeout=30.0,
        default_headers={"X-Title": "bench"},
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
    )
    return client, client._sdk


def by_create(client: OpenAICompatClient, sdk: openai.OpenAI, prompt: str) -> object:
    """The move's request as the SDK's ``create`` makes it (how ``complete`` made it
    before), its errors mapped as ``complete`` maps them."""
    messages = [{"role": "user", "content": prompt}]
    return client._create(sdk.chat.completions.create, messages=messages)


def outcome(call: Any) -> Completion | str:
    try:
        return call()  # type: ignore[no-any-return]
    except ProviderError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_the_request_is_the_one_create_sends(spec: ModelSpec) -> None:
    server = Recorder(REPLIES[0])
    client, sdk = clients(spec, server)
    client.complete(PROMPT)
    by_create(client, sdk, PROMPT)
    ours, theirs = server.requests
    assert (ours.method, ours.url) == (theirs.method, theirs.url)
    assert dict(ours.headers) == dict(theirs.headers)
    assert json.loads(ours.content) == json.loads(theirs.content)
    assert json.loads(ours.content)["messages"] == [{"role": "user", "content": PROMPT}]


# What each of REPLIES read as when ``complete`` parsed replies into the SDK's
# ChatCompletion (its loose coercions included: "700" and 90.0 read as counts, a usage
# that fails validation kept as sent): the JSON is read directly now, to the same result.
NO_CHOICES = "TransientProviderError: model 'routed': reply without choices"
READ_BEFORE: list[Completion | str] = [
    Completion("Go right.\nRIGHT", 700, 20),
    Completion("", 700, 100, "hmm...", 85, 0.0012, truncated=True),
    Completion("UP", 5, 4, "think"),
    NO_CHOICES,
    NO_CHOICES,
    Completion(["not", "text"], 0, 3),  # type: ignore[arg-type]
    Completion("LEFT", 0, 0),
    NO_CHOICES,
]


@pytest.mark.parametrize(
    ("reply", "expected"), list(zip(REPLIES, READ_BEFORE, strict=True)), ids=range(len(REPLIES))
)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_reply_reads_as_before(reply: Any, expected: Completion | str, content_type: str) -> None:
    client, _ = clients(SPECS[4], Recorder(reply, content_type=content_type))
    assert outcome(lambda: client.complete(PROMPT)) == expected


def test_a_reply_that_is_not_json_is_no_answer() -> None:
    client, _ = clients(SPECS[4], Recorder(None, content_type="text/plain", raw=b"<html>busy"))
    assert outcome(lambda: client.complete(PROMPT)) == NO_CHOICES


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
def test_errors_map_as_they_do_from_create(status: int) -> None:
    server = Recorder({"error": {"message": f"status {status}"}}, status)
    client, sdk = clients(SPECS[0], server)
    ours = outcome(lambda: client.complete(PROMPT))
    theirs = outcome(lambda: by_create(client, sdk, PROMPT))
    assert isinstance(ours, str) and ours == theirs
