"""What a fake reply "used": tokens, reasoning, and what OpenRouter would say it cost.

Everything here is deterministic, so tests can check the figures the clients record
against the ones the server sent:

- tokens: about four characters per token (:func:`usage_tokens`);
- reasoning tokens, when a request asks for reasoning: :data:`REASONING_TOKENS` for its
  effort (a token budget counts as ``medium``, at most the budget). They are part of the
  output tokens, as every real provider counts them, and come first: when reasoning and
  answer do not fit the request's output cap, the reply stops at the cap as a real one
  does (``truncated``), its answer cut short or, once the reasoning took it all, empty;
- the cost in OpenRouter's ``usage.cost``: the tokens at :data:`FAKE_PRICE_INPUT_PER_M`
  and :data:`FAKE_PRICE_OUTPUT_PER_M` USD per million (reasoning included in output).
"""

from __future__ import annotations

from dataclasses import dataclass

# USD per million tokens the fake "bills" in OpenRouter's usage accounting.
FAKE_PRICE_INPUT_PER_M = 0.5
FAKE_PRICE_OUTPUT_PER_M = 2.0
# Reasoning tokens per reasoning effort (the Responses API's and OpenRouter's names).
REASONING_TOKENS = {
    "none": 0,
    "minimal": 16,
    "low": 64,
    "medium": 192,
    "high": 448,
    "xhigh": 768,
    "max": 1024,
}
BUDGET = "budget"  # the effort of a request that gave a token budget instead


@dataclass(frozen=True)
class FakeRequest:
    """What the fake needs from a request body, whatever its API."""

    model: str
    prompt: str
    # Reasoning asked for: an effort of REASONING_TOKENS, BUDGET, or None (none asked).
    reasoning_effort: str | None = None
    reasoning_budget: int | None = None  # with BUDGET: the tokens allowed
    show_reasoning: bool = False  # the reasoning text is wanted back in the reply
    output_cap: int | None = None  # the request's output cap, if it set one
    usage_cost: bool = False  # OpenRouter's usage accounting: put the cost in usage


@dataclass(frozen=True)
class FakeReply:
    """One successful reply's content and usage, for a wire to dress."""

    text: str
    input_tokens: int
    output_tokens: int  # reasoning_tokens included
    reasoning_tokens: int = 0
    reasoning: str = ""  # shown only when the request asked to see it
    cost: float | None = None  # only when the request asked for usage accounting
    truncated: bool = False  # stopped at the request's output cap


def usage_tokens(text: str) -> int:
    """The usual rule of thumb: about four characters per token."""
    return max(1, len(text) // 4)


def reasoning_tokens(request: FakeRequest, answer_tokens: int) -> int:
    """A plausible reasoning token count for ``request``; 0 when it asked for none."""
    effort = request.reasoning_effort
    if effort is None:
        return 0
    if effort == BUDGET:
        tokens = min(request.reasoning_budget or 0, REASONING_TOKENS["medium"])
    else:
        tokens = REASONING_TOKENS.get(effort, REASONING_TOKENS["medium"])
    return tokens


def fake_cost(input_tokens: int, output_tokens: int) -> float:
    """USD at the fake's prices, as OpenRouter's ``usage.cost`` reports it."""
    return (input_tokens * FAKE_PRICE_INPUT_PER_M + output_tokens * FAKE_PRICE_OUTPUT_PER_M) / 1e6


def fake_reply(request: FakeRequest, text: str, reasoning: str) -> FakeReply:
    """The reply to ``request`` that answers ``text`` after reasoning ``reasoning``."""
    answer = usage_tokens(text)
    thought = reasoning_tokens(request, answer)
    cap = request.output_cap
    truncated = cap is not None and thought + answer > cap
    if cap is not None and truncated:  # reasoning first, then what room is left
        thought = min(thought, cap)
        answer = cap - thought
        text = text[: answer * 4] if answer else ""
    tokens_in, tokens_out = usage_tokens(request.prompt), answer + thought
    return FakeReply(
        text=text,
        truncated=truncated,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        reasoning_tokens=thought,
        reasoning=reasoning if request.show_reasoning and request.reasoning_effort else "",
        cost=fake_cost(tokens_in, tokens_out) if request.usage_cost else None,
    )
