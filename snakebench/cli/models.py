"""``snakebench models``: the players that can be put in a game."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from snakebench.cli.app import App, err, fail, print_table
from snakebench.cli.games import AsJson, By, DryRun, Reason, actor, report
from snakebench.cli.terminal import SafeConsole, safe_text
from snakebench.games.prompts import usable_prompt_variant
from snakebench.providers.model_options import APIS, option, options_from_flags
from snakebench.services.catalog import (
    PROVIDERS,
    apply_changes,
    check_daily_cap,
    check_entry,
    is_web_url,
    plan_change,
    read_model_list,
    stored_models,
)
from snakebench.services.provider_catalog import (
    OPENROUTER_BASE_URL,
    PROVIDER,
    SyncFilters,
    apply_sync,
    fetch_catalogue,
    plan_sync,
    read_catalogue,
    sync_summary,
)
from snakebench.services.undo import reset_evaluation
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
from snakebench.store.rating_queries import RETIRED, retire_model, unretire_model

app = App(help="Add, list, show, remove, retire, import and sync models (the players).")
out = SafeConsole(soft_wrap=True)


def _typed(key: str, flag: str = "") -> Any:
    """The Typer option of a typed request option: its flag and help from the one table
    (:data:`snakebench.providers.model_options.OPTIONS`); the value is checked there too."""
    spec = option(key)
    return typer.Option(flag or spec.flag, help=spec.help, rich_help_panel="Request options")


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
    api: Annotated[
        str | None,
        typer.Option(
            help=f"{' or '.join(APIS)}: the provider's API (responses: OpenAI's Responses "
            "API); default: its native one.",
            rich_help_panel="Request options",
        ),
    ] = None,
    reasoning_effort: Annotated[str | None, _typed("reasoning_effort")] = None,
    reasoning_summary: Annotated[str | None, _typed("reasoning_summary")] = None,
    transforms: Annotated[str | None, _typed("transforms")] = None,
    provider_order: Annotated[str | None, _typed("provider.order")] = None,
    provider_only: Annotated[str | None, _typed("provider.only")] = None,
    provider_ignore: Annotated[str | None, _typed("provider.ignore")] = None,
    allow_fallbacks: Annotated[
        bool | None, _typed("provider.allow_fallbacks", "--allow-fallbacks/--no-allow-fallbacks")
    ] = None,
    provider_sort: Annotated[str | None, _typed("provider.sort")] = None,
    data_collection: Annotated[str | None, _typed("provider.data_collection")] = None,
    reasoning_max_tokens: Annotated[int | None, _typed("reasoning.max_tokens")] = None,
    reasoning_exclude: Annotated[bool, _typed("reasoning.exclude")] = False,
) -> None:
    """Add a model, or replace the definition of the one with this NAME (a setting not
    given goes back to its default; its daily cap, prompt variant and record stay).
    An update prints each setting it changed.

    Example: snakebench models add gpt-4o-mini --provider openai --model gpt-4o-mini
    --price-input 0.15 --price-output 0.6 (the README has one for each provider)
    """
    typed = options_from_flags(
        {
            "reasoning_effort": reasoning_effort,
            "reasoning_summary": reasoning_summary,
            "transforms": transforms,
            "provider.order": provider_order,
            "provider.only": provider_only,
            "provider.ignore": provider_ignore,
            "provider.allow_fallbacks": allow_fallbacks,
            "provider.sort": provider_sort,
            "provider.data_collection": data_collection,
            "reasoning.max_tokens": reasoning_max_tokens,
            "reasoning.exclude": reasoning_exclude or None,
        }
    )
    entry = check_entry(
        {
            "name": name,
            "provider": provider,
            "model_slug": model,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "api": api,
            "price_input_per_m": price_input,
            "price_output_per_m": price_output,
            "max_completion_tokens": max_completion_tokens,
            "daily_cap": daily_cap,
            "extra": _merged(_parse_extra(extra or []), typed),
        }
    )
    open_store()
    own = {}
    if prompt_variant is not None:
        own["prompt_variant"] = _own_variant(entry["provider"], prompt_variant)
    change = plan_change(entry, stored_models().get(entry["name"]))
    upsert_model(**entry, **own)
    if change.action == "update":  # a whole definition replaces the old: say what moved
        out.print(f"model {name} updated: " + "; ".join(change.changed))
    else:
        out.print(f"model {name} saved")


def _own_variant(provider: str, variant: str) -> str:
    """``variant`` checked as a model's own: a usable variant, for a model that is
    prompted (not a bot)."""
    if provider == "bot":
        raise fail("bots are not prompted: a prompt variant is for LLM models")
    return usable_prompt_variant(variant).name


def _merged(extra: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    """``--extra`` fields with the typed flags' on top (an object's fields merged)."""
    merged = dict(extra)
    for key, value in typed.items():
        base = merged.get(key)
        merged[key] = (
            {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
        )
    return merged


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
        "api",
        "price_input_per_m",
        "price_output_per_m",
        "max_completion_tokens",
        "daily_cap",
        "extra",
        "catalog_info",
        "prompt_variant",
        "is_active",
        "test_status",
        "trueskill_mu",
        "trueskill_sigma",
    ]
    return {
        **{key: getattr(model, key) for key in keys},
        **record.counters(),
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
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any entry is refused (exit 2).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be added or updated; store nothing.")
    ] = False,
) -> None:
    """Import the original's model list format, every entry that can be stored.

    A YAML file with a top-level models list; each entry has name, model_name,
    provider, optional pricing {input, output, date} (USD per million tokens) and
    max_completion_tokens (or max_tokens); api_type: responses selects the Responses
    API; any other key (reasoning_effort...) is kept as an extra request field.
    Existing names are updated. Each refused entry is named with its reason, and the
    rest are stored in one transaction; exit status 1 when any was refused. With
    --strict one refused entry stores nothing (exit 2).

    Example: snakebench models import model_list.yaml --dry-run
    """
    model_list = read_model_list(file)
    for refusal in model_list.refusals:
        err.print(Text.assemble(("refused", "yellow"), " ", safe_text(refusal)))
    taken, total, refused = len(model_list.entries), model_list.total, len(model_list.refusals)
    if strict and refused:
        raise fail(f"{refused} of {total} entries refused; nothing imported (--strict)")
    open_store()
    stored = stored_models()
    changes = [plan_change(entry, stored.get(entry["name"])) for entry in model_list.entries]
    _print_rows((c.action, c.name, c.model_slug, "; ".join(c.changed)) for c in changes)
    if not dry_run:
        apply_changes(changes)
    counts = _counts(change.action for change in changes)
    verb = "would import" if dry_run else "imported"
    out.print(f"{verb} {taken} of {total}; {refused} refused ({counts})")
    if refused:
        raise typer.Exit(1)


@app.command("sync")
def sync(
    provider: Annotated[
        str, typer.Argument(help="The provider whose catalogue to read: openrouter.")
    ],
    base_url: Annotated[
        str, typer.Option(help="API root serving GET /models (a mirror, or snakebench fake-llm).")
    ] = OPENROUTER_BASE_URL,
    max_price: Annotated[
        float | None,
        typer.Option(min=0, help="Skip models above this USD per million tokens, in or out."),
    ] = None,
    max_input_price: Annotated[
        float | None, typer.Option(min=0, help="Skip models above this USD/M input price.")
    ] = None,
    max_output_price: Annotated[
        float | None, typer.Option(min=0, help="Skip models above this USD/M output price.")
    ] = None,
    min_completion_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="Skip models whose output limit is lower (original: 5000)."),
    ] = None,
    match: Annotated[
        list[str] | None,
        typer.Option(help="Only ids matching this glob or substring (repeatable: any)."),
    ] = None,
    require_parameter: Annotated[
        list[str] | None,
        typer.Option(help="Only models supporting this request parameter, e.g. tools."),
    ] = None,
    free: Annotated[
        bool, typer.Option("--free/--no-free", help="Take free models (both prices 0) too.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; store nothing.")
    ] = False,
    show_skipped: Annotated[
        bool, typer.Option("--show-skipped", help="List the skipped entries, with why.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, max=600, help="Seconds to wait for the catalogue.")
    ] = 30.0,
) -> None:
    """Add or update models from a provider's public catalogue (OpenRouter's /models).

    Prices are converted to USD per million tokens; the output cap is the provider's
    limit; context length and supported parameters go to catalog_info. Models already
    stored (provider openrouter, same id) get new prices and nothing else; new ones are
    named after their id; none is deleted. Prints the changes as a table; --dry-run
    stores nothing.

    Example: snakebench models sync openrouter --max-price 11 --min-completion-tokens
    5000 --match 'openai/*' --dry-run
    """
    if provider != PROVIDER:
        raise typer.BadParameter(
            f"only {PROVIDER} has a catalogue to sync from, not {provider!r}",
            param_hint="PROVIDER",
        )
    if not is_web_url(base_url):
        raise typer.BadParameter("must be an http:// or https:// URL", param_hint="--base-url")
    filters = SyncFilters(
        max_input_price=_ceiling(max_price, max_input_price, "--max-input-price"),
        max_output_price=_ceiling(max_price, max_output_price, "--max-output-price"),
        min_completion_tokens=min_completion_tokens,
        match=_words(match, "--match"),
        required_parameters=_words(require_parameter, "--require-parameter"),
        include_free=free,
    )
    listings = read_catalogue(fetch_catalogue(base_url, timeout))
    open_store()
    own_base = base_url.rstrip("/")
    model_base_url = None if own_base == OPENROUTER_BASE_URL else own_base
    plan = plan_sync(listings, filters, list_models(), model_base_url)
    _print_rows(
        (row.action, row.name, row.model_slug, row.detail)
        for row in plan.rows
        if show_skipped or row.action != "skip"
    )
    if not dry_run:
        apply_sync(plan)
    out.print(sync_summary(plan, dry_run))


def _ceiling(both: float | None, one: float | None, option: str) -> float | None:
    """The tighter of --max-price and the per-direction ceiling; a finite number."""
    for value, name in ((both, "--max-price"), (one, option)):
        if value is not None and not math.isfinite(value):
            raise typer.BadParameter("must be a finite number", param_hint=name)
    given = [value for value in (both, one) if value is not None]
    return min(given) if given else None


def _words(values: list[str] | None, option: str) -> tuple[str, ...]:
    """Repeatable text options: each non-empty, on one printable line."""
    for value in values or []:
        if not value.strip() or not value.isprintable():
            raise typer.BadParameter(f"{value!r} is not a usable value", param_hint=option)
    return tuple(value.strip() for value in values or [])


def _print_rows(rows: Iterable[tuple[str, str, str, str]]) -> None:
    """The table of what a model import or sync does: action, name, model id, detail."""
    table = Table("action", "name", "model", "changes / reason")
    for row in rows:
        table.add_row(*row)
    if table.row_count:
        print_table(out, table)


def _counts(actions: Iterable[str]) -> str:
    """``add 2, update 1, unchanged 5`` for the actions seen, in a fixed order."""
    seen = Counter(actions)
    order = ("add", "update", "unchanged", "skip", "missing")
    return ", ".join(f"{action} {seen[action]}" for action in order if seen[action]) or "nothing"


@app.command("reset")
def reset(
    name: Annotated[str, typer.Argument(help="A model name.")],
    reason: Reason,
    evaluation_only: Annotated[
        bool,
        typer.Option(
            "--evaluation-only", help="Drop its placement games only (required: the one reset)."
        ),
    ] = False,
    by: By = None,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Reset a model's evaluation: its placement games are undone (as `games undo`
    does: stored, marked, counted nowhere; ratings rebuilt) and it is untested again,
    so `snakebench evaluate NAME` places it anew. Its other games still count.

    Example: snakebench models reset my-model --evaluation-only --reason "bad prompt"
    """
    if not evaluation_only:
        raise fail("say what to reset: --evaluation-only (its placement games)")
    open_store()
    outcome = reset_evaluation(name, reason=reason, actor=actor(by), dry_run=dry_run)
    report(outcome, as_json)
