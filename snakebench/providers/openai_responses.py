"""OpenAI's Responses API through the official OpenAI SDK (``api: responses``).

OpenAI's reasoning models (GPT-5, o3, o4-mini) are served best here: the request takes a
reasoning effort and asks for a reasoning summary, and the reply carries the summary as
``reasoning`` output items beside the answer's ``message`` item. Any server that speaks
the same API works through ``base_url``. Usage counts reasoning tokens inside
``output_tokens`` (they are billed as output) and again, apart, in
``output_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

from typing import Any

from snakebench.providers.base import Completion, ModelSpec, TransientProviderError
from snakebench.providers.model_options import request_extra
from snakebench.providers.openai_compat import OpenAISdkClient
from snakebench.providers.sdk_common import (
    billed_tokens,
    reported_cost,
    request_kwargs,
    usage_count,
)


class OpenAIResponsesClient(OpenAISdkClient):
    """One model behind the Responses API of one endpoint."""

    def _fixed_fields(self, spec: ModelSpec) -> dict[str, Any]:
        extra = request_extra(spec.extra, provider=spec.provider, api="responses")
        kwargs = request_kwargs(extra, self._sdk.responses.create)
        # The cap a spending budget reserved for; reasoning tokens count against it.
        kwargs["max_output_tokens"] = spec.output_cap
        # Nothing of a move needs keeping on the provider's side: no stored conversation.
        kwargs.setdefault("store", False)
        return kwargs

    def complete(self, prompt: str) -> Completion:
        return self._completion(self._create(self._sdk.responses.create, input=prompt))

    def _completion(self, response: Any) -> Completion:
        """The answer from the ``message`` items' ``output_text`` parts, the reasoning
        summary from the ``reasoning`` items. A reply with neither is no answer at all
        (a server that sent an error object in a 200), so it is retried."""
        items = getattr(response, "output", None) or []
        truncated = (
            getattr(getattr(response, "incomplete_details", None), "reason", None)
            == "max_output_tokens"
        )
        if not items and not truncated:
            raise TransientProviderError(f"model {self.spec.name!r}: reply without output")
        texts: list[str] = []
        summaries: list[str] = []
        for item in items:
            kind = getattr(item, "type", "")
            if kind == "message":
                texts.extend(
                    part.text
                    for part in getattr(item, "content", None) or []
                    if getattr(part, "type", "") == "output_text" and part.text
                )
            elif kind == "reasoning":
                summaries.extend(
                    part.text for part in getattr(item, "summary", None) or [] if part.text
                )
        usage = response.usage
        tokens_in, tokens_out = billed_tokens(usage, "input_tokens", "output_tokens")
        return Completion(
            text="".join(texts),
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            reasoning="\n\n".join(summaries),
            reasoning_tokens=usage_count(usage, "output_tokens_details", "reasoning_tokens"),
            provider_cost=reported_cost(usage),
            truncated=truncated,
        )
