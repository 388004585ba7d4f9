"""Chat Completions through the official OpenAI SDK.

OpenAI, OpenRouter, Google (Gemini's OpenAI-compatible endpoint), Together, Ollama and
vLLM all speak this protocol, so one client covers them; only the base URL, the key,
and a few request fields differ (see :func:`snakebench.providers.model_options.request_extra`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import openai

from snakebench.providers.base import (
    Completion,
    ModelSpec,
    ProviderError,
    TransientProviderError,
)
from snakebench.providers.chat_request import ChatRequest, reply_document, reply_usage
from snakebench.providers.chat_transport import ChatPoster, chat_poster
from snakebench.providers.model_options import request_extra
from snakebench.providers.sdk_common import (
    SdkErrorTypes,
    billed_tokens,
    map_sdk_error,
    reported_cost,
    request_kwargs,
    shared_sdk_client,
    usage_count,
)

OPENAI_ERRORS = SdkErrorTypes(
    timeout=openai.APITimeoutError,
    connection=openai.APIConnectionError,
    status=openai.APIStatusError,
)


OUTPUT_CAP_NAMES = ("max_completion_tokens", "max_tokens")
# The providers whose Chat Completions want ``max_completion_tokens`` (OpenAI's reasoning
# models refuse ``max_tokens``); every other server, Gemini's endpoint included, knows
# ``max_tokens``, and many only that.
COMPLETION_CAP_PROVIDERS = frozenset({"openai"})
# Where OpenAI-compatible servers put the reasoning text beside the answer: OpenRouter
# sends ``reasoning``, DeepSeek (and vLLM, for its reasoning parsers) ``reasoning_content``.
REASONING_FIELDS = ("reasoning", "reasoning_content")


def openai_sdk(
    base_url: str | None, api_key: str, timeout: float, headers: Mapping[str, str] | None
) -> openai.OpenAI:
    """The process's SDK client for this endpoint (shared by the Chat Completions and
    Responses clients), sending ``headers`` with every request."""
    return shared_sdk_client(
        "openai",
        base_url,
        api_key,
        timeout,
        # max_retries=0: retries are ours, so they are counted and recorded.
        lambda: openai.OpenAI(
            base_url=base_url,
            api_key=api_key,
            max_retries=0,
            timeout=timeout,
            default_headers=dict(headers or {}),
        ),
        headers,
    )


class OpenAISdkClient:
    """What the Chat Completions and Responses clients share: the endpoint's SDK client,
    the request fields fixed at construction (``_kwargs``), and the error mapping."""

    def __init__(
        self,
        spec: ModelSpec,
        base_url: str | None,
        api_key: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self._timeout = timeout
        self._secret = api_key
        self._sdk = openai_sdk(base_url, api_key, timeout, headers)
        self._kwargs = self._fixed_fields(spec)

    def _fixed_fields(self, spec: ModelSpec) -> dict[str, Any]:
        """The request fields every call of this model carries (the output cap too)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.spec.name!r})"

    def _create(self, create: Callable[..., Any], **request: Any) -> Any:
        """``create`` (an SDK method) for this model with ``request`` and the fixed
        fields; SDK errors come out as our provider errors."""
        try:
            return create(model=self.spec.model_slug, **request, **self._kwargs)
        except openai.APIError as exc:
            raise self._mapped(exc) from None

    def _mapped(self, exc: openai.APIError) -> ProviderError:
        return map_sdk_error(exc, OPENAI_ERRORS, self.spec.name, self._timeout, self._secret)


class OpenAICompatClient(OpenAISdkClient):
    """One model on one OpenAI-compatible endpoint. Its request is built once
    (:class:`snakebench.providers.chat_request.ChatRequest`): a move posts it with the
    prompt rather than have ``create`` rebuild it, over the lean keep-alive path where
    it can stand in for the SDK's ``post`` (:mod:`snakebench.providers.chat_transport`)."""

    _request: ChatRequest
    _poster: tuple[openai.OpenAI, ChatPoster] | None = None

    def _fixed_fields(self, spec: ModelSpec) -> dict[str, Any]:
        extra = request_extra(spec.extra, provider=spec.provider, api=spec.api)
        kwargs = request_kwargs(extra, self._sdk.chat.completions.create)
        # Every request carries the output cap a spending budget reserved for, under
        # the name the server knows.
        for name in OUTPUT_CAP_NAMES:
            kwargs.pop(name, None)
        kwargs[OUTPUT_CAP_NAMES[spec.provider not in COMPLETION_CAP_PROVIDERS]] = spec.output_cap
        self._request = ChatRequest.of(kwargs)
        return kwargs

    def complete(self, prompt: str) -> Completion:
        body = self._request.body(self.spec.model_slug, prompt)
        try:
            reply = self._chat_poster().post(body)
        except openai.APIError as exc:
            raise self._mapped(exc) from None
        return self._completion(reply_document(reply))

    def _chat_poster(self) -> ChatPoster:
        """How this model's moves are posted through its SDK client (chosen on the first
        move, again should the SDK client be another)."""
        made = self._poster
        if made is None or made[0] is not self._sdk:
            made = self._poster = (self._sdk, chat_poster(self._sdk, self._request.options))
        return made[1]

    def _completion(self, reply: dict[str, Any] | None) -> Completion:
        """Text and usage from a reply's JSON. A reply without choices is no answer at
        all (some gateways send one with an error object), so it is retried; a choice
        with empty content is the model's own empty answer."""
        if reply is None or not reply.get("choices"):
            raise TransientProviderError(f"model {self.spec.name!r}: reply without choices")
        choice = reply["choices"][0]
        message = choice["message"]
        usage = reply_usage(reply)
        reasoning = next((text for name in REASONING_FIELDS if (text := message.get(name))), "")
        tokens_in, tokens_out = billed_tokens(usage, "prompt_tokens", "completion_tokens")
        return Completion(
            text=message.get("content") or "",
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            reasoning=reasoning if isinstance(reasoning, str) else "",
            reasoning_tokens=usage_count(usage, "completion_tokens_details", "reasoning_tokens"),
            provider_cost=reported_cost(usage),
            truncated=choice.get("finish_reason") == "length",
        )
