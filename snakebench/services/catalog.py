"""Model entries as people give them (``models add`` flags, the original's YAML model
list), checked in one place before they reach the database.

The checks that matter most guard secrets: an entry names the environment variable
holding its key, never the key, and no request field may carry a credential, since
entries are stored, shown by ``models show`` and sent to providers.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from snakebench.providers import PROVIDER_DEFAULTS
from snakebench.providers.base import DEFAULT_MAX_TOKENS
from snakebench.providers.model_options import OptionError, check_api, check_options
from snakebench.providers.sdk_common import reserved_in
from snakebench.store import BOT_MODELS, Model, list_models, upsert_model
from snakebench.store.db import transaction

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

    Keys: name, provider, model_slug, and optionally base_url, api_key_env, api,
    price_input_per_m, price_output_per_m, max_completion_tokens, daily_cap, extra.
    ``extra``'s typed options (:mod:`snakebench.providers.model_options`) are checked
    against the provider and the api. An entry without a daily_cap leaves a stored
    model's cap as it is.
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
    extra = _extra(entry.get("extra") or {}, fail)
    sdk = PROVIDER_DEFAULTS[provider].sdk
    try:
        api = check_api(entry.get("api"), provider, sdk)
        check_options(extra, provider=provider, sdk=sdk, api=api)
    except OptionError as exc:
        raise fail(str(exc)) from None
    checked = {
        "name": name,
        "provider": provider,
        "model_slug": slug,
        "base_url": base_url,
        "api_key_env": key_env,
        "api": api,
        "price_input_per_m": _price(entry.get("price_input_per_m"), "input", fail),
        "price_output_per_m": _price(entry.get("price_output_per_m"), "output", fail),
        "max_completion_tokens": _max_tokens(entry.get("max_completion_tokens"), fail),
        "extra": extra,
        "is_active": True,
    }
    _check_thinking_budget(extra, checked["max_completion_tokens"], fail)
    if entry.get("daily_cap") is not None:
        checked["daily_cap"] = check_daily_cap(entry["daily_cap"], fail)
    return checked


def _check_thinking_budget(extra: Mapping[str, Any], output_cap: int | None, fail: Any) -> None:
    """Claude's extended thinking (``thinking: {type: enabled, budget_tokens}``) must
    leave room under the output cap: Anthropic refuses a budget at or above
    ``max_tokens`` with a 400, on every call of every game."""
    thinking = extra.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, Mapping) else None
    cap = output_cap or DEFAULT_MAX_TOKENS
    if isinstance(budget, int) and not isinstance(budget, bool) and budget >= cap:
        raise fail(
            f"thinking.budget_tokens {budget} must be below the output cap {cap} "
            "(max_completion_tokens): the budget is part of it"
        )


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


def is_web_url(url: Any) -> bool:
    """Whether ``url`` is an http:// or https:// URL with a host, on one printable line."""
    return _web_url(url)


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
    reserved = reserved_in(extra)
    if reserved:
        raise fail(f"extra request fields may not set {', '.join(reserved)}")
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


# --- the original's model list ---------------------------------------------------------

# The original's ``api_type`` -> this project's ``api`` (None: Chat Completions, the default).
API_TYPES: dict[str, str | None] = {"responses": "responses", "completions": None}


@dataclass(frozen=True)
class Refusal:
    """An entry of a model list that was not imported, and why (naming the field)."""

    position: int  # 1-based, in the file's order
    name: str | None
    reason: str

    def __str__(self) -> str:
        named = f" ({self.name})" if self.name else ""
        return f"entry #{self.position}{named}: {self.reason}"


@dataclass(frozen=True)
class ModelList:
    """A model list read: the entries ready for :func:`plan_change`, and the refused."""

    total: int
    entries: list[dict[str, Any]]
    refusals: list[Refusal]


def read_model_list(path: Path) -> ModelList:
    """Every entry of the original's model list that can be stored, and a
    :class:`Refusal` for each that cannot: one bad entry costs only itself.

    The file is a top-level ``models`` list (or a bare list); each item has name,
    model_name, provider, optional pricing {input, output, date}, max_completion_tokens
    (or max_tokens), api_type, kwargs and any other request field (reasoning_effort...);
    :func:`entry_from_original` maps them. A name listed twice refuses each of its
    entries: which one was meant is a guess. A file that cannot be read as such a
    list at all is a :class:`CatalogError`.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path} is not YAML: {' '.join(str(exc).split())}") from None
    items = data.get("models") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CatalogError(f"{path} has no 'models' list")
    names = [_item_name(item) for item in items]
    listed = Counter(name for name in names if name)
    entries: list[dict[str, Any]] = []
    refusals: list[Refusal] = []
    for position, (item, name) in enumerate(zip(items, names, strict=True), start=1):
        if name and listed[name] > 1:
            where = ", ".join(f"#{i}" for i, other in enumerate(names, start=1) if other == name)
            refusals.append(Refusal(position, name, f"name is listed more than once ({where})"))
            continue
        try:
            mapped = entry_from_original(item)
            entry = {**check_entry(mapped), "catalog_info": mapped["catalog_info"]}
        except CatalogError as exc:
            refusals.append(Refusal(position, name, _reason(str(exc), name)))
            continue
        entries.append(entry)
    return ModelList(len(items), entries, refusals)


def _item_name(item: Any) -> str | None:
    """The entry's name as the refusals show it (one line, at most :data:`MAX_LABEL`)."""
    name = item.get("name") if isinstance(item, dict) else None
    if name is None:
        return None
    return " ".join(str(name).split())[:MAX_LABEL] or None


