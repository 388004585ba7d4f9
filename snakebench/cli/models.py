"""``snakebench models``: the players that can be put in a game."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from snakebench.cli.app import App, fail, print_table
from snakebench.cli.terminal import SafeConsole
from snakebench.games.prompts import usable_prompt_variant
from snakebench.services.catalog import PROVIDERS, check_daily_cap, check_entry, read_model_list
from snakebench.store import (
    Model,
    ModelRecord,
    delete_model,
    get_model,
    has_played,
    list_models,
    model_record,
    model_records,
    open_store,
    set_daily_cap,
    set_model_active,
    set_model_prompt_variant,
    upsert_model,
)
from snakebench.store.db import transaction
from snakebench.store.rating_queries import RETIRED, retire_model, unretire_model

app = App(help="Add, list, show, remove, retire and import models (the players).")
out = SafeConsole(soft_wrap=True)


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
    max_completion_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="Output cap sent with every request (default 4096)."),
    ] = None,
    daily_cap: Annotated[
        float | None,
        typer.Option(help="USD the model may spend per UTC day (see: models cap)."),
    ] = None,
    extra: Annotated[
        list[str] | None,
        typer.Option(help="Extra request fields as KEY=VALUE (JSON values allowed)."),
    ] = None,
    prompt_variant: Annotated[
        str | None,
        typer.Option(
            "--prompt-variant",
            help="The prompt variant it is prompted with unless a batch names one "
            "(see: snakebench prompts list). Unset: 'default'; kept on an update.",
        ),
    ] = None,
) -> None:
    """Add a model, or update the one with this NAME.

    Example: snakebench models add gpt-4o-mini --provider openai --model gpt-4o-mini
    --price-input 0.15 --price-output 0.6
    """
    entry = check_entry(
        {
            "name": name,
            "provider": provider,
            "model_slug": model,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "price_input_per_m": price_input,
            "price_output_per_m": price_output,
            "max_completion_tokens": max_completion_tokens,
            "daily_cap": daily_cap,
            "extra": _parse_extra(extra or []),
        }
    )
    open_store()
    own = {}
    if prompt_variant is not None:
        own["prompt_variant"] = _own_variant(entry["provider"], prompt_variant)
    upsert_model(**entry, **own)
    out.print(f"model {name} saved")


def _own_variant(provider: str, variant: str) -> str:
    """``variant`` checked as a model's own: a usable variant, for a model that is
    prompted (not a bot)."""
    if provider == "bot":
        raise fail("bots are not prompted: a prompt variant is for LLM models")
    return usable_prompt_variant(variant).name


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
    """List the models, with their record (over rated games, as on the leaderboard)
    and prices. Status: untested (no games yet), rated (rated games, never placed),
    testing (a placement running), ranked (placed by evaluate), bot, removed or retired."""
    open_store()
    rows = [m for m in list_models() if all_ or m.is_active]
    records = model_records(m.name for m in rows)
    if as_json:
        out.print_json(json.dumps([_describe(m, records.get(m.name, ModelRecord())) for m in rows]))
        return
    table = Table("name", "provider", "model", "games", "W-L-T", "$/M in", "$/M out", "status")
    for m in rows:
        record = records.get(m.name, ModelRecord())
        table.add_row(
            m.name,
            m.provider,
            m.model_slug,
            str(record.games),
            f"{record.wins}-{record.losses}-{record.ties}",
            f"{m.price_input_per_m:g}",
            f"{m.price_output_per_m:g}",
            m.standing,
        )
    print_table(out, table)


@app.command()
def show(name: Annotated[str, typer.Argument(help="A model name.")]) -> None:
    """Show everything stored about one model, and its record, as JSON."""
    open_store()
    model = get_model(name)
    out.print_json(json.dumps(_describe(model, model_record(model.name))))


def _describe(model: Model, record: ModelRecord) -> dict[str, Any]:
    """The model's settings and rating, and its record (:func:`snakebench.store.
    model_records`, the leaderboard's) under the keys the stored counters had."""
    keys = [
        "name",
        "provider",
        "model_slug",
        "base_url",
        "api_key_env",
        "price_input_per_m",
        "price_output_per_m",
        "max_completion_tokens",
        "daily_cap",
        "extra",
        "prompt_variant",
        "is_active",
        "test_status",
        "trueskill_mu",
        "trueskill_sigma",
    ]
    return {
        **{key: getattr(model, key) for key in keys},
        "wins": record.wins,
        "losses": record.losses,
        "ties": record.ties,
        "apples_eaten": record.apples,
        "games_played": record.games,
        "status": model.standing,
    }


@app.command()
def cap(
    name: Annotated[str, typer.Argument(help="A model name.")],
    usd: Annotated[str, typer.Argument(help="USD per UTC day, or off.", show_default=False)],
) -> None:
    """Cap what a model may spend per UTC day, across every worker; `off` lifts the cap.

    The cap is held call by call: a call whose worst case does not fit what is left of
    the day is not made, and its game ends cancelled. Example: snakebench models cap
    gpt-4o 5
    """
    value = None if usd.strip().lower() == "off" else check_daily_cap(usd, _bad_cap)
    open_store()
    model = get_model(name)
    set_daily_cap(model.id, value)
    out.print(f"model {name}: " + ("no daily cap" if value is None else f"daily cap ${value:.2f}"))


def _bad_cap(message: str) -> typer.BadParameter:
    return typer.BadParameter(message.replace("daily_cap", "the cap"), param_hint="USD")


@app.command()
def prompt(
    name: Annotated[str, typer.Argument(help="A model name.")],
    variant: Annotated[str, typer.Argument(help="A prompt variant's name, e.g. minimal.")],
) -> None:
    """Set the prompt variant a model is prompted with unless a batch names one
    (`default` to go back). Games already written keep theirs.

    Example: snakebench models prompt gpt-4o-mini minimal
    """
    open_store()
    model = get_model(name)
    set_model_prompt_variant(model.id, _own_variant(model.provider, variant))
    out.print(f"model {name}: prompt variant {variant}")


@app.command()
def remove(name: Annotated[str, typer.Argument(help="A model name.")]) -> None:
    """Remove a model. One that has played is only deactivated, so no game loses a player."""
    open_store()
    model = get_model(name)
    if has_played(model.id):
        set_model_active(model.id, False)
        out.print(f"model {name} has games: deactivated (its games and record are kept)")
    else:
        delete_model(model.id)
        out.print(f"model {name} removed")


@app.command()
def restore(name: Annotated[str, typer.Argument(help="A removed model's name.")]) -> None:
    """Let a removed model play again (its games and record were kept); a retired one's
    results count again and the ratings are rebuilt with them."""
    open_store()
    model = get_model(name)
    if model.test_status == RETIRED:
        report = unretire_model(model)
        out.print(f"model {name} restored: ratings rebuilt from {report.games} rated games")
        return
    set_model_active(model.id, True)
    out.print(f"model {name} restored")


@app.command()
def retire(name: Annotated[str, typer.Argument(help="A model name.")]) -> None:
    """Retire a model: it stops playing and its results no longer count.

    Every rating is rebuilt without its games (its opponents' too), in one transaction;
    the games stay in the database for the record, and `snakebench models restore NAME`
    brings them back.
    """
    open_store()
    model = get_model(name)
    if model.test_status == RETIRED:
        raise fail(f"model {name} is already retired")
    report = retire_model(model)
    out.print(f"model {name} retired: ratings rebuilt from {report.games} rated games")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A model list YAML file.", show_default=False)],
) -> None:
    """Import the original's model list format.

    A YAML file with a top-level models list; each entry has name, model_name,
    provider, optional pricing {input, output} (USD per million tokens) and
    max_completion_tokens. Any other key (reasoning_effort, api_type...) is kept
    as an extra request field. Existing names are updated. The whole file is
    checked first and imported in one transaction: all of it or nothing.
    """
    entries = read_model_list(file)
    open_store()
    with transaction(immediate=True):
        for entry in entries:
            upsert_model(**entry)
    out.print(f"imported {len(entries)} models from {file}")
