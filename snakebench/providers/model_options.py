"""A model's typed request options, declared once.

Each option is a key (or a ``group.key``) of the model's ``extra`` JSON, with its type,
the providers and API that understand it, and the ``models add`` flag that sets it.
The table is read three times: :func:`check_options` validates an entry (through
``snakebench.services.catalog.check_entry``), :func:`options_from_flags` turns the
flags' values into ``extra``, and :func:`request_extra` shapes ``extra`` into what the
chosen API expects (the Responses API's ``reasoning`` object, OpenRouter's body).

Free-form fields (``--extra temperature=0``) stay free-form and pass through as they are;
only the options below are typed, because a typo in them (``sort: cheapest``) would
otherwise be sent as it is and change nothing, or fail every game.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# ``api``: None is the provider's native API (Chat Completions, or Anthropic Messages).
APIS = ("chat", "responses")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
REASONING_SUMMARIES = ("auto", "concise", "detailed")
ROUTING_SORTS = ("price", "throughput", "latency")
DATA_COLLECTION = ("allow", "deny")
MAX_NAME = 64  # characters in one provider or transform name

Kind = Literal["choice", "names", "bool", "count"]
# Who understands an option: any provider reached through the openai SDK, the Responses
# API only, or OpenRouter only.
Scope = Literal["openai-sdk", "responses", "openrouter"]


class OptionError(ValueError):
    """A typed option with a value or a model it does not fit; one line naming the field."""


@dataclass(frozen=True)
class Option:
    key: str  # "reasoning_effort", or "group.key" for a field of an object
    kind: Kind
    scope: Scope
    flag: str  # the `models add` flag; "" for options set only in a model list
    help: str
    choices: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))


OPTIONS: tuple[Option, ...] = (
    Option("reasoning_effort", "choice", "openai-sdk", "--reasoning-effort",
           "How much a reasoning model thinks: " + ", ".join(REASONING_EFFORTS) + ".",
           REASONING_EFFORTS),
    Option("reasoning_summary", "choice", "responses", "--reasoning-summary",
           "Ask the Responses API for a reasoning summary, kept in the replay: "
           + ", ".join(REASONING_SUMMARIES) + ".", REASONING_SUMMARIES),
    Option("transforms", "names", "openrouter", "--transforms",
           "OpenRouter prompt transforms, comma-separated (e.g. middle-out)."),
    Option("provider.order", "names", "openrouter", "--provider-order",
           "OpenRouter: upstream providers to try first, in order, comma-separated."),
    Option("provider.only", "names", "openrouter", "--provider-only",
           "OpenRouter: the only upstream providers allowed, comma-separated."),
    Option("provider.ignore", "names", "openrouter", "--provider-ignore",
           "OpenRouter: upstream providers never to use, comma-separated."),
    Option("provider.allow_fallbacks", "bool", "openrouter", "--allow-fallbacks",
           "OpenRouter: may it fall back to providers outside the order?"),
    Option("provider.sort", "choice", "openrouter", "--provider-sort",
           "OpenRouter: rank upstream providers by " + ", ".join(ROUTING_SORTS) + ".",
           ROUTING_SORTS),
    Option("provider.data_collection", "choice", "openrouter", "--data-collection",
           "OpenRouter: allow or deny upstream providers that store prompts.",
           DATA_COLLECTION),
    Option("reasoning.effort", "choice", "openrouter", "",
           "OpenRouter's reasoning effort (a model list may set it here).", REASONING_EFFORTS),
    Option("reasoning.max_tokens", "count", "openrouter", "--reasoning-max-tokens",
           "OpenRouter: a reasoning token budget (instead of an effort)."),
    Option("reasoning.exclude", "bool", "openrouter", "--reasoning-exclude",
           "OpenRouter: reason, but send no reasoning text back."),
)  # fmt: skip
BY_KEY = {option.key: option for option in OPTIONS}
GROUPS = {option.path[0] for option in OPTIONS if len(option.path) == 2}


def option(key: str) -> Option:
    return BY_KEY[key]


def check_api(api: Any, provider: str, sdk: str) -> str | None:
    """The ``api`` column's value for a model of ``provider`` (reached through ``sdk``)."""
    if api is None:
        return None
    if api not in APIS:
        raise OptionError(f"api must be one of {', '.join(APIS)}, not {_shown(api)}")
    if sdk != "openai":
        raise OptionError(
            f"api {api!r} needs an OpenAI-compatible provider; {provider} models speak "
            "their own API (leave api unset)"
        )
    return str(api)


