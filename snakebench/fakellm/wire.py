"""The two wire protocols the fake server speaks, as plain JSON shapes.

Bodies follow the real APIs closely enough that the official SDKs parse them
(and map errors to their own exception classes) exactly as in production.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Literal, Protocol

ErrorKind = Literal["rate_limit", "server", "bad_request", "not_found"]
_ids = itertools.count(1)


class RequestError(ValueError):
    """The request body is not a request this protocol understands."""


class Wire(Protocol):
    def read_request(self, body: Any) -> tuple[str, str]:
        """``(model, prompt)``; :class:`RequestError` if the body is unusable."""
        ...

    def success(self, model: str, text: str, input_tokens: int, output_tokens: int) -> Any: ...

    def error(self, kind: ErrorKind, message: str) -> Any: ...


def _prompt_of(body: Any) -> tuple[str, str]:
    """The model and the text of the last user message; both APIs accept content
    as a string or as a list of typed parts."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise RequestError("the body needs a 'model' string")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("the body needs a non-empty 'messages' list")
    user = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not user:
        raise RequestError("no user message")
    content = user[-1].get("content")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise RequestError("the user message has no text")
    return body["model"], content


class OpenAIWire:
    """``POST /v1/chat/completions``."""

    def read_request(self, body: Any) -> tuple[str, str]:
        return _prompt_of(body)

    def success(self, model: str, text: str, input_tokens: int, output_tokens: int) -> Any:
        return {
            "id": f"chatcmpl-fake{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            },
            "system_fingerprint": None,
        }

    def error(self, kind: ErrorKind, message: str) -> Any:
        kinds = {
            "rate_limit": ("requests", "rate_limit_exceeded"),
            "server": ("server_error", None),
            "bad_request": ("invalid_request_error", None),
            "not_found": ("invalid_request_error", "unknown_url"),
        }
        error_type, code = kinds[kind]
        return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


class AnthropicWire:
    """``POST /v1/messages``."""

    def read_request(self, body: Any) -> tuple[str, str]:
        return _prompt_of(body)

    def success(self, model: str, text: str, input_tokens: int, output_tokens: int) -> Any:
        return {
            "id": f"msg_fake{next(_ids)}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
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
    "/v1/messages": AnthropicWire(),
}
