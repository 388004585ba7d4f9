"""``snakebench costs``: what games cost, per model and per batch."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from snakebench.commands.app import print_table
from snakebench.costs import cost_report
from snakebench.dispatch import reported
from snakebench.store import open_store
from snakebench.terminal import SafeConsole

out = SafeConsole(soft_wrap=True)


@reported
def costs(
    batch: Annotated[
        str | None,
        typer.Option("--batch", help="Only this batch (its id or a unique start of it)."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model (by name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Money spent: per model (games, tokens in/out, cost, cost per game and per move)
    and per batch (games, cost).

    Costs are tokens x the model's prices (snakebench models add --price-input/
    --price-output), recorded move by move as games play; the --max-cost estimate of
    dispatch and tournament prices moves the same way. Counted: games that recorded a
    result (completed, void, failed). A batch's "spent" also keeps the cost of games
    played again by retry.
    """
    open_store()
    report = cost_report(batch, model)
    if as_json:
        out.print_json(json.dumps(report))
        return
    _print_models(report["models"])
    _print_batches(report["batches"], per_model=model is not None)
    out.print(f"total: ${report['total_cost']:.4f}")


def _money(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"${value:.{digits}f}"


def _print_models(rows: list[dict[str, Any]]) -> None:
    table = Table("model", "games", "tokens in", "tokens out", "moves", "cost", "per game",
                  "per move", title="per model")  # fmt: skip
    for row in rows:
        table.add_row(
            row["model"], str(row["games"]), f"{row['input_tokens']:,}",
            f"{row['output_tokens']:,}", f"{row['moves']:,}", _money(row["cost"]),
            _money(row["cost_per_game"]), _money(row["cost_per_move"], 6),
        )  # fmt: skip
    out.print(table if rows else "no games with a result yet")


def _print_batches(rows: list[dict[str, Any]], *, per_model: bool) -> None:
    if not rows:
        return
    cost = "model's cost" if per_model else "cost"
    table = Table("batch", "name", "created", "games", cost, "spent", title="per batch")
    for row in rows:
        table.add_row(
            row["batch_id"][:8], row["name"] or "-", row["created_at"][:16], str(row["games"]),
            _money(row["cost"]), _money(row["spent"]),
        )  # fmt: skip
    print_table(out, table)
