"""``snakebench costs``: what games cost, per model and per batch."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from snakebench.cli.app import print_table
from snakebench.cli.terminal import SafeConsole
from snakebench.services.costs import cost_report
from snakebench.store import open_store

out = SafeConsole(soft_wrap=True)


def costs(
    batch: Annotated[
        str | None,
        typer.Option("--batch", help="Only this batch (its id or a unique start of it)."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model (by name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Money spent, from the spend ledger: per model (games, moves, provider calls, tokens
    in/out, cost, cost per game and per call) and per batch (games, cost).

    The ledger holds every provider call, written before the call is made and settled
    with the usage the provider reported, whatever became of its game (cancelled, killed,
    played again): so the total is what the providers billed, at the model's prices
    (snakebench models add --price-input/--price-output). A call whose run died before
    the reply counts at its worst case and shows as "unsettled". "recorded" is the part
    the games' own results hold. Where a provider reports each call's cost itself
    (OpenRouter), its total is shown too, with the difference from the price-based cost
    of the same calls.
    """
    open_store()
    report = cost_report(batch, model)
    if as_json:
        out.print_json(json.dumps(report))
        return
    _print_models(report["models"])
    _print_batches(report["batches"], per_model=model is not None)
    unsettled = f" (of which ${report['unsettled']:.4f} unsettled, at worst case)"
    out.print(f"total: ${report['total_cost']:.4f}" + (unsettled if report["unsettled"] else ""))
    if report["provider_cost"] is not None:
        out.print(
            f"reported by providers: ${report['provider_cost']:.4f} "
            f"({_signed(report['provider_difference'])} against our prices for the same calls)"
        )


def _money(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"${value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{'+' if value >= 0 else '-'}${abs(value):.4f}"


def _print_models(rows: list[dict[str, Any]]) -> None:
    """One row per model; the reasoning and provider columns only when some model has
    figures for them."""
    reasoning = any(row["reasoning_tokens"] for row in rows)
    reported = any(row["provider_cost"] is not None for row in rows)
    columns = ["model", "games", "moves", "calls", "tokens in", "tokens out"]
    columns += ["reasoning"] * reasoning + ["cost"] + ["provider", "difference"] * reported
    table = Table(*columns, "recorded", "per game", "per call", title="per model")
    for row in rows:
        cells = [row["model"], str(row["games"]), f"{row['moves']:,}", f"{row['calls']:,}",
                 f"{row['input_tokens']:,}", f"{row['output_tokens']:,}"]  # fmt: skip
        cells += [f"{row['reasoning_tokens']:,}"] * reasoning + [_money(row["cost"])]
        cells += [_money(row["provider_cost"]), _signed(row["provider_difference"])] * reported
        table.add_row(
            *cells, _money(row["recorded"]), _money(row["cost_per_game"]),
            _money(row["cost_per_call"], 6),
        )  # fmt: skip
    if rows:
        print_table(out, table)
    else:
        out.print("no provider calls and no games with a result yet")


def _print_batches(rows: list[dict[str, Any]], *, per_model: bool) -> None:
    if not rows:
        return
    cost = "model's cost" if per_model else "cost"
    table = Table("batch", "name", "created", "games", cost, "unsettled", title="per batch")
    for row in rows:
        table.add_row(
            row["batch_id"][:8], row["name"] or "-", row["created_at"][:16], str(row["games"]),
            _money(row["cost"]), _money(row["unsettled"]),
        )  # fmt: skip
    print_table(out, table)
