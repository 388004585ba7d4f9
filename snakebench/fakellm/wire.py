"""The wire protocols the fake server speaks, as plain JSON shapes: OpenAI Chat
Completions, OpenAI Responses and Anthropic Messages.

Bodies follow the real APIs closely enough that the official SDKs parse them
(and map errors to their own exception classes) exactly as in production. Each wire
reads the request options that change a reply (reasoning, output cap, OpenRouter's
usage accounting) into a :class:`FakeRequest`, and dresses a :class:`FakeReply` the way
its API does.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Literal, Protocol

from snakebench.fakellm.usage import BUDGET, FakeReply, FakeRequest

ErrorKind = Literal["rate_limit", "server", "bad_request", "not_found"]
_ids = itertools.count(1)


class RequestError(ValueError):
    """The request body is not a request this protocol understands."""


class Wire(Protocol):
    def read_request(self, body: Any) -> FakeRequest:
        """The request; :class:`RequestError` if the body is unusable."""
        ...

    def success(self, model: str, reply: FakeReply) -> Any: ...

    def error(self, kind: ErrorKind, message: str) -> Any: ...


def _model_of(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise RequestError("the body needs a 'model' string")
    return str(body["model"])


def _last_user_text(messages: Any, what: str) -> str:
    """The text of the last user message; every API accepts content as a string or as
    a list of typed parts."""
    if not isinstance(messages, list) or not messages:
        raise RequestError(f"the body needs a non-empty {what!r} list")
    user = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not user:
        raise RequestError("no user message")
    content = user[-1].get("content")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise RequestError("the user message has no text")
    return content


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _openrouter_reasoning(body: dict[str, Any]) -> tuple[str | None, int | None, bool]:
    """(effort, budget, show) from Chat Completions reasoning fields: OpenAI's
    ``reasoning_effort`` (reasoning hidden, as OpenAI's) or OpenRouter's ``reasoning``
    object (reasoning sent back unless ``exclude``)."""
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):
        budget = _count(reasoning.get("max_tokens"))
        effort = reasoning.get("effort") or (BUDGET if budget else "medium")
        return str(effort), budget, not reasoning.get("exclude", False)
    effort = body.get("reasoning_effort")
    return (effort if isinstance(effort, str) else None), None, False


class OpenAIWire:
    """``POST /v1/chat/completions``, OpenRouter's extensions included: its ``reasoning``
    object (the text comes back in the message's ``reasoning``) and its usage accounting
    (``usage: {include: true}`` puts the call's cost in ``usage.cost``)."""

    def read_request(self, body: Any) -> FakeRequest:
        model = _model_of(body)
        effort, budget, show = _openrouter_reasoning(body)
        usage = body.get("usage")
        return FakeRequest(
            model=model,
            prompt=_last_user_text(body.get("messages"), "messages"),
            reasoning_effort=effort,
            reasoning_budget=budget,
            show_reasoning=show,
            output_cap=_count(body.get("max_completion_tokens")) or _count(body.get("max_tokens")),
            usage_cost=isinstance(usage, dict) and usage.get("include") is True,
        )

    def success(self, model: str, reply: FakeReply) -> Any:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.reasoning:
            message["reasoning"] = reply.reasoning
        usage: dict[str, Any] = {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        }
        if reply.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
        if reply.cost is not None:
            usage["cost"] = reply.cost
        return {
            "id": f"chatcmpl-fake{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "length" if reply.truncated else "stop",
                }
            ],
            "usage": usage,
            "system_fingerprint": None,
        }

    def error(self, kind: ErrorKind, message: str) -> Any:
        return _openai_error(kind, message)


def _openai_error(kind: ErrorKind, message: str) -> Any:
    """An error body in OpenAI's shape (both of its APIs use it)."""
    kinds = {
        "rate_limit": ("requests", "rate_limit_exceeded"),
        "server": ("server_error", None),
        "bad_request": ("invalid_request_error", None),
        "not_found": ("invalid_request_error", "unknown_url"),
    }
    error_type, code = kinds[kind]
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


class ResponsesWire:
    """``POST /v1/responses``, OpenAI's Responses API: ``input`` (a string or message
    items), ``reasoning: {effort, summary}``, ``max_output_tokens``. The reply's output
    holds a ``reasoning`` item with the summary when one was asked for, then the
    ``message`` item with the answer as ``output_text``."""

    def read_request(self, body: Any) -> FakeRequest:
        model = _model_of(body)
        given = body.get("input")
        prompt = given if isinstance(given, str) else _last_user_text(given, "input")
        reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
        summary = reasoning.get("summary") or reasoning.get("generate_summary")
        effort = reasoning.get("effort") or ("medium" if summary else None)
        return FakeRequest(
            model=model,
            prompt=prompt,
            reasoning_effort=effort if isinstance(effort, str) else None,
            show_reasoning=bool(summary),
            output_cap=_count(body.get("max_output_tokens")),
        )

    def success(self, model: str, reply: FakeReply) -> Any:
        serial = next(_ids)
        output: list[dict[str, Any]] = []
        if reply.reasoning or reply.reasoning_tokens:  # summary empty unless asked for
            summary = [{"type": "summary_text", "text": reply.reasoning}] if reply.reasoning else []
            output.append({"id": f"rs_fake{serial}", "type": "reasoning", "summary": summary})
        if reply.text:  # a reply the reasoning used up has no message at all
            text = {"type": "output_text", "text": reply.text, "annotations": [],
                    "logprobs": []}  # fmt: skip
            status = "incomplete" if reply.truncated else "completed"
            output.append({"id": f"msg_fake{serial}", "type": "message", "role": "assistant",
                           "status": status, "content": [text]})  # fmt: skip
        now = int(time.time())
        return {
            "id": f"resp_fake{serial}",
            "object": "response",
            "created_at": now,
            "completed_at": now,
            "status": "incomplete" if reply.truncated else "completed",
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if reply.truncated else None,
            "usage": {
                "input_tokens": reply.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": reply.output_tokens,
                "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
                "total_tokens": reply.input_tokens + reply.output_tokens,
            },
        }

    def error(self, kind: ErrorKind, message: str) -> Any:
        return _openai_error(kind, message)


class AnthropicWire:
    """``POST /v1/messages``; with ``thinking: {type: enabled, budget_tokens}`` the
    reply starts with a ``thinking`` block."""

    def read_request(self, body: Any) -> FakeRequest:
        model = _model_of(body)
        thinking = body.get("thinking")
        budget = _count(thinking.get("budget_tokens")) if isinstance(thinking, dict) else None
        enabled = isinstance(thinking, dict) and thinking.get("type") == "enabled"
        return FakeRequest(
            model=model,
            prompt=_last_user_text(body.get("messages"), "messages"),
            reasoning_effort=BUDGET if enabled else None,
            reasoning_budget=budget,
            show_reasoning=enabled,
            output_cap=_count(body.get("max_tokens")),
        )

    def success(self, model: str, reply: FakeReply) -> Any:
        content: list[dict[str, Any]] = []
        if reply.reasoning:
            content.append({"type": "thinking", "thinking": reply.reasoning,
                            "signature": "fake-signature"})  # fmt: skip
        content.append({"type": "text", "text": reply.text})
        return {
            "id": f"msg_fake{next(_ids)}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "max_tokens" if reply.truncated else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }

    def error(self, kind: ErrorKind, message: str) -> Any:
        kinds = {
            "rate_limit": "rate_limit_error",
            "server": "api_error",
            "bad_request": "invalid_request_error",
            "not_found": "not_found_error",
        }
        return {"type": "error", "error": {"type": kinds[kind], "message": message}}


WIRES: dict[str, Wire] = {
    "/v1/chat/completions": OpenAIWire(),
    "/v1/responses": ResponsesWire(),
    "/v1/messages": AnthropicWire(),
}
