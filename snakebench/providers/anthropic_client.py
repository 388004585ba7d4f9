"""Claude models through the official Anthropic SDK (Messages API)."""

from __future__ import annotations

from typing import Any

import anthropic

from snakebench.providers.base import Completion, ModelSpec
from snakebench.providers.sdk_common import (
    SdkErrorTypes,
    map_sdk_error,
    request_kwargs,
    shared_sdk_client,
    usage_count,
)

ANTHROPIC_ERRORS = SdkErrorTypes(
    timeout=anthropic.APITimeoutError,
    connection=anthropic.APIConnectionError,
    status=anthropic.APIStatusError,
)


class AnthropicClient:
    """One Claude model on one endpoint."""

    def __init__(self, spec: ModelSpec, base_url: str | None, api_key: str, timeout: float) -> None:
        self.spec = spec
        self._timeout = timeout
        self._secret = api_key
        self._sdk = shared_sdk_client(
            "anthropic",
            base_url,
            api_key,
            timeout,
            # max_retries=0: retries are ours, so they are counted and recorded.
            lambda: anthropic.Anthropic(
                base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout
            ),
        )
        kwargs = request_kwargs(spec.extra, self._sdk.messages.create)
        # The cap a spending budget reserved for: never one from ``extra``.
        kwargs["max_tokens"] = spec.output_cap
        self._kwargs = kwargs

    def __repr__(self) -> str:
        return f"AnthropicClient(model={self.spec.name!r})"

    def complete(self, prompt: str) -> Completion:
        try:
            message = self._sdk.messages.create(
                model=self.spec.model_slug,
                messages=[{"role": "user", "content": prompt}],
                **self._kwargs,
            )
        except anthropic.APIError as exc:
            raise map_sdk_error(
                exc, ANTHROPIC_ERRORS, self.spec.name, self._timeout, self._secret
            ) from None
        return _completion(message)


def _completion(message: Any) -> Completion:
    """Text blocks are the answer; thinking blocks (extended thinking, with ``thinking``
    in the request) are the model's reasoning, kept apart. Claude bills thinking as
    output and reports no separate count for it, so ``reasoning_tokens`` stays 0."""
    blocks = message.content or []
    usage = message.usage
    return Completion(
        text="".join(_texts(blocks, "text", "text")),
        input_tokens=usage_count(usage, "input_tokens"),
        output_tokens=usage_count(usage, "output_tokens"),
        reasoning="\n\n".join(_texts(blocks, "thinking", "thinking")),
        truncated=getattr(message, "stop_reason", None) == "max_tokens",
    )


def _texts(blocks: Any, kind: str, field: str) -> list[str]:
    return [
        text
        for block in blocks
        if getattr(block, "type", "") == kind and (text := getattr(block, field, None))
    ]