def _reason(message: str, name: str | None) -> str:
    """:func:`check_entry`'s message without its ``model NAME:`` prefix (the refusal
    names the entry already)."""
    prefix = f"model {name}: "
    return message[len(prefix) :] if name and message.startswith(prefix) else message


def entry_from_original(item: Any) -> dict[str, Any]:
    """One item of the original's model list as an entry for :func:`check_entry`.

    ``model_name`` is the model id; ``pricing.input``/``output`` the prices per
    million tokens; ``pricing.date`` goes to ``catalog_info`` as ``pricing_date``
    (never to ``extra``, whose every key is sent to the provider as a request field);
    ``max_tokens`` is the output cap when ``max_completion_tokens`` is absent (the
    clients send the cap under the name each API wants); ``api_type: responses`` is
    ``api: responses`` and ``completions`` the default; ``kwargs`` and every other key
    (``reasoning_effort``...) are request fields in ``extra``. A missing provider is
    ``openrouter``, the original's default. Raises :class:`CatalogError` naming the
    field it cannot map.
    """
    if not isinstance(item, dict):
        raise CatalogError(f"is a {type(item).__name__}, not a mapping of fields")
    item = dict(item)
    for required in ("name", "model_name"):
        if item.get(required) is None or not str(item[required]).strip():
            raise CatalogError(f"{required} is missing")
    pricing = item.pop("pricing", None) or {}
    if not isinstance(pricing, dict):
        raise CatalogError("pricing must be a mapping {input, output, date}")
    entry: dict[str, Any] = {
        "name": item.pop("name"),
        "provider": item.pop("provider", "openrouter"),
        "model_slug": item.pop("model_name"),
        "price_input_per_m": pricing.get("input"),
        "price_output_per_m": pricing.get("output"),
        "catalog_info": _pricing_date(pricing.get("date")),
    }
    for column in COLUMNS:
        if column in item:
            entry[column] = item.pop(column)
    max_tokens = item.pop("max_tokens", None)
    if entry.get("max_completion_tokens") is None and max_tokens is not None:
        entry["max_completion_tokens"] = max_tokens
    api_type = item.pop("api_type", None)
    if api_type is not None:
        if api_type not in API_TYPES:
            known = " or ".join(API_TYPES)
            raise CatalogError(f"api_type must be {known}, not {str(api_type)[:40]!r}")
        if API_TYPES[api_type] is not None:
            entry["api"] = API_TYPES[api_type]
    kwargs = item.pop("kwargs", None) or {}
    if not isinstance(kwargs, dict):
        raise CatalogError("kwargs must be a mapping of request fields")
    entry["extra"] = {**kwargs, **item}
    return entry


def _pricing_date(value: Any) -> dict[str, Any]:
    """``{"pricing_date": ISO date}`` (YAML reads an unquoted date as a date), or {}."""
    if value is None:
        return {}
    if isinstance(value, dt.date):
        return {"pricing_date": value.isoformat()}
    if isinstance(value, str) and value.strip() and value.isprintable() and len(value) <= 40:
        return {"pricing_date": value.strip()}
    raise CatalogError(f"pricing.date must be a date, not {str(value)[:40]!r}")


# --- what storing entries would change ----------------------------------------------------

Action = Literal["add", "update", "unchanged"]


@dataclass(frozen=True)
class Change:
    """What storing one entry does to the model of its name: ``values`` are the fields
    :func:`snakebench.store.upsert_model` gets; ``changed`` says which differ from the
    stored row (``field old -> new``, or ``field.key`` inside extra and catalog_info)."""

    name: str
    model_slug: str
    action: Action
    values: dict[str, Any]
    changed: tuple[str, ...] = ()


def stored_models() -> dict[str, Model]:
    """Every stored model (active or not) by name."""
    return {model.name: model for model in list_models()}


def plan_change(values: Mapping[str, Any], stored: Model | None) -> Change:
    """The :class:`Change` storing ``values`` (a checked entry, with ``name``,
    ``provider`` and ``model_slug``) makes to ``stored``, the model of that name."""
    name, slug = values["name"], values["model_slug"]
    if stored is None:
        return Change(name, slug, "add", dict(values))
    changed = tuple(
        item
        for field, value in values.items()
        if field != "name"
        for item in _differences(field, getattr(stored, field, None), value)
    )
    return Change(name, slug, "update" if changed else "unchanged", dict(values), changed)


def _differences(field: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(str(key) for key in old.keys() | new.keys() if old.get(key) != new.get(key))
        return [f"{field}.{key}" for key in keys]
    return [f"{field} {_shown(old)} -> {_shown(new)}"]


def _shown(value: Any) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def apply_changes(changes: Iterable[Change]) -> int:
    """Store every added or updated entry in one transaction; the number stored.
    Unchanged entries are not written (their ``updated_at`` stays)."""
    writes = [change for change in changes if change.action != "unchanged"]
    with transaction(immediate=True):
        for change in writes:
            upsert_model(**change.values)
    return len(writes)
