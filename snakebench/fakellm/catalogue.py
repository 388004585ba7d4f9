"""The model catalogue the fake provider serves at ``GET /api/v1/models`` (and
``/v1/models``), in OpenRouter's shape, so ``snakebench models sync openrouter
--base-url http://127.0.0.1:PORT/v1`` runs offline.

The built-in catalogue is ten plausible entries chosen to exercise every sync filter:
cheap and expensive, a free one, a small completion limit, one with no stated limit,
with and without ``reasoning``/``tools``, and OpenRouter's auto router, whose price of
-1 per token means "it varies". Prices are USD per token as decimal strings, as
OpenRouter sends them. ``snakebench fake-llm --catalogue FILE`` serves any other JSON
as it is (a wrong shape included, to see how a client copes).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

CATALOGUE_PATHS = frozenset({"/api/v1/models", "/v1/models"})
PER_MILLION = Decimal(1_000_000)

_CHAT = ("max_tokens", "temperature", "top_p", "stop", "seed", "response_format")
_TOOLS = ("tools", "tool_choice")
_REASONING = ("reasoning", "include_reasoning")


def _entry(
    model_id: str,
    name: str,
    per_million: tuple[str, str],
    context_length: int,
    max_completion_tokens: int | None,
    parameters: tuple[str, ...],
    created: int,
) -> dict[str, Any]:
    """One entry as OpenRouter lists it; ``per_million`` are USD per million tokens
    (input, output), sent per token as OpenRouter does."""
    prompt, completion = (_per_token(price) for price in per_million)
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "hugging_face_id": None,
        "name": name,
        "created": created,
        "description": f"{name}, as listed by the fake provider's catalogue.",
        "context_length": context_length,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {
            "prompt": prompt,
            "completion": completion,
            "request": "0",
            "image": "0",
            "web_search": "0",
            "internal_reasoning": "0",
        },
        "top_provider": {
            "context_length": context_length,
            "max_completion_tokens": max_completion_tokens,
            "is_moderated": model_id.startswith(("openai/", "anthropic/")),
        },
        "per_request_limits": None,
        "supported_parameters": list(parameters),
        "default_parameters": {},
    }


def _per_token(per_million: str) -> str:
    """``"0.15"`` (USD per million tokens) as ``"0.00000015"`` (per token), exactly;
    zero is ``"0"`` and OpenRouter's "varies" sentinel ``"-1"`` stays as it is."""
    price = Decimal(per_million)
    if price <= 0:
        return "-1" if price < 0 else "0"
    return format(price / PER_MILLION, "f")


BUILTIN_CATALOGUE: dict[str, Any] = {
    "data": [
        _entry(
            "openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", ("0.15", "0.6"), 128000, 16384,
            (*_CHAT, *_TOOLS), 1721260800,
        ),
        _entry(
            "openai/gpt-5-mini", "OpenAI: GPT-5 Mini", ("0.25", "2"), 400000, 128000,
            (*_CHAT, *_TOOLS, *_REASONING), 1754611200,
        ),
        _entry(
            "anthropic/claude-sonnet-4.5", "Anthropic: Claude Sonnet 4.5", ("3", "15"), 1000000,
            64000, (*_CHAT, *_TOOLS, *_REASONING), 1759190400,
        ),
        _entry(
            "anthropic/claude-opus-4.1", "Anthropic: Claude Opus 4.1", ("15", "75"), 200000,
            32000, (*_CHAT, *_TOOLS, *_REASONING), 1754438400,
        ),
        _entry(
            "google/gemini-2.5-flash", "Google: Gemini 2.5 Flash", ("0.3", "2.5"), 1048576,
            65535, (*_CHAT, *_TOOLS, *_REASONING), 1750118400,
        ),
        _entry(
            "meta-llama/llama-3.3-70b-instruct", "Meta: Llama 3.3 70B Instruct", ("0.13", "0.39"),
            131072, 16384, (*_CHAT, *_TOOLS), 1733443200,
        ),
        _entry(
            "meta-llama/llama-3.3-8b-instruct:free", "Meta: Llama 3.3 8B Instruct (free)",
            ("0", "0"), 128000, 4028, _CHAT, 1747267200,
        ),
        _entry(
            "mistralai/mistral-7b-instruct", "Mistral: Mistral 7B Instruct", ("0.028", "0.054"),
            32768, 2048, _CHAT, 1716336000,
        ),
        _entry(
            "deepseek/deepseek-r1", "DeepSeek: R1", ("0.4", "2"), 163840, None,
            (*_CHAT, *_REASONING), 1737331200,
        ),
        _entry(
            "openrouter/auto", "Auto Router", ("-1", "-1"), 2000000, None, _CHAT, 1699401600,
        ),
    ]
}  # fmt: skip


def catalogue_body(catalogue: Any) -> Any:
    """What ``GET /api/v1/models`` answers: ``catalogue`` (the server's
    ``--catalogue``), or the built-in one when that is None."""
    return BUILTIN_CATALOGUE if catalogue is None else catalogue


def load_catalogue(path: Path) -> Any:
    """A catalogue file's JSON, served as it is; ``ValueError`` naming the file when it
    cannot be read or is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
