"""``snakebench models``: the players that can be put in a game."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from snakebench.commands.app import App
from snakebench.providers import PROVIDER_DEFAULTS
from snakebench.store import Model, Participant, get_model, list_models, open_store, upsert_model

app = App(help="Add, list, show, remove and import models (the players).")
out = Console(highlight=False, soft_wrap=True)

PROVIDERS = tuple(PROVIDER_DEFAULTS)
# An environment variable's name; anything else given as --api-key-env is probably
# the key itself, which must never reach the database.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Columns a model list file may set besides the original's keys.
_FIELDS = ("base_url", "api_key_env", "max_completion_tokens")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Unique name, used in play and dispatch.")],
    provider: Annotated[str, typer.Option(help=f"One of: {', '.join(PROVIDERS)}.")],
    model: Annotated[str, typer.Option("--model", help="The provider's model id (slug).")],
    base_url: Annotated[
        str | None, typer.Option(help="API root for OpenAI-compatible servers, e.g. vLLM.")
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Name of the environment variable holding the key (not the key)."),
    ] = None,
    price_input: Annotated[float, typer.Option(min=0, help="USD per million input tokens.")] = 0.0,
    price_output: Annotated[
        float, typer.Option(min=0, help="USD per million output tokens.")
    ] = 0.0,
    max_completion_tokens: Annotated[int | None, typer.Option(min=1)] = None,
    extra: Annotated[
        list[str] | None,
        typer.Option(help="Extra request fields as KEY=VALUE (JSON values allowed)."),
    ] = None,
) -> None:
    """Add a model, or update the one with this NAME.

    Example: snakebench models add gpt-4o-mini --provider openai --model gpt-4o-mini
    --price-input 0.15 --price-output 0.6
    """
    if provider not in PROVIDERS:
        raise typer.BadParameter(f"must be one of {', '.join(PROVIDERS)}", param_hint="--provider")
    if provider == "openai-compatible" and not base_url:
        raise typer.BadParameter("openai-compatible models need --base-url")
    if api_key_env is not None and not ENV_NAME.fullmatch(api_key_env):
        raise typer.BadParameter(
            "give the environment variable name that holds the key, not the key",
            param_hint="--api-key-env",
        )
    open_store()
    upsert_model(
        name,
        provider=provider,
        model_slug=model,
        base_url=base_url,
        api_key_env=api_key_env,
        price_input_per_m=price_input,
        price_output_per_m=price_output,
        max_completion_tokens=max_completion_tokens,
        extra=_parse_extra(extra or []),
        is_active=True,
    )
    out.print(f"model {name} saved")


def _parse_extra(pairs: list[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--extra")
        try:
            extra[key] = json.loads(raw)
        except json.JSONDecodeError:
            extra[key] = raw
    return extra


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Include removed (inactive) models.")] = False,
) -> None:
    """List the models, with their record and prices."""
    open_store()
    rows = [m for m in list_models() if all_ or m.is_active]
    if as_json:
        out.print_json(json.dumps([_describe(m) for m in rows]))
        return
    table = Table("name", "provider", "model", "games", "W-L-T", "$/M in", "$/M out", "status")
    for m in rows:
        table.add_row(
            m.name,
            m.provider,
            m.model_slug,
            str(m.games_played),
            f"{m.wins}-{m.losses}-{m.ties}",
            f"{m.price_input_per_m:g}",
            f"{m.price_output_per_m:g}",
            m.test_status if m.is_active else "removed",
        )
    out.print(table)


@app.command()
def show(name: Annotated[str, typer.Argument(help="A model name.")]) -> None:
    """Show everything stored about one model (as JSON)."""
    open_store()
    out.print_json(json.dumps(_describe(get_model(name))))


def _describe(model: Model) -> dict[str, Any]:
    keys = [
        "name",
        "provider",
        "model_slug",
        "base_url",
        "api_key_env",
        "price_input_per_m",
        "price_output_per_m",
        "max_completion_tokens",
        "extra",
        "is_active",
        "test_status",
        "trueskill_mu",
        "trueskill_sigma",
        "wins",
        "losses",
        "ties",
        "apples_eaten",
        "games_played",
    ]
    return {key: getattr(model, key) for key in keys}


@app.command()
def remove(name: Annotated[str, typer.Argument(help="A model name.")]) -> None:
    """Remove a model. One that has played is only deactivated, so no game loses a player."""
    open_store()
    model = get_model(name)
    if Participant.select().where(Participant.model == model.id).exists():
        model.is_active = False
        model.save()
        out.print(f"model {name} has games: deactivated (its games and record are kept)")
    else:
        model.delete_instance()
        out.print(f"model {name} removed")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A model list YAML file.", show_default=False)],
) -> None:
    """Import the original's model list format.

    A YAML file with a top-level models list; each entry has name,
    model_name, provider, optional pricing {input, output} (USD per million tokens)
    and max_completion_tokens. Any other key (reasoning_effort, api_type...) is kept
    as an extra request field. Existing names are updated.
    """
    entries = _read_model_list(file)
    open_store()
    for entry in entries:
        upsert_model(**entry)
    out.print(f"imported {len(entries)} models from {file}")


def _read_model_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise typer.BadParameter(f"{path} is not YAML: {' '.join(str(exc).split())}") from None
    items = data.get("models") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise typer.BadParameter(f"{path} has no 'models' list")
    return [_entry(item, i) for i, item in enumerate(items)]


def _entry(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict) or not item.get("name") or not item.get("model_name"):
        raise typer.BadParameter(f"model #{index + 1} needs at least name and model_name")
    item = dict(item)
    name = str(item.pop("name"))
    pricing = item.pop("pricing", None) or {}
    if not isinstance(pricing, dict):
        raise typer.BadParameter(f"model {name}: pricing must be {{input, output}}")
    provider = str(item.pop("provider", "openrouter"))
    if provider not in PROVIDERS:
        raise typer.BadParameter(f"model {name}: unknown provider {provider!r}")
    entry: dict[str, Any] = {
        "name": name,
        "provider": provider,
        "model_slug": str(item.pop("model_name")),
        "price_input_per_m": _price(pricing, "input", name),
        "price_output_per_m": _price(pricing, "output", name),
        "is_active": True,
    }
    for key in _FIELDS:
        if key in item:
            entry[key] = item.pop(key)
    entry["extra"] = item  # reasoning_effort, api_type, kwargs...
    return entry


def _price(pricing: dict[str, Any], key: str, name: str) -> float:
    try:
        price = float(pricing.get(key) or 0)
    except (TypeError, ValueError):
        price = -1.0
    if price < 0:
        raise typer.BadParameter(f"model {name}: pricing.{key} must be a number >= 0")
    return price
