"""One model's Chat Completions request, built once and reused for every move.

The SDK's ``chat.completions.create`` rebuilds the whole request on every call: it walks
its ~40 typed parameters and checks each message against the union of the six message
types, about half of a move's CPU in the worker (docs/PERFORMANCE.md, "CPU per round").
Between two moves of a model only the prompt changes, so the model's own fields are
transformed by the SDK once, here, and each move posts them with its one user message
as the SDK client's ``post`` (the path ``create`` itself ends in) would: the same
headers, authentication, timeout and error classes (over the lean transport of
:mod:`snakebench.providers.chat_transport` where it can stand in for ``post``). The body
sent holds the same fields and values as ``create``'s (tests/llm/test_chat_request.py
compares the two requests).

The reply is read from its JSON rather than built into the SDK's ``ChatCompletion``
models (another fifth of a move's CPU): the fields a move needs are taken as the SDK's
loose construction leaves them (as sent), but the usage, which the SDK validates and
coerces where it can ("700" and 90.0 are counts), goes through the SDK's own
construction, so every figure reads as before (the same test holds replies of every
shape to what they read as through ``ChatCompletion``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openai._models import construct_type
from openai._utils import maybe_transform
from openai.types.chat import ChatCompletion, completion_create_params

CHAT_PATH = "/chat/completions"
# ``create`` arguments that are request options, not body fields (as the SDK's
# ``make_request_options`` maps them).
_OPTION_ARGS = {"extra_headers": "headers", "extra_query": "params", "extra_body": "extra_json"}


@dataclass(frozen=True)
class ChatRequest:
    """What every request of one model carries: its body fields beside the model and
    the messages, and the request options (extra headers, query and body; bearer auth,
    as ``create`` asks for it)."""

    fields: dict[str, Any]
    options: dict[str, Any]

    @classmethod
    def of(cls, kwargs: Mapping[str, Any]) -> ChatRequest:
        """From the keyword arguments the model's calls would give ``create``, besides
        ``model`` and ``messages``."""
        fields = {name: value for name, value in kwargs.items() if name not in _OPTION_ARGS}
        options: dict[str, Any] = {
            option: kwargs[name] for name, option in _OPTION_ARGS.items() if kwargs.get(name)
        }
        options["security"] = {"bearer_auth": True}
        schema = completion_create_params.CompletionCreateParamsNonStreaming
        return cls(maybe_transform(fields, schema) or {}, options)

    def body(self, model: str, prompt: str) -> dict[str, Any]:
        """The JSON body of one move's request (a lone user message needs no transform)."""
        return {"model": model, "messages": [{"role": "user", "content": prompt}], **self.fields}


def reply_document(reply: object) -> dict[str, Any] | None:
    """The JSON object of a reply as the SDK's ``post`` returns it with ``cast_to=object``:
    a reply under another content type comes as its text, which is read as JSON as the SDK
    does for a model type; None when it is not a JSON object."""
    if isinstance(reply, str):
        try:
            reply = json.loads(reply)
        except ValueError:
            return None
    return reply if isinstance(reply, dict) else None


_USAGE = ChatCompletion.model_fields["usage"]


def reply_usage(reply: Mapping[str, Any]) -> Any:
    """The reply's ``usage`` as ``ChatCompletion`` holds it: validated into the SDK's
    ``CompletionUsage`` (counts sent as strings or floats coerced) where it can be, else
    kept as sent."""
    return construct_type(
        value=reply.get("usage"), type_=_USAGE.annotation, metadata=_USAGE.metadata
    )
