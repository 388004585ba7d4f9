"""Chat Completions through the official OpenAI SDK.

OpenAI, OpenRouter, Together, Ollama and vLLM all speak this protocol, so one
client covers them; only the base URL and the key differ.
"""

from __future__ import annotations

from typing import Any

import openai

from snakebench.providers.base import Completion, ModelSpec, TransientProviderError
from snakebench.providers.sdk_common import (
    SdkErrorTypes,
    map_sdk_error,
    request_kwargs,
    shared_sdk_client,
)

OPENAI_ERRORS = SdkErrorTypes(
    timeout=openai.APITimeoutError,
    connection=openai.APIConnectionError,
    status=openai.APIStatusError,
)


OUTPUT_CAP_NAMES = ("max_completion_tokens", "max_tokens")


class OpenAICompatClient:
    """One model on one OpenAI-compatible endpoint."""

    def __init__(self, spec: ModelSpec, base_url: str | None, api_key: str, timeout: float) -> None:
        self.spec = spec
        self._timeout = timeout
        self._secret = api_key
        self._sdk = shared_sdk_client(
            "openai",
            base_url,
            api_key,
            timeout,
            # max_retries=0: retries are ours, so they are counted and recorded.
            lambda: openai.OpenAI(
                base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout
            ),
        )
        kwargs = request_kwargs(spec.extra, self._sdk.chat.completions.create)
        # Every request carries the output cap a spending budget reserved for, under
        # the name the server knows: OpenAI's reasoning models refuse ``max_tokens``;
        # most other OpenAI-compatible servers know only ``max_tokens``.
        for name in OUTPUT_CAP_NAMES:
            kwargs.pop(name, None)
        kwargs[OUTPUT_CAP_NAMES[spec.provider != "openai"]] = spec.output_cap
        self._kwargs = kwargs

    def __repr__(self) -> str:
        return f"OpenAICompatClient(model={self.spec.name!r})"

    def complete(self, prompt: str) -> Completion:
        try:
            response = self._sdk.chat.completions.create(
                model=self.spec.model_slug,
                messages=[{"role": "user", "content": prompt}],
                **self._kwargs,
            )
        except openai.APIError as exc:
            raise map_sdk_error(
                exc, OPENAI_ERRORS, self.spec.name, self._timeout, self._secret
            ) from None
        return self._completion(response)

    def _completion(self, response: Any) -> Completion:
        """Text and usage from a reply. A reply without choices is no answer at all
        (some gateways send one with an error object), so it is retried; a choice
        with empty content is the model's own empty answer."""
        if not getattr(response, "choices", None):
            raise TransientProviderError(f"model {self.spec.name!r}: reply without choices")
        text = response.choices[0].message.content or ""
        usage = response.usage
        return Completion(
            text=text,
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )
