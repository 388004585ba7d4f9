"""Model entries as people give them (``models add`` flags, the original's YAML model
list), checked in one place before they reach the database.

The checks that matter most guard secrets: an entry names the environment variable
holding its key, never the key, and no request field may carry a credential, since
entries are stored, shown by ``models show`` and sent to providers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from snakebench.providers import PROVIDER_DEFAULTS
from snakebench.providers.sdk_common import RESERVED_PARAMS
from snakebench.store import BOT_MODELS

PROVIDERS = tuple(PROVIDER_DEFAULTS)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Request-field names that would carry a credential (at any depth, e.g. in headers).
SECRET_NAME = re.compile(r"(key|secret|password|passwd|token|auth|authorization|cookie)$", re.I)
MAX_LABEL = 128  # characters in a model's name or its provider's model id
# Columns a model-list entry may set besides the original's keys.
COLUMNS = ("base_url", "api_key_env", "max_completion_tokens", "daily_cap")


class CatalogError(ValueError):
    """An entry that cannot be stored; the message names the model and the field."""


def check_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry ready for :func:`snakebench.store.upsert_model`, or :class:`CatalogError`.

    Keys: name, provider, model_slug, and optionally base_url, api_key_env,
    price_input_per_m, price_output_per_m, max_completion_tokens, daily_cap, extra.
    An entry without a daily_cap leaves a stored model's cap as it is.
    """
    name = _label(entry.get("name"), "a model's name")
    if name in BOT_MODELS:
        raise CatalogError(f"{name!r} is a built-in bot; choose another name")

    def fail(message: str) -> CatalogError:
        return CatalogError(f"model {name}: {message}")

    provider = entry.get("provider")
    if provider not in PROVIDERS:
        raise fail(f"provider must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    slug = _label(entry.get("model_slug"), f"model {name}: the provider's model id")
    base_url = entry.get("base_url") or None
    if provider == "openai-compatible" and not base_url:
        raise fail("openai-compatible models need a base_url")
    if base_url is not None and not _web_url(base_url):
        raise fail(f"base_url must be an http:// or https:// URL, not {str(base_url)[:100]!r}")
    key_env = entry.get("api_key_env")
    if key_env is not None and not (isinstance(key_env, str) and ENV_NAME.fullmatch(key_env)):
        raise fail("api_key_env must name the environment variable that holds the key, not the key")
    checked = {
        "name": name,
        "provider": provider,
        "model_slug": slug,
        "base_url": base_url,
        "api_key_env": key_env,
        "price_input_per_m": _price(entry.get("price_input_per_m"), "input", fail),
        "price_output_per_m": _price(entry.get("price_output_per_m"), "output", fail),
        "max_completion_tokens": _max_tokens(entry.get("max_completion_tokens"), fail),
        "extra": _extra(entry.get("extra") or {}, fail),
        "is_active": True,
    }
    if entry.get("daily_cap") is not None:
        checked["daily_cap"] = check_daily_cap(entry["daily_cap"], fail)
    return checked


def check_daily_cap(value: Any, fail: Any) -> float:
    """A model's daily spending cap: a finite number of USD above zero."""
    try:
        cap = float(value)
    except (TypeError, ValueError):
        cap = math.nan
    if isinstance(value, bool) or not (math.isfinite(cap) and cap > 0):
        raise fail(f"daily_cap must be a number of USD above zero, not {value!r}")
    return cap


def _label(value: Any, what: str) -> str:
    """A name or a model id as it will be shown everywhere: one line of printable
    characters (no control characters, newlines or direction overrides), at most
    :data:`MAX_LABEL` long, surrounding blanks dropped."""
    label = str(value if value is not None else "").strip()
    if not label:
        raise CatalogError(f"{what} is missing")
    if len(label) > MAX_LABEL:
        raise CatalogError(f"{what} is {len(label):,} characters long; at most {MAX_LABEL}")
    if not label.isprintable():
        raise CatalogError(f"{what} {label!r} holds characters that are not printable")
    return label


def _web_url(url: Any) -> bool:
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and str(url).isprintable()


def _price(value: Any, which: str, fail: Any) -> float:
    try:
        price = float(value or 0)
    except (TypeError, ValueError):
        price = math.nan
    if not (math.isfinite(price) and price >= 0):
        raise fail(f"the {which} price must be a number of USD per million tokens, >= 0")
    return price


def _max_tokens(value: Any, fail: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(f"max_completion_tokens must be a whole number >= 1, not {value!r}")
    return value


def _extra(extra: Any, fail: Any) -> dict[str, Any]:
    if not isinstance(extra, dict):
        raise fail("extra request fields must be a mapping")
    reserved = RESERVED_PARAMS.intersection(extra)
    if reserved:
        raise fail(f"extra request fields may not set {', '.join(sorted(reserved))}")
    secret = _secret_path(extra)
    if secret:
        raise fail(
            f"extra field {secret!r} looks like a credential; keys belong in the environment"
        )
    return dict(extra)


def _secret_path(value: Any, path: str = "") -> str | None:
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if SECRET_NAME.search(str(key).replace("-", "_")):
                return here
            found = _secret_path(inner, here)
            if found:
                return found
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found = _secret_path(inner, f"{path}[{index}]")
            if found:
                return found
    return None


def read_model_list(path: Path) -> list[dict[str, Any]]:
    """Entries from the original's model list: a top-level ``models`` list whose items
    have name, model_name, provider, optional pricing {input, output} and
    max_completion_tokens. Other keys (reasoning_effort, api_type...) become extra
    request fields. Every entry is checked; one bad entry rejects the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path} is not YAML: {' '.join(str(exc).split())}") from None
    items = data.get("models") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CatalogError(f"{path} has no 'models' list")
    entries = [check_entry(_from_original(item, i)) for i, item in enumerate(items)]
    names = [entry["name"] for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CatalogError(f"{path} lists {', '.join(duplicates)} more than once")
    return entries


def _from_original(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict) or not item.get("name") or not item.get("model_name"):
        raise CatalogError(f"model #{index + 1} needs at least name and model_name")
    item = dict(item)
    pricing = item.pop("pricing", None) or {}
    if not isinstance(pricing, dict):
        raise CatalogError(f"model {item['name']}: pricing must be {{input, output}}")
    entry: dict[str, Any] = {
        "name": item.pop("name"),
        "provider": item.pop("provider", "openrouter"),
        "model_slug": item.pop("model_name"),
        "price_input_per_m": pricing.get("input"),
        "price_output_per_m": pricing.get("output"),
    }
    for column in COLUMNS:
        if column in item:
            entry[column] = item.pop(column)
    kwargs = item.pop("kwargs", None) or {}
    entry["extra"] = {**(kwargs if isinstance(kwargs, dict) else {"kwargs": kwargs}), **item}
    return entry
