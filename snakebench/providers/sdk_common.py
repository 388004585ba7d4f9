"""Plumbing both SDK clients share: one SDK client per endpoint, request extras,
and SDK exceptions turned into our two kinds of provider error.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from snakebench.providers.base import ProviderError, TransientProviderError
from snakebench.providers.http_errors import one_line, status_error

T = TypeVar("T")

# Fields the clients set themselves; an ``extra`` entry must not replace them. The
# output caps (Chat Completions', Messages', the Responses API's) are the spending
# caps' worst case, and ``n`` (several choices) would multiply what a call bills.
RESERVED_PARAMS = frozenset(
    {"model", "messages", "input", "stream", "timeout", "max_tokens", "max_completion_tokens",
     "max_output_tokens", "n"}
)  # fmt: skip


def reserved_in(extra: Mapping[str, Any]) -> list[str]:
    """The reserved fields ``extra`` would set, at the top or inside ``extra_body`` (which
    the SDKs merge into the request last, over the fields they set)."""
    body = extra.get("extra_body")
    nested = body if isinstance(body, Mapping) else {}
    found = RESERVED_PARAMS.intersection(extra)
    found |= {f"extra_body.{name}" for name in RESERVED_PARAMS.intersection(nested)}
    return sorted(found)


_SDK_CLIENTS: dict[tuple[object, ...], object] = {}
_SDK_LOCK = threading.Lock()


def shared_sdk_client(
    kind: str,
    base_url: str | None,
    api_key: str,
    timeout: float,
    factory: Callable[[], T],
    headers: Mapping[str, str] | None = None,
) -> T:
    """The SDK client for an endpoint, made once per process.

    A game makes hundreds of calls to the same endpoint; one SDK client keeps its
    HTTP connections alive between them, saving a TLS handshake per move. The key
    is stored only as a hash, and the process id is part of the cache key so a
    forked worker never reuses its parent's sockets. ``headers`` are the default
    headers ``factory`` gives the client (OpenRouter's attribution), part of the key.
    """
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    sent = tuple(sorted((headers or {}).items()))
    key = (kind, base_url, digest, timeout, sent, os.getpid())
    with _SDK_LOCK:
        client = _SDK_CLIENTS.get(key)
        if client is None:
            client = _SDK_CLIENTS[key] = factory()
    return cast(T, client)


def request_kwargs(extra: Mapping[str, Any], method: Callable[..., Any]) -> dict[str, Any]:
    """Keyword arguments for an SDK ``create`` method from a model's ``extra``.

    Names the method accepts pass as they are (typed, validated by the SDK);
    anything else (provider-specific, e.g. OpenRouter routing) goes into
    ``extra_body`` so a new provider option needs no code change here.
    """
    clash = reserved_in(extra)
    if clash:
        raise ValueError(f"extra parameters may not set {', '.join(clash)}")
    known = inspect.signature(method).parameters
    kwargs: dict[str, Any] = {}
    body: dict[str, Any] = dict(extra.get("extra_body") or {})
    for name, value in extra.items():
        if name == "extra_body":
            continue
        if name in known:
            kwargs[name] = value
        else:
            body[name] = value
    if body:
        kwargs["extra_body"] = body
    return kwargs


def usage_count(usage: Any, *path: str) -> int:
    """A token count from a usage object, following ``path`` through nested details
    (``completion_tokens_details.reasoning_tokens``); 0 where a server left it out."""
    value: Any = usage
    for name in path:
        value = getattr(value, name, None)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def billed_tokens(usage: Any, input_name: str, output_name: str) -> tuple[int, int]:
    """(input, output) tokens of an OpenAI-style usage object. Output is at least
    ``total_tokens - input``: OpenAI counts reasoning inside the output figure, but a
    server that reports it only in the total (some Gemini gateways do) would otherwise
    have its reasoning go unpriced. Erring high here errs towards money spent."""
    tokens_in = usage_count(usage, input_name)
    total = usage_count(usage, "total_tokens")
    return tokens_in, max(usage_count(usage, output_name), total - tokens_in)


def reported_cost(usage: Any) -> float | None:
    """The USD the provider itself reported for a call (OpenRouter's usage accounting puts
    it in ``usage.cost``); None when it sent none or something that is not an amount."""
    value = getattr(usage, "cost", None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


@dataclass(frozen=True)
class SdkErrorTypes:
    """The exception classes of one SDK (both SDKs share this shape)."""

    timeout: type[Exception]
    connection: type[Exception]
    status: type[Exception]


def map_sdk_error(
    exc: Exception, types: SdkErrorTypes, model: str, timeout: float, secret: str
) -> ProviderError:
    """Our error for an SDK exception. Anything the SDK raised that is neither a
    status nor a connection error (an unreadable reply body) is treated as
    transient: it is the provider misbehaving, not the model or our setup."""
    if isinstance(exc, types.timeout):
        return TransientProviderError(
            f"model {model!r}: no reply within {timeout:g} s", maybe_billed=True
        )
    if isinstance(exc, types.connection):
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        return TransientProviderError(f"model {model!r}: connection failed ({cause})")
    if isinstance(exc, types.status):
        status = int(getattr(exc, "status_code", 0))
        headers = dict(getattr(getattr(exc, "response", None), "headers", {}) or {})
        # Anthropic's errors carry the body's own message; OpenAI's str() has it.
        message = getattr(exc, "api_message", None) or str(exc)
        return status_error(model, status, str(message), headers, secret)
    return TransientProviderError(f"model {model!r}: unusable reply: {one_line(str(exc), secret)}")