def check_options(extra: Mapping[str, Any], *, provider: str, sdk: str, api: str | None) -> None:
    """Raise :class:`OptionError` for the first typed option in ``extra`` that has a
    bad value or does not fit the model's provider or API."""
    for group in sorted(GROUPS.intersection(extra)):
        members = [item for item in OPTIONS if item.path[0] == group]
        fields = [item.path[1] for item in members]
        value = extra[group]
        # Named by the first field it sets (what a flag sets), else by the group.
        named = [item for item in members if isinstance(value, Mapping) and item.path[1] in value]
        _check_scope((named or members)[0], provider, sdk, api, None if named else group)
        if not isinstance(value, Mapping):
            raise OptionError(f"{group} must be a mapping of {', '.join(fields)}")
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise OptionError(
                f"{group}.{unknown[0]} is not an option; {group} takes {', '.join(fields)}"
            )
    for item in OPTIONS:
        found, value = _lookup(extra, item.path)
        if found:
            _check_scope(item, provider, sdk, api)
            _check_value(item, value)
    reasoning = extra.get("reasoning") or {}
    if "effort" in reasoning and "max_tokens" in reasoning:
        raise OptionError("reasoning takes effort or max_tokens, not both")
    if "reasoning_effort" in extra and reasoning.keys() & {"effort", "max_tokens"}:
        raise OptionError(
            "reasoning_effort and reasoning.effort/max_tokens both set a reasoning amount; keep one"
        )


def _lookup(extra: Mapping[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    value: Any = extra
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _check_scope(
    item: Option, provider: str, sdk: str, api: str | None, name: str | None = None
) -> None:
    """That ``item`` (or its group ``name``) is one the model's provider and API take."""
    name = name or item.key
    if item.scope == "openrouter" and provider != "openrouter":
        raise OptionError(f"{name} is an OpenRouter option; this model's provider is {provider}")
    if sdk != "openai":
        raise OptionError(f"{name} needs an OpenAI-compatible provider, not {provider}")
    if item.scope == "responses" and api != "responses":
        raise OptionError(f"{name} needs the Responses API (api: responses)")


def _check_value(item: Option, value: Any) -> None:
    if item.kind == "choice" and value not in item.choices:
        raise OptionError(
            f"{item.key} must be one of {', '.join(item.choices)}, not {_shown(value)}"
        )
    if item.kind == "bool" and not isinstance(value, bool):
        raise OptionError(f"{item.key} must be true or false, not {_shown(value)}")
    if item.kind == "count" and (
        isinstance(value, bool) or not isinstance(value, int) or value < 1
    ):
        raise OptionError(f"{item.key} must be a whole number >= 1, not {_shown(value)}")
    if item.kind == "names":
        if not isinstance(value, list) or not value:
            raise OptionError(f"{item.key} must be a non-empty list of names, not {_shown(value)}")
        for name in value:
            if not (isinstance(name, str) and name.strip() and name.isprintable()):
                raise OptionError(f"{item.key} holds {_shown(name)}, which is not a name")
            if len(name) > MAX_NAME or "," in name:
                raise OptionError(
                    f"{item.key} holds {_shown(name)}: a name has no comma and at most "
                    f"{MAX_NAME} characters"
                )


def _shown(value: Any) -> str:
    """``value`` for an error message: its repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def split_names(text: str) -> list[str]:
    """A comma-separated flag value as a list of names (blanks around them dropped)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def options_from_flags(values: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` entries for the options given on the command line: ``values`` maps an
    option's key to its flag's value (None: flag not given; a ``names`` option's value
    is the comma-separated text). Checked later, with the rest of the entry."""
    extra: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if option(key).kind == "names" and isinstance(value, str):
            value = split_names(value)
        *groups, last = option(key).path
        target = extra
        for group in groups:
            target = target.setdefault(group, {})
        target[last] = value
    return extra


def request_extra(extra: Mapping[str, Any], *, provider: str, api: str | None) -> dict[str, Any]:
    """``extra`` as the request body wants it.

    The Responses API takes the effort and the summary in one ``reasoning`` object.
    OpenRouter takes its unified ``reasoning`` object (the effort folded in), and is
    asked for usage accounting (``usage: {include: true}``) so every reply carries what
    the call cost. Chat Completions elsewhere takes ``reasoning_effort`` as it is.
    """
    fields = {key: dict(value) if isinstance(value, Mapping) else value
              for key, value in extra.items()}  # fmt: skip
    effort = fields.pop("reasoning_effort", None)
    summary = fields.pop("reasoning_summary", None)
    if api == "responses":
        asked = {key: value for key, value in (("effort", effort), ("summary", summary)) if value}
        if asked:
            fields["reasoning"] = {**fields.get("reasoning", {}), **asked}
    elif provider == "openrouter":
        if effort is not None:
            fields["reasoning"] = {"effort": effort, **fields.get("reasoning", {})}
        fields["usage"] = {"include": True}
    elif effort is not None:
        fields["reasoning_effort"] = effort
    return fields
